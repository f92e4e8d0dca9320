import io
import re
import string
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sdk import core_for, create_request, get_request

from ldstore import Ok, configs
from ldstore._codec import converter
from ldstore.cli import build_parser, main
from ldstore.cli._errors import UsageError
from ldstore.cli._store import set_config_operation, store_config, unset_config_operation
from ldstore.configs import setting
from ldstore.errors import LDStoreError
from ldstore.funcs import create_big_segment_store_integration, get_big_segment_store_integration
from ldstore.models import (
    DYNAMODB_REGIONS,
    MASKED,
    ConfigError,
    DynamoDBConfig,
    IntegrationDeliveryConfigurationPost,
    IntegrationKey,
    PatchOperation,
    RedisConfig,
    config_class,
    config_fields,
    parse_config,
    parse_config_value,
    redact,
    secret_keys,
    store_kinds,
)
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import remove_config, set_config, with_comment
from ldstore.testing import FakeLaunchDarkly
from ldstore.workflows import SECRET_KEYS, DesiredIntegration, load_desired

ROLE = "arn:aws:iam::123456789012:role/launchdarkly"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"host": ""}, ValueError, "host must not be empty"),
        ({"host": "   "}, ValueError, "host must not be empty"),
        ({"host": 5}, TypeError, "host must be a string"),
        ({"host": "h", "port": 0}, ValueError, "between 1 and 65535"),
        ({"host": "h", "port": 65536}, ValueError, "between 1 and 65535"),
        ({"host": "h", "port": "http"}, ValueError, "port takes a number from 1 to 65535"),
        (
            {"host": "h", "port": "\uff16\uff13\uff17\uff19"},
            ValueError,
            "port takes a number",
        ),  # full-width
        ({"host": "h", "port": "9" * 5000}, ValueError, "port takes a number"),
        ({"host": "h", "port": "70000"}, ValueError, "between 1 and 65535"),
        ({"host": "h", "port": True}, TypeError, "port must be an int"),
        ({"host": "h", "port": 6379.0}, TypeError, "port must be an int"),
        ({"host": "h", "tls_enabled": "yes"}, TypeError, "tls_enabled must be a bool"),
        ({"host": "h", "password": 1}, TypeError, "password must be a string"),
    ],
)
def test_redis_config_refuses_invalid_values(
    kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    """RedisConfig validates on construction with ValueError/TypeError, never LDStoreError."""
    with pytest.raises(error, match=words) as raised:
        _ = RedisConfig(**kwargs)

    assert not isinstance(raised.value, LDStoreError)


def test_redis_config_accepts_the_edges() -> None:
    """Ports 1 and 65535 are valid; the password is kept out of repr."""
    low = RedisConfig("h", port=1, password="s3cret")
    high = RedisConfig("h", port=65535)

    assert (low.port, high.port) == (1, 65535)
    assert "s3cret" not in repr(low)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (
            {"table_name": "", "region": "us-east-1", "role_arn": ROLE, "external_id": "x"},
            ValueError,
            "table_name",
        ),
        (
            {"table_name": "t", "region": "mars-1", "role_arn": ROLE, "external_id": "x"},
            ValueError,
            "region 'mars-1'",
        ),
        (
            {"table_name": "t", "region": "us-east-1", "role_arn": "role/x", "external_id": "x"},
            ValueError,
            "arn:",
        ),
        (
            {"table_name": "t", "region": "us-east-1", "role_arn": ROLE, "external_id": ""},
            ValueError,
            "external_id",
        ),
        (
            {"table_name": "t", "region": 1, "role_arn": ROLE, "external_id": "x"},
            TypeError,
            "region",
        ),
    ],
)
def test_dynamodb_config_refuses_invalid_values(
    kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    """DynamoDBConfig checks required strings, the region list and the role ARN's shape."""
    with pytest.raises(error, match=words):
        _ = DynamoDBConfig(**kwargs)


def test_every_documented_region_is_accepted() -> None:
    """The 17 regions of the reference page all construct."""
    configs = [DynamoDBConfig("t", region, ROLE, "x") for region in sorted(DYNAMODB_REGIONS)]

    assert len(configs) == 17


# The store settings, described once.


def test_config_fields_describe_each_setting_from_the_metadata() -> None:
    """Wire names, required, secret and flags come from the models' attrs metadata."""
    redis = {field.wire: field for field in config_fields(RedisConfig)}
    dynamodb = [field.wire for field in config_fields(DynamoDBConfig)]

    assert list(redis) == ["host", "port", "username", "password", "tlsEnabled"]
    assert [wire for wire, field in redis.items() if field.secret] == ["password"]
    assert [wire for wire, field in redis.items() if field.required] == ["host"]
    assert (redis["tlsEnabled"].flag, redis["tlsEnabled"].kind) == ("--tls", bool)
    assert (redis["port"].kind, redis["port"].as_text, redis["port"].default) == (int, True, 6379)
    assert dynamodb == ["tableName", "region", "roleArn", "externalId"]
    assert config_fields(DynamoDBConfig)[1].choices == DYNAMODB_REGIONS
    assert config_class("redis") is RedisConfig
    assert config_class(IntegrationKey.DYNAMODB) is DynamoDBConfig
    assert config_class("Redis") is None  # kinds are case-sensitive
    assert store_kinds() == ("redis", "dynamodb")
    assert secret_keys() == secret_keys("redis") == frozenset({"password"})
    assert secret_keys("dynamodb") == secret_keys("cassandra") == frozenset()


def test_parse_config_takes_wire_keys_and_the_wires_strings() -> None:
    """Port and tlsEnabled as strings (CLI, API) or typed (a file) build the same config."""
    from_strings = parse_config(
        RedisConfig, {"host": "h", "port": "6380", "tlsEnabled": "true", "password": "p"}
    )
    typed = parse_config(
        RedisConfig, {"host": "h", "port": 6380, "tlsEnabled": True, "password": "p"}
    )

    assert from_strings == typed == RedisConfig("h", port=6380, password="p", tls_enabled=True)
    assert parse_config(RedisConfig, {"host": "h", "tlsEnabled": "off"}).tls_enabled is False


@pytest.mark.parametrize(
    ("wire", "key", "words"),
    [
        ({"host": "h", "hots": "x"}, "hots", "hots is not a redis setting (known: host, port,"),
        ({"port": "6379"}, "host", "host is required"),
        ({"host": "h", "port": "http"}, "port", "port must be an int or a string of its digits"),
        ({"host": "h", "port": 0}, "port", "port must be between 1 and 65535, not 0"),
        ({"host": "h", "tlsEnabled": "maybe"}, "tlsEnabled", "tlsEnabled takes true or false"),
        ({"host": "h", "tlsEnabled": 1}, "tlsEnabled", "tlsEnabled must be a bool, not int"),
        ({"host": " "}, "host", "host must not be empty"),
    ],
)
def test_parse_config_names_the_wire_key_at_fault(
    wire: dict[str, object], key: str, words: str
) -> None:
    """Every refusal is a ConfigError (a ValueError) whose key and message use the wire's name."""
    with pytest.raises(ConfigError, match=re.escape(words)) as raised:
        _ = parse_config(RedisConfig, wire)

    assert raised.value.key == key
    assert isinstance(raised.value, ValueError)


def test_parse_config_leaves_a_masked_secret_unset_and_never_echoes_one() -> None:
    """MASKED, as the API shows a password, is unknown: None. A bad secret is not quoted."""
    config = parse_config(RedisConfig, {"host": "h", "password": MASKED})

    assert config.password is None
    with pytest.raises(ConfigError) as raised:
        _ = parse_config(RedisConfig, {"host": "h", "password": 12345})
    assert "12345" not in str(raised.value)


def test_parse_config_value_checks_and_types_one_setting() -> None:
    """One setting by wire, snake or kebab name: the wire key and the value in the wire's type."""
    assert parse_config_value(RedisConfig, "port", "6380") == ("port", "6380")
    assert parse_config_value(RedisConfig, "tls-enabled", "yes") == ("tlsEnabled", True)
    assert parse_config_value(DynamoDBConfig, "table_name", "t") == ("tableName", "t")
    with pytest.raises(ConfigError, match="region 'mars-1' is not one LaunchDarkly supports"):
        _ = parse_config_value(DynamoDBConfig, "region", "mars-1")
    with pytest.raises(ConfigError, match="tls is not a redis setting"):
        _ = parse_config_value(RedisConfig, "tls", "true")
    with pytest.raises(ConfigError, match="how the API masks a stored secret"):
        _ = parse_config_value(RedisConfig, "password", MASKED)


async def test_a_config_read_back_can_be_passed_in_again(fake: FakeLaunchDarkly) -> None:
    """redis_config() of a fetched integration (port a string, password masked) creates again."""
    original = RedisConfig("redis.internal", port=6380, password="hunter2", tls_enabled=True)
    async with core_for(fake) as core:
        created = (
            await create_big_segment_store_integration(core, create_request("A", config=original))
        ).unwrap()
        fetched = (await get_big_segment_store_integration(core, get_request(created.id))).unwrap()
        assert fetched.config is not None
        assert fetched.config["port"] == "6380"
        assert fetched.config["password"] == MASKED
        again = fetched.redis_config()
        copied = (
            await create_big_segment_store_integration(core, create_request("B", config=again))
        ).unwrap()

    assert again == attrs.evolve(original, password=None)  # the mask is no password
    assert fetched.redis_config(password="n3w") == attrs.evolve(original, password="n3w")
    assert RedisConfig("h", port="6380") == RedisConfig("h", port=6380)
    stored = fake.get_integration(copied.id)
    assert stored is not None
    assert stored["config"] == {"host": "redis.internal", "port": "6380", "tlsEnabled": True}


# Secrets: one masking rule, in every repr.

# "#" appears in no repr, so a password found in one was leaked, not a field name.
passwords = st.text(alphabet=string.ascii_letters + string.digits, max_size=20).map(
    lambda text: f"pw#{text}"
)


@given(passwords)
def test_no_repr_shows_a_password(password: str) -> None:
    """Typed and dict configs, create and patch requests, operations: the password never shows."""
    dict_post = IntegrationDeliveryConfigurationPost({"host": "h", "password": password})
    typed_post = IntegrationDeliveryConfigurationPost(RedisConfig("h", password=password))
    operations = [
        set_config("password", password),
        PatchOperation("replace", "/config", {"host": "h", "password": password}),
        PatchOperation("replace", "/config", RedisConfig("h", password=password)),
        PatchOperation("test", "/config/password", password),
    ]
    shown = [
        RedisConfig("h", password=password),
        dict_post,
        typed_post,
        CreateBigSegmentStoreIntegrationRequest("p", "e", "redis", dict_post),
        CreateBigSegmentStoreIntegrationRequest("p", "e", "redis", typed_post),
        PatchBigSegmentStoreIntegrationRequest("p", "e", "redis", "i", operations),
        PatchBigSegmentStoreIntegrationRequest(
            "p", "e", "redis", "i", with_comment(operations, "c")
        ),
        *operations,
    ]

    for value in shown:
        assert password not in repr(value), repr(value)
        assert MASKED in repr(value)


def test_redact_masks_secret_members_at_any_depth_and_nothing_else() -> None:
    """Mappings, lists and tuples are walked; None stays None; other values are untouched."""
    value = {"host": "h", "password": "p", "nested": [{"password": "q"}, ("x", {"password": None})]}

    assert redact(value) == {
        "host": "h",
        "password": MASKED,
        "nested": [{"password": MASKED}, ("x", {"password": None})],
    }
    assert redact("p", secret=True) == MASKED
    assert redact(None, secret=True) is None
    assert redact(RedisConfig("h")) == RedisConfig("h")  # it masks itself in its repr
    assert repr(PatchOperation("add", "/config/host", "h")) == (
        "PatchOperation(op='add', path='/config/host', value='h', from_=None)"
    )


# A new setting is declared once: every layer picks it up.


@attrs.frozen
class RedisWithMore(RedisConfig):
    """A throwaway model: RedisConfig plus a plain setting and a secret one."""

    database: str | None = attrs.field(
        default=None, metadata=setting("database", "Redis database number")
    )
    auth_token: str | None = attrs.field(
        default=None, metadata=setting("authToken", "Redis access token", secret=True)
    )


@pytest.fixture
def more(monkeypatch: pytest.MonkeyPatch) -> type[RedisWithMore]:
    """The throwaway model registered as the Redis config for one test."""
    registry = configs._CONFIG_CLASSES  # pyright: ignore[reportPrivateUsage]  # swapped for this test
    monkeypatch.setitem(registry, "redis", RedisWithMore)
    return RedisWithMore


def test_a_new_setting_reaches_the_codec_and_the_masking(more: type[RedisWithMore]) -> None:
    """The codec sends it under its wire name; its secret is masked in reprs, plans and patches."""
    config = more("h", database="3", auth_token="t0k3n-value")
    desired = DesiredIntegration(
        project_key="p",
        environment_key="e",
        integration_key="redis",
        name="n",
        config={"host": "h", "authToken": "t0k3n-value"},
    )

    assert converter.unstructure(config) == {
        "host": "h",
        "port": "6379",
        "tlsEnabled": False,
        "database": "3",
        "authToken": "t0k3n-value",
    }
    for value in (config, desired, set_config("authToken", "t0k3n-value")):
        assert "t0k3n-value" not in repr(value)
    assert secret_keys("redis") == {"password", "authToken"}
    assert SECRET_KEYS["redis"] == {"password"}  # the constant was taken at import


def test_a_new_setting_reaches_the_apply_file(
    more: type[RedisWithMore], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """load_desired reads it by wire name (from the environment too) into the model."""
    monkeypatch.setenv("LDSTORE_TEST_TOKEN", "t0k3n-value")
    path = tmp_path / "stores.toml"
    _ = path.write_text(
        '[[integration]]\nproject = "p"\nenvironment = "e"\nstore = "redis"\nname = "n"\n'
        '[integration.config]\nhost = "h"\ndatabase = "3"\n'
        'authToken = { env = "LDSTORE_TEST_TOKEN" }\n',
        encoding="utf-8",
    )

    result = load_desired(path)

    assert isinstance(result, Ok)
    assert result.value[0].config == more("h", database="3", auth_token="t0k3n-value")
    assert "t0k3n-value" not in repr(result.value)


def test_a_new_setting_reaches_the_cli_flags_and_set_config(
    more: type[RedisWithMore], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """create grows --database and --auth-token/--auth-token-stdin; --set-config knows it."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("t0k3n-value\n"))
    args = build_parser().parse_args(
        [
            *("create", "--project", "p", "--environment", "e", "--integration", "redis"),
            *("--name", "n", "--host", "h", "--database", "3", "--auth-token-stdin"),
        ]
    )

    assert store_config(args) == more("h", database="3", auth_token="t0k3n-value")
    assert set_config_operation("redis", "database=4") == set_config("database", "4")
    assert main(["create", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--database DATABASE" in shown
    assert "Redis database number" in shown
    assert "--auth-token-stdin" in shown


@pytest.mark.parametrize(
    ("stdin", "extra", "words"),
    [
        (b"\xff\xfe", (), "--password-stdin: standard input is not UTF-8 text"),
        (b"\n", (), "--password-stdin: standard input held no password"),
        (b"pw", ("--table-name", "t"), "--table-name does not apply to --integration redis"),
    ],
)
def test_create_flags_refuse_what_the_model_cannot_take(
    monkeypatch: pytest.MonkeyPatch, stdin: bytes, extra: tuple[str, ...], words: str
) -> None:
    """A secret from stdin that is not UTF-8 or empty, or another kind's flag: UsageError."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    args = build_parser().parse_args(
        [
            *("create", "--project", "p", "--environment", "e", "--integration", "redis"),
            *("--host", "h", "--password-stdin", *extra),
        ]
    )

    with pytest.raises(UsageError, match=re.escape(words)):
        _ = store_config(args)


def test_a_secret_flag_of_another_kind_is_named() -> None:
    """--password-stdin with --integration dynamodb is refused by its own name."""
    args = build_parser().parse_args(
        [
            *("create", "--project", "p", "--environment", "e", "--integration", "dynamodb"),
            "--password-stdin",
        ]
    )

    with pytest.raises(
        UsageError, match="--password-stdin does not apply to --integration dynamodb"
    ):
        _ = store_config(args)


def test_unset_config_takes_any_name_of_a_setting_and_other_keys_as_given() -> None:
    """--unset-config table-name removes tableName; a key no model knows is removed as typed."""
    assert unset_config_operation("dynamodb", "table-name") == remove_config("tableName")
    assert unset_config_operation("redis", "tls_enabled") == remove_config("tlsEnabled")
    assert unset_config_operation("redis", "someNewKey") == remove_config("someNewKey")
