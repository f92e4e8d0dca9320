"""The stores file: the issue's shape, one-line refusals naming file and line, no password echoed."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldstore.errors import InputValidationError
from ldstore.result import Err, Ok
from ldstore.text import secret_forms
from ldstore.watch import DynamoDBStore, RedisStore, StoresFile, load_stores

ISSUE_EXAMPLE = """\
[[store]]
project = "default"
environment = "production"
kind = "redis"                      # or "dynamodb"
name = "Production Redis"           # or: id = "<integration id>"
url = "redis://watcher@redis.internal:6379/0"
password_env = "REDIS_PASSWORD"     # secrets only by environment variable name
prefix = "..."                      # optional; default: the environment's client-side ID

[[store]]
project = "default"
environment = "production"
kind = "dynamodb"
id = "<integration id>"
table = "ld-big-segments"
region = "us-east-1"
endpoint_url = "http://127.0.0.1:8000"   # optional
"""

REDIS = """\
[[store]]
project = "default"
environment = "production"
kind = "redis"
name = "Production Redis"
url = "redis://watcher@127.0.0.1:6379/0"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stores.toml"
    _ = path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> InputValidationError:
    result = load_stores(write(tmp_path, text))
    assert isinstance(result, Err), result
    assert "\n" not in result.error.message
    return result.error


def test_the_issues_example_loads_exactly(tmp_path: Path) -> None:
    """Both tables of the issue's example load, with every key and the line each starts on."""
    path = write(tmp_path, ISSUE_EXAMPLE)

    result = load_stores(path)

    assert isinstance(result, Ok)
    redis, dynamodb = result.value.stores
    assert redis == RedisStore(
        project="default",
        environment="production",
        name="Production Redis",
        url="redis://watcher@redis.internal:6379/0",
        password_env="REDIS_PASSWORD",
        prefix="...",
        line=1,
    )
    assert dynamodb == DynamoDBStore(
        project="default",
        environment="production",
        id="<integration id>",
        table="ld-big-segments",
        region="us-east-1",
        endpoint_url="http://127.0.0.1:8000",
        line=10,
    )
    assert result.value.path == str(path)


def test_an_inline_password_key_is_refused_naming_its_line(tmp_path: Path) -> None:
    """A `password` key: file and line of the key, the problem, and never the value."""
    text = REDIS + 'password = "hunter2-secret"\n'

    error = refusal(tmp_path, text)

    assert error.message.startswith(
        f"{tmp_path / 'stores.toml'}:7: store[0]: an inline password is refused"
    )
    assert "password_env" in error.message
    assert "hunter2" not in error.message
    assert error.field == "store[0].password"


@pytest.mark.parametrize(
    "url",
    [
        "redis://watcher:hunter2-secret@127.0.0.1:6379/0",
        "redis://:hunter2-secret@127.0.0.1:6379/0",
        "rediss://127.0.0.1:6379/0?password=hunter2-secret",
        "unix:///run/redis.sock?db=0&password=hunter2-secret",
    ],
)
def test_a_password_inside_the_url_is_refused_without_echo(tmp_path: Path, url: str) -> None:
    """user:password@, :password@ and ?password= in url: refused at url's line, value unseen."""
    text = REDIS.replace("redis://watcher@127.0.0.1:6379/0", url)

    error = refusal(tmp_path, text)

    assert error.message.startswith(f"{tmp_path / 'stores.toml'}:6: store[0]: url holds a password")
    assert "hunter2" not in error.message
    assert error.field == "store[0].url"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            REDIS.replace('kind = "redis"', 'kind = "memcached"'),
            4,
            'kind must be "redis" or "dynamodb", not \'memcached\'',
        ),
        (REDIS + 'colour = "blue"\n', 7, "unknown key 'colour' for a redis store"),
        (REDIS.replace('url = "redis://watcher@127.0.0.1:6379/0"\n', ""), 1, "url is required"),
        (REDIS + 'id = "abc"\n', 1, "give exactly one of name and id"),
        (
            REDIS.replace('project = "default"', "project = 7"),
            2,
            "project must be a non-empty string",
        ),
        (
            REDIS.replace('project = "default"', 'project = "  "'),
            2,
            "project must be a non-empty string",
        ),
        (REDIS.replace("redis://watcher@", "http://watcher@"), 6, "url must start with redis://"),
        (
            REDIS + 'password_env = "NOT A NAME"\n',
            7,
            "password_env must be an environment variable's name",
        ),
        (REDIS + "\n" + REDIS, 8, "store[1] names the same integration as store[0]"),
        (REDIS + "[other]\nx = 1\n", 1, "unknown table or key 'other'"),
        ('project = "default"\n', 1, "unknown table or key 'project'"),
        ("", 1, "expected one or more [[store]] tables"),
        (REDIS + 'name = "again"\n', 7, "not valid TOML: Cannot overwrite a value"),
        (REDIS.replace('project = "default"', "project = "), 2, "not valid TOML: Invalid value"),
        (
            REDIS.replace('kind = "redis"', 'kind = "dynamodb"').replace(
                'url = "redis://watcher@127.0.0.1:6379/0"', 'table = "t"\nendpoint_url = "ftp://x"'
            ),
            7,
            "endpoint_url must be an http(s) URL with a host",
        ),
    ],
)
def test_each_problem_is_one_line_with_file_line_and_problem(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    """Every refusal reads FILE:LINE: problem, on one line."""
    error = refusal(tmp_path, text)

    assert error.message.startswith(f"{tmp_path / 'stores.toml'}:{line}: ")
    assert problem in error.message


def test_a_missing_or_binary_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    """No file, or not UTF-8: one line naming the file."""
    missing = load_stores(tmp_path / "nope.toml")
    binary = tmp_path / "binary.toml"
    _ = binary.write_bytes(b"\xff\xfe\x00")
    unreadable = load_stores(binary)

    assert isinstance(missing, Err)
    assert missing.error.message.startswith(f"{tmp_path / 'nope.toml'}: cannot read it")
    assert isinstance(unreadable, Err)
    assert unreadable.error.message == f"{binary}: not UTF-8 text"


def test_a_huge_file_is_refused_after_reading_one_mebibyte(tmp_path: Path) -> None:
    """Bound: a 5 MiB file is refused having read at most 1 MiB + 1 byte."""
    path = tmp_path / "big.toml"
    _ = path.write_text("#" * (5 << 20), encoding="utf-8")

    result = load_stores(path)

    assert isinstance(result, Err)
    assert "larger than 1048576 bytes" in result.error.message


def test_unset_password_variables_are_named_with_their_line(tmp_path: Path) -> None:
    """check_environment: the first password_env that is unset, by file and line."""
    loaded = load_stores(write(tmp_path, REDIS + 'password_env = "WATCH_TEST_UNSET"\n')).unwrap()

    unset = loaded.check_environment({})
    set_ = loaded.check_environment({"WATCH_TEST_UNSET": "x"})

    assert isinstance(unset, Err)
    assert unset.error.message == (
        f"{tmp_path / 'stores.toml'}:1: store[0]: the environment variable WATCH_TEST_UNSET "
        "(its password_env) is not set"
    )
    assert isinstance(set_, Ok)


def test_the_password_joins_the_url_only_to_connect() -> None:
    """connection_url percent-encodes the variable's value into the URL; url stays bare."""
    store = RedisStore(
        project="p", environment="e", name="n", url="redis://watcher@h:1/0", password_env="PW"
    )

    assert store.connection_url({"PW": "p@ss:/word"}) == "redis://watcher:p%40ss%3A%2Fword@h:1/0"
    assert store.connection_url({}) == "redis://watcher@h:1/0"
    anonymous = attrs.evolve(store, url="rediss://h:1/0")
    assert anonymous.connection_url({"PW": "pw"}) == "rediss://:pw@h:1/0"
    socket = attrs.evolve(store, url="unix:///run/redis.sock?db=2")
    assert socket.connection_url({"PW": "p w"}) == "unix:///run/redis.sock?db=2&password=p%20w"
    assert "p@ss" not in repr(store)


def _toml_string(value: str) -> str:
    """A TOML basic string: quote and backslash escaped, C0 controls and DEL as \\uXXXX."""
    escaped = "".join(
        f"\\{char}"
        if char in '"\\'
        else f"\\u{ord(char):04x}"
        if ord(char) < 0x20 or char == "\x7f"
        else char
        for char in value
    )
    return f'"{escaped}"'


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    second=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
)
def test_the_refusal_never_depends_on_the_password(tmp_path: Path, first: str, second: str) -> None:
    """Whatever the inline password, the refusal is the same line: no form of it can leak."""
    messages: list[str] = []
    for secret in (first, second):
        error = refusal(tmp_path, f"{REDIS}password = {_toml_string(secret)}\n")
        messages.append(error.message)

    # The words of the refusal itself (a password "password" is in it) are no leak: what
    # the line says for an unrelated password is its fixed part.
    fixed = refusal(tmp_path, f"{REDIS}password = {_toml_string('q')}\n").message
    assert messages[0] == messages[1] == fixed
    long_forms = [form for form in secret_forms(first) if len(form) >= 6]
    assert not any(form in messages[0] for form in long_forms if form not in REDIS + fixed)


def test_store_for_names_an_integration_by_id_or_name(tmp_path: Path) -> None:
    """An entry matches by project, environment, kind and its id (or name)."""
    text = ISSUE_EXAMPLE
    stores: StoresFile = load_stores(write(tmp_path, text)).unwrap()

    assert [store.kind for store in stores.stores] == ["redis", "dynamodb"]
    assert stores.stores[0].label == "default/production/redis/'Production Redis'"
    assert stores.stores[1].label == "default/production/dynamodb/<integration id>"
