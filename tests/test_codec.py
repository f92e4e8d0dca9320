import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldstore._codec import converter, decode, encode, wire_name
from ldstore.models import (
    BigSegmentStoreIntegration,
    BigSegmentStoreIntegrationCollection,
    BigSegmentStoreStatus,
    DynamoDBConfig,
    IntegrationDeliveryConfigurationPost,
    IntegrationKey,
    RedisConfig,
)
from ldstore.patch import ABSENT, PatchOperation, PatchWithComment

millis = st.integers(min_value=0, max_value=2**42)
text = st.text(max_size=12)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
link: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {}, optional={"href": text, "type": text}
)
status: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "available": st.booleans(),
        "potentiallyStale": st.booleans(),
        "lastSync": millis,
        "lastError": millis,
        "errors": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "statusCode": st.integers(100, 599),
                    "message": text,
                    "timestamp": millis,
                },
            ),
            max_size=2,
        ),
    },
)
reason: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {"effect": st.sampled_from(["allow", "deny"])},
    optional={
        "resources": st.lists(text, max_size=2),
        "notResources": st.lists(text, max_size=2),
        "actions": st.lists(text, max_size=2),
        "notActions": st.lists(text, max_size=2),
        "role_name": text,
    },
)
access: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "denied": st.lists(st.fixed_dictionaries({"action": text, "reason": reason}), max_size=2),
        "allowed": st.lists(st.fixed_dictionaries({"action": text, "reason": reason}), max_size=2),
    }
)
integration: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "_links": st.fixed_dictionaries(
            {"self": link, "parent": link, "project": link, "environment": link}
        ),
        "_id": text,
        "integrationKey": st.sampled_from(["redis", "dynamodb"]),
        "projectKey": text,
        "environmentKey": text,
        "on": st.booleans(),
        "tags": st.lists(text, max_size=3),
        "name": text,
        "version": st.integers(1, 10**6),
        "_status": status,
    },
    optional={"config": st.dictionaries(text, json_values, max_size=4), "_access": access},
)


@given(integration)
def test_integrations_survive_the_round_trip(wire: dict[str, Any]) -> None:
    """Any valid wire integration decodes and encodes back to the same JSON."""
    decoded = converter.structure(wire, BigSegmentStoreIntegration)

    assert converter.unstructure(decoded) == wire


@given(integration, st.dictionaries(st.text(min_size=1).map(lambda k: f"x-{k}"), json_values))
def test_unknown_fields_are_ignored(wire: dict[str, Any], extra: dict[str, Any]) -> None:
    """Fields the server adds later do not change what decodes."""
    widened = {**wire, **extra, "_status": {**wire["_status"], **extra}}

    assert converter.structure(widened, BigSegmentStoreIntegration) == converter.structure(
        wire, BigSegmentStoreIntegration
    )


@given(millis)
def test_timestamps_survive_the_wire(ms: int) -> None:
    """Integer milliseconds decode to UTC datetimes and encode back unchanged."""
    wire = {"lastSync": ms}

    status = converter.structure(wire, BigSegmentStoreStatus)

    assert status.last_sync is not None
    assert status.last_sync.tzinfo is timezone.utc
    assert converter.unstructure(status) == wire


def test_a_known_timestamp_decodes_to_its_date() -> None:
    """1717263000000 ms is 2024-06-01 17:30 UTC."""
    status = converter.structure({"lastSync": 1717263000000}, BigSegmentStoreStatus)

    assert status.last_sync == datetime(2024, 6, 1, 17, 30, tzinfo=timezone.utc)


def _summary(integration_key: str) -> dict[str, Any]:
    """A list item as the API sends it: every required field, no config."""
    return {
        "_links": {"self": {}, "parent": {}, "project": {}, "environment": {}},
        "_id": "1",
        "integrationKey": integration_key,
        "projectKey": "p",
        "environmentKey": "e",
        "on": False,
        "tags": [],
        "name": "n",
        "version": 1,
        "_status": {},
    }


def test_list_items_without_config_decode_with_config_none() -> None:
    """The list call's summaries lack `config`; they decode with config=None."""
    item = _summary("redis")
    body = json.dumps({"_links": {"self": {"href": "/x"}}, "items": [item]}).encode()

    collection = decode(body, BigSegmentStoreIntegrationCollection)

    assert collection.items[0].config is None
    assert collection.items[0].integration_key is IntegrationKey.REDIS


def test_a_store_kind_added_later_decodes_as_a_string() -> None:
    """An unknown integrationKey is kept as a plain string instead of failing the list."""
    wire = _summary("cassandra")

    decoded = converter.structure(wire, BigSegmentStoreIntegration)

    assert decoded.integration_key == "cassandra"
    assert not isinstance(decoded.integration_key, IntegrationKey)


def test_wire_names_follow_the_api() -> None:
    """camelCase, a leading `_` for metadata, no trailing `_`, and role_name as is."""
    assert wire_name("project_key") == "projectKey"
    assert wire_name("id") == "_id"
    assert wire_name("links") == "_links"
    assert wire_name("self_") == "self"
    assert wire_name("from_") == "from"
    assert wire_name("role_name") == "role_name"
    assert wire_name("tls_enabled") == "tlsEnabled"


def test_redis_config_encodes_the_manifest_keys_and_types() -> None:
    """Redis port travels as a string, tlsEnabled always, unset optionals not at all."""
    assert converter.unstructure(RedisConfig("redis.internal")) == {
        "host": "redis.internal",
        "port": "6379",
        "tlsEnabled": False,
    }
    assert converter.unstructure(
        RedisConfig("h", port=6380, username="u", password="p", tls_enabled=True)
    ) == {"host": "h", "port": "6380", "username": "u", "password": "p", "tlsEnabled": True}


def test_dynamodb_config_encodes_the_manifest_keys() -> None:
    """DynamoDB's four keys, camelCase, all strings."""
    config = DynamoDBConfig("segments", "eu-west-1", "arn:aws:iam::123456789012:role/ld", "ext-123")

    assert converter.unstructure(config) == {
        "tableName": "segments",
        "region": "eu-west-1",
        "roleArn": "arn:aws:iam::123456789012:role/ld",
        "externalId": "ext-123",
    }


def test_create_body_leaves_unset_fields_off() -> None:
    """Unset name, on and tags stay off the wire so the server's defaults apply."""
    minimal = IntegrationDeliveryConfigurationPost({"host": "h"})
    full = IntegrationDeliveryConfigurationPost(
        RedisConfig("h"), on=True, tags=["a", "b"], name="Store"
    )

    assert json.loads(encode(minimal)) == {"config": {"host": "h"}}
    assert json.loads(encode(full)) == {
        "config": {"host": "h", "port": "6379", "tlsEnabled": False},
        "on": True,
        "tags": ["a", "b"],
        "name": "Store",
    }


def test_patch_value_absent_is_not_null() -> None:
    """`remove` sends no value; `replace` with None sends null; move/copy send `from`."""
    operations = [
        PatchOperation("remove", "/tags/0"),
        PatchOperation("replace", "/name", None),
        PatchOperation("copy", "/tags/1", from_="/tags/0"),
    ]

    assert json.loads(encode(operations)) == [
        {"op": "remove", "path": "/tags/0"},
        {"op": "replace", "path": "/name", "value": None},
        {"op": "copy", "path": "/tags/1", "from": "/tags/0"},
    ]
    assert operations[0].value is ABSENT


def test_patch_with_comment_is_the_envelope() -> None:
    """A PatchWithComment encodes as {"comment", "patch"}; a typed config value encodes too."""
    body = PatchWithComment(
        [PatchOperation("replace", "/config", RedisConfig("h2", port=1))], "move host"
    )

    assert json.loads(encode(body)) == {
        "comment": "move host",
        "patch": [
            {
                "op": "replace",
                "path": "/config",
                "value": {"host": "h2", "port": "1", "tlsEnabled": False},
            }
        ],
    }


def test_typed_configs_of_the_wrong_kind_or_a_summary_are_refused() -> None:
    """dynamodb_config() of a Redis integration, or of a list item without config: ValueError.

    (And an integration built with a password in its config does not show it in repr.)
    """
    wire = _summary("redis")
    summary = converter.structure(wire, BigSegmentStoreIntegration)
    full = converter.structure(
        {**wire, "config": {"host": "h", "later": 1}}, BigSegmentStoreIntegration
    )

    assert "pw-123" not in repr(
        converter.structure({**wire, "config": {"password": "pw-123"}}, BigSegmentStoreIntegration)
    )
    with pytest.raises(ValueError, match="is a redis store, not dynamodb"):
        _ = full.dynamodb_config()
    with pytest.raises(ValueError, match="has no config"):
        _ = summary.redis_config()
    assert full.redis_config() == RedisConfig("h")  # a key added later is left out


def test_lists_and_numbers_of_any_model_are_strict() -> None:
    """Beyond today's models' types: a list or Sequence field takes a JSON array only (not a
    string's characters nor an object's keys), a float field a JSON number (an integer
    too), never a boolean or a string."""
    from collections.abc import Sequence  # noqa: PLC0415 (this test's own types)

    for type_ in (list[str], Sequence[str]):
        hook = converter.get_structure_hook(type_)
        assert list(hook(["a", "b"], type_)) == ["a", "b"]
        for wrong in ("abc", {"a": 1}, 1, None):
            with pytest.raises(TypeError, match="expected an array"):
                _ = hook(wrong, type_)
    number = converter.get_structure_hook(float)
    assert number(2, float) == 2.0
    assert number(2.5, float) == 2.5
    for not_a_number in (True, "1.5", None, [1.0]):
        with pytest.raises(TypeError, match="expected a number"):
            _ = number(not_a_number, float)
