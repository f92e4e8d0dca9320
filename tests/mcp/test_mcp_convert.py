"""Turning tool arguments into ldstore values: properties over arbitrary input."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ldstore.mcp._convert import patch_operations, redact, typed_config
from ldstore.mcp._shapes import PatchOperationArg
from ldstore.models import DynamoDBConfig, RedisConfig
from ldstore.result import Err, Ok
from ldstore.wire import to_wire

_KEYS = ["host", "port", "username", "password", "tlsEnabled", "tableName", "region", "roleArn"]
_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.booleans(),
    st.sampled_from(["6380", "us-east-1", "arn:aws:iam::1:role/x", "redis.internal"]),
)
_CONFIGS = st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), _VALUES, max_size=6)


@given(st.sampled_from(["redis", "dynamodb"]), _CONFIGS)
def test_any_config_is_a_typed_config_or_an_error_naming_a_key(
    store: str, config: dict[str, Any]
) -> None:
    """Never an exception: Ok with the same keys on the wire, or Err naming ``config.<key>``."""
    result = typed_config(store, config, "config")

    match result:
        case Ok(typed):
            assert isinstance(typed, RedisConfig if store == "redis" else DynamoDBConfig)
            wire = to_wire(typed)
            assert set(config) <= set(wire)
            if "port" in wire:
                assert wire["port"] == str(int(config.get("port", 6379)))
        case Err(error):
            assert error.field is not None
            assert error.field.startswith("config.")
            assert error.message.startswith(error.field)


@given(
    st.lists(
        st.fixed_dictionaries(
            {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test"])},
            optional={
                "path": st.sampled_from(["/name", "/config/port", "name", ""]),
                "value": _VALUES | st.none(),
                "from": st.sampled_from(["/name", "/tags/0"]),
            },
        ).map(lambda fields: {"path": "/on", **fields}),
        min_size=1,
        max_size=4,
    )
)
def test_any_patch_is_operations_or_an_error_naming_one(operations: list[dict[str, Any]]) -> None:
    """Never an exception: every operation built, or Err naming ``patch[i]`` (or its value)."""
    arguments = [PatchOperationArg.model_validate(operation) for operation in operations]

    result = patch_operations(arguments, "redis")

    match result:
        case Ok(built):
            assert [operation.op for operation in built] == [o["op"] for o in operations]
        case Err(error):
            assert error.field is not None
            index = int(error.field.split("[")[1].split("]")[0])
            assert 0 <= index < len(operations)


_JSON = st.recursive(
    _VALUES | st.none(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(_JSON)
def test_redaction_leaves_no_secret_anywhere(value: object) -> None:
    """However deep, a secret in a JSON value is replaced and the rest kept."""
    secret = "api-0123456789abcdef"
    salted = {"wrapped": value, "token": f"Bearer {secret}!", "list": [secret, 1]}

    redacted = redact(salted, [secret])

    assert secret not in repr(redacted)
    assert redacted["token"] == "Bearer [REDACTED]!"
    assert redacted["list"] == ["[REDACTED]", 1]
    assert redacted["wrapped"] == redact(value, [secret])
    if secret not in repr(value):
        assert redact(value, [secret]) == value  # nothing else changes
