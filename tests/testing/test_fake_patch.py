"""PATCH: JSON Patch on the editable fields, the comment envelope and optimistic locking."""

from __future__ import annotations

from typing import Any

import pytest

from ldstore.testing import MASKED_SECRET, FakeLaunchDarkly

from .fakeclient import REDIS_CONFIG, FakeClient, item_path


@pytest.fixture
async def item(client: FakeClient) -> dict[str, Any]:
    """A Redis integration named `cache`, off, with a password."""
    return await client.created()


async def test_patch_changes_fields_and_bumps_version(
    client: FakeClient, item: dict[str, Any]
) -> None:
    """A valid patch answers 200 with the new representation and version + 1."""
    patch = [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/tags/-", "value": "blue"},
        {"op": "replace", "path": "/config/host", "value": "other.internal"},
    ]

    answer = await client.patch(item, patch)

    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    patched = answer.json()
    assert (patched["name"], patched["tags"], patched["version"]) == ("renamed", ["blue"], 2)
    assert patched["config"]["host"] == "other.internal"
    assert patched["config"]["password"] == MASKED_SECRET
    assert (await client.send("GET", item_path(patched))).json() == patched


async def test_envelope_with_comment_is_accepted(client: FakeClient, item: dict[str, Any]) -> None:
    """{"comment": ..., "patch": [...]} applies the patch inside."""
    body = {"comment": "switch it on", "patch": [{"op": "replace", "path": "/on", "value": True}]}

    answer = await client.patch(item, body)

    assert answer.status == 200
    assert answer.json()["on"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"patch": [], "comment": 5},
        {"comment": "no patch"},
        {"patch": [], "merge": {}},
        {"patch": {"op": "replace"}},
        {"instructions": [{"kind": "turnOn"}]},
        "replace",
    ],
)
async def test_malformed_envelope_is_invalid(
    client: FakeClient, item: dict[str, Any], body: object
) -> None:
    """Anything but a patch array or the {comment, patch} envelope is 400."""
    answer = await client.patch(item, body)

    assert answer.status == 400
    assert answer.json()["code"] == "invalid_request"


async def test_password_survives_a_patch_that_does_not_mention_it(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any]
) -> None:
    """The stored real password stays when other config fields change."""
    _ = await client.patch(item, [{"op": "replace", "path": "/config/port", "value": "6380"}])

    stored = fake.get_integration(item["_id"])

    assert stored is not None
    assert stored["config"] == {**REDIS_CONFIG, "port": "6380"}


async def test_masked_value_is_just_a_string(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any]
) -> None:
    """Replacing the password with the mask stores the mask: no special case."""
    patch = [{"op": "replace", "path": "/config/password", "value": MASKED_SECRET}]

    answer = await client.patch(item, patch)

    stored = fake.get_integration(item["_id"])
    assert answer.status == 200
    assert stored is not None
    assert stored["config"]["password"] == MASKED_SECRET


async def test_test_operation_passes_on_current_version(
    client: FakeClient, item: dict[str, Any]
) -> None:
    """A leading test of /version makes the update conditional; it passes when current."""
    patch = [
        {"op": "test", "path": "/version", "value": 1},
        {"op": "replace", "path": "/name", "value": "v2"},
    ]

    answer = await client.patch(item, patch)

    assert answer.status == 200
    assert answer.json()["version"] == 2


async def test_failed_test_operation_is_a_conflict(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any]
) -> None:
    """A test op that fails answers 409 optimistic_locking_error and changes nothing."""
    patch = [
        {"op": "test", "path": "/version", "value": 3},
        {"op": "replace", "path": "/name", "value": "lost update"},
    ]

    answer = await client.patch(item, patch)

    assert answer.status == 409
    assert answer.json()["code"] == "optimistic_locking_error"
    assert fake.get_integration(item["_id"]) == {**item, "config": dict(REDIS_CONFIG)}


@pytest.mark.parametrize("pointer", ["/_id", "/_status/available", "/projectKey", "/_links"])
async def test_test_operation_may_read_any_field(
    client: FakeClient, item: dict[str, Any], pointer: str
) -> None:
    """A test op may read read-only fields too."""
    value: Any = item
    for part in pointer.strip("/").split("/"):
        value = value[part]

    answer = await client.patch(item, [{"op": "test", "path": pointer, "value": value}])

    assert answer.status == 200


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "/_id", "value": "x"},
        {"op": "add", "path": "/_links/site", "value": {}},
        {"op": "remove", "path": "/_status"},
        {"op": "copy", "from": "/_id", "path": "/name"},
        {"op": "move", "from": "/_access", "path": "/tags"},
    ],
)
async def test_underscore_fields_are_read_only(
    client: FakeClient, item: dict[str, Any], operation: dict[str, Any]
) -> None:
    """Any op writing a path, or taking a from, that starts with /_ is 400."""
    answer = await client.patch(item, [operation])

    assert answer.status == 400
    assert "read-only" in answer.json()["message"]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "/version", "value": 9},
        {"op": "replace", "path": "/projectKey", "value": "other"},
        {"op": "replace", "path": "/integrationKey", "value": "dynamodb"},
        {"op": "add", "path": "/description", "value": "new field"},
        {"op": "replace", "path": "", "value": {}},
        {"op": "move", "from": "/environmentKey", "path": "/name"},
    ],
)
async def test_other_fields_are_not_editable(
    client: FakeClient, item: dict[str, Any], operation: dict[str, Any]
) -> None:
    """Only /name, /on, /tags and /config may change."""
    answer = await client.patch(item, [operation])

    assert answer.status == 400
    assert "not editable" in answer.json()["message"]


async def test_copy_may_read_a_plain_field(client: FakeClient, item: dict[str, Any]) -> None:
    """A copy from a non-underscore field into an editable one is allowed."""
    answer = await client.patch(item, [{"op": "copy", "from": "/projectKey", "path": "/name"}])

    assert answer.status == 200
    assert answer.json()["name"] == "default"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "upsert", "path": "/name", "value": "x"},
        {"path": "/name", "value": "x"},
        {"op": "replace", "value": "x"},
        {"op": "replace", "path": "/name"},
        {"op": "replace", "path": "name", "value": "x"},
        {"op": "replace", "path": "/config/nope", "value": "x"},
        {"op": "remove", "path": "/tags/3"},
        {"op": "add", "path": "/tags/x", "value": "x"},
        {"op": "copy", "path": "/name"},
        {"op": "test", "path": "/version"},
        "replace /name",
    ],
)
async def test_malformed_patch_is_invalid(
    client: FakeClient, item: dict[str, Any], operation: object
) -> None:
    """Unknown ops, missing members, bad pointers and missing targets are 400."""
    answer = await client.patch(item, [operation])

    assert answer.status == 400
    assert answer.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ({"op": "replace", "path": "/name", "value": 5}, "name"),
        ({"op": "remove", "path": "/name"}, "name"),
        ({"op": "replace", "path": "/on", "value": "true"}, "on"),
        ({"op": "add", "path": "/tags/-", "value": 1}, "tags"),
        ({"op": "replace", "path": "/tags", "value": None}, "tags"),
        ({"op": "replace", "path": "/config/port", "value": 6380}, "config.port"),
        ({"op": "remove", "path": "/config/host"}, "config.host"),
        ({"op": "add", "path": "/config/tls", "value": True}, "config.tls"),
        ({"op": "replace", "path": "/config", "value": []}, "config"),
    ],
)
async def test_patched_result_is_validated(
    client: FakeClient, item: dict[str, Any], operation: dict[str, Any], named: str
) -> None:
    """The patched integration must still be valid: 400 naming the field otherwise."""
    answer = await client.patch(item, [operation])

    assert answer.status == 400
    assert named in answer.json()["message"]


async def test_rename_to_a_taken_name_conflicts(client: FakeClient, item: dict[str, Any]) -> None:
    """Patching the name to another integration's name is 409."""
    other = await client.created(body={"name": "other", "config": {"host": "h"}})

    answer = await client.patch(other, [{"op": "replace", "path": "/name", "value": "cache"}])
    same = await client.patch(item, [{"op": "replace", "path": "/name", "value": "cache"}])

    assert answer.status == 409
    assert answer.json()["code"] == "conflict"
    assert "'cache'" in answer.json()["message"]
    assert same.status == 200


async def test_unknown_id_cannot_be_patched(client: FakeClient, item: dict[str, Any]) -> None:
    """PATCH on an unknown ID is 404 before the body is looked at."""
    answer = await client.patch({**item, "_id": "0" * 24}, "not a patch")

    assert answer.status == 404
