"""load_desired and DesiredIntegration: the file format, and errors that name the item."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from ldstore import Err, Ok
from ldstore.errors import InputValidationError
from ldstore.models import DynamoDBConfig, IntegrationKey, RedisConfig
from ldstore.testing import MASKED_SECRET
from ldstore.workflows import MASKED, DesiredIntegration, load_desired

STORES_TOML = """
[[integration]]
project = "default"
environment = "production"
store = "redis"
name = "Cache A"
on = true
tags = ["team:platform", "tier:1"]
rotate_secrets = true

[integration.config]
host = "redis.internal"
port = 6380
tlsEnabled = true
password = { env = "LDSTORE_TEST_REDIS_PASSWORD" }

[[integration]]
project = "default"
environment = "test"
store = "dynamodb"
name = "Segments"

[integration.config]
tableName = "segments"
region = "eu-west-1"
roleArn = "arn:aws:iam::123456789012:role/ld"
externalId = "ext-1"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    _ = path.write_text(text, encoding="utf-8")
    return path


def test_toml_file_loads_typed_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[[integration]] tables become DesiredIntegrations with typed configs; env refs resolve."""
    monkeypatch.setenv("LDSTORE_TEST_REDIS_PASSWORD", "hunter2")

    result = load_desired(write(tmp_path, "stores.toml", STORES_TOML))

    assert isinstance(result, Ok)
    cache, segments = result.value
    assert cache.integration_key is IntegrationKey.REDIS
    assert cache.identity == ("default", "production", "redis", "Cache A")
    assert cache.config == RedisConfig(
        "redis.internal", port=6380, password="hunter2", tls_enabled=True
    )
    assert (cache.on, cache.tags, cache.rotate_secrets) == (True, ("team:platform", "tier:1"), True)
    assert segments.config == DynamoDBConfig(
        "segments", "eu-west-1", "arn:aws:iam::123456789012:role/ld", "ext-1"
    )
    assert (segments.on, segments.tags, segments.rotate_secrets) == (False, (), False)


def test_json_file_has_the_same_shape_or_is_a_list(tmp_path: Path) -> None:
    """JSON takes {"integration": [...]} or the bare list; a string port is accepted."""
    item = {
        "project": "default",
        "environment": "production",
        "store": "redis",
        "name": "Cache A",
        "config": {"host": "redis.internal", "port": "6380"},
    }

    wrapped = load_desired(write(tmp_path, "a.json", json.dumps({"integration": [item]})))
    bare = load_desired(write(tmp_path, "b.json", json.dumps([item])))

    for result in (wrapped, bare):
        assert isinstance(result, Ok)
        assert result.value[0].config == RedisConfig("redis.internal", port=6380)


@pytest.mark.parametrize("store", ["memcached", "Redis", "REDIS", " redis"])
def test_an_unknown_store_kind_is_refused_at_load_time(tmp_path: Path, store: str) -> None:
    """Only known kinds, case-sensitive: the Err names the item and its store field."""
    item: dict[str, object] = {
        "project": "p",
        "environment": "e",
        "store": store,
        "name": "M",
        "config": {},
    }

    result = load_desired(write(tmp_path, "x.json", json.dumps([item])))

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert result.error.field == "integration[0].store"
    assert "integration[0] (M)" in str(result.error)
    assert f"store {store!r} is not a kind ldstore knows (known: redis, dynamodb)" in str(
        result.error
    )


REDIS_ITEM = 'project = "default"\nenvironment = "production"\nstore = "redis"\n'


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (
            (
                f'[[integration]]\n{REDIS_ITEM}name = "A"\n[integration.config]\nhost = "h"\n'
                f'[[integration]]\n{REDIS_ITEM}name = "B"\n[integration.config]\nhost = "h"\nport = "http"\n'
            ),
            "integration[1].config.port",
            ["integration[1] (B)", "config.port must be an int or a string of its digits"],
        ),
        (
            f'[[integration]]\n{REDIS_ITEM}name = "A"\n[integration.config]\nhots = "h"\n',
            "integration[0].config.hots",
            ["integration[0] (A)", "config.hots is not a redis setting", "known: host"],
        ),
        (
            f'[[integration]]\n{REDIS_ITEM}name = "A"\n[integration.config]\nport = 1\n',
            "integration[0].config.host",
            ["integration[0] (A)", "config.host is required"],
        ),
        (
            f"[[integration]]\n{REDIS_ITEM}[integration.config]\nhost = 'h'\n",
            "integration[0].name",
            ["integration[0]: name is required"],
        ),
        (
            f'[[integration]]\n{REDIS_ITEM}name = "A"\non = "yes"\n[integration.config]\nhost = "h"\n',
            "integration[0].on",
            ["integration[0] (A)", "on must be true or false, not str"],
        ),
        (
            f'[[integration]]\n{REDIS_ITEM}name = "A"\nenabled = true\n[integration.config]\nhost = "h"\n',
            "integration[0].enabled",
            ["integration[0] (A)", "unknown field 'enabled'"],
        ),
        (
            (
                '[[integration]]\nproject = "p"\nenvironment = "e"\nstore = "dynamodb"\nname = "D"\n'
                '[integration.config]\ntableName = "t"\nregion = "mars-1"\nroleArn = "arn:x"\nexternalId = "x"\n'
            ),
            "integration[0].config.region",
            ["integration[0] (D)", "config.region 'mars-1' is not one"],
        ),
        (
            (
                f'[[integration]]\n{REDIS_ITEM}name = "A"\n[integration.config]\nhost = "h"\n'
                f'[[integration]]\n{REDIS_ITEM}name = "A"\n[integration.config]\nhost = "g"\n'
            ),
            "integration[1].name",
            ["integration[1] (A) repeats integration[0]"],
        ),
        (
            (
                f'[[integration]]\n{REDIS_ITEM}name = "A"\n[integration.config]\nhost = "h"\n'
                'password = { env = "LDSTORE_TEST_UNSET_VARIABLE" }\n'
            ),
            "integration[0].config.password",
            ["config.password: environment variable LDSTORE_TEST_UNSET_VARIABLE is not set"],
        ),
        ("[[integration]\n", "path", ["is not valid TOML"]),
        ('integration = "none"\n', "integration", ["expected [[integration]] tables"]),
    ],
)
def test_a_bad_file_is_an_err_naming_the_item_and_field(
    tmp_path: Path, text: str, field: str, words: list[str]
) -> None:
    """Each mistake is Err(InputValidationError) whose message and field point at it."""
    path = write(tmp_path, "stores.toml", text)

    result = load_desired(path)

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert result.error.field == field
    assert str(path) in str(result.error)
    for word in words:
        assert word in str(result.error)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000 + "\n"),
        ("deep2.toml", "a = " + "{b = " * 100_000 + "1" + "}" * 100_000 + "\n"),
    ],
)
def test_a_file_nested_100k_deep_is_an_err_not_a_recursion_error(
    tmp_path: Path, name: str, text: str
) -> None:
    """100,000 levels of JSON or TOML nesting: Err(InputValidationError) on `path`, no raise."""
    result = load_desired(write(tmp_path, name, text))

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert result.error.field == "path"


def test_a_missing_file_or_unknown_suffix_is_an_err(tmp_path: Path) -> None:
    """A file that cannot be read, or is neither .toml nor .json, is an Err naming it."""
    missing = load_desired(tmp_path / "absent.toml")
    yaml = load_desired(write(tmp_path, "stores.yaml", "integration: []"))

    assert isinstance(missing, Err)
    assert "cannot read" in str(missing.error)
    assert isinstance(yaml, Err)
    assert "use a .toml or .json file" in str(yaml.error)


def test_desired_integration_validates_on_construction() -> None:
    """Empty keys and a config of the wrong store kind raise ValueError, like the models."""
    with pytest.raises(ValueError, match="name must not be empty"):
        _ = DesiredIntegration(
            project_key="p", environment_key="e", integration_key="redis", name=" ", config={}
        )
    with pytest.raises(ValueError, match="RedisConfig needs integration_key 'redis'"):
        _ = DesiredIntegration(
            project_key="p",
            environment_key="e",
            integration_key=IntegrationKey.DYNAMODB,
            name="n",
            config=RedisConfig("h"),
        )


def test_repr_never_shows_a_secret() -> None:
    """A password in a typed or a plain mapping config stays out of repr."""
    typed = DesiredIntegration(
        project_key="p",
        environment_key="e",
        integration_key="redis",
        name="n",
        config=RedisConfig("h", password="hunter2"),
    )
    plain = attrs.evolve(typed, config={"host": "h", "password": "hunter2"})

    assert "hunter2" not in repr(typed)
    assert "hunter2" not in repr(plain)
    assert "'password': '********'" in repr(plain)


def test_the_mask_is_the_one_the_fake_shows() -> None:
    """MASKED is what the API (and the fake) shows instead of a stored secret."""
    assert MASKED == MASKED_SECRET
