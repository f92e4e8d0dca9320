"""Issue 9 points 1-2: no route reveals a stored secret, and the request log masks it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ldstore.testing import MASKED_SECRET, FakeLaunchDarkly

from .fakeclient import DYNAMODB_CONFIG, REDIS_CONFIG, FakeClient, path

SECRET = str(REDIS_CONFIG["password"])


@pytest.fixture
async def item(client: FakeClient) -> dict[str, Any]:
    """A Redis integration whose stored password is SECRET."""
    return await client.created()


def assert_hidden(fake: FakeLaunchDarkly, *bodies: bytes) -> None:
    """SECRET is in none of `bodies`, no response body of the log, nor the log's repr."""
    for body in bodies:
        assert SECRET.encode() not in body
    assert all(SECRET.encode() not in record.response_body for record in fake.requests)
    assert SECRET not in repr(fake.requests)


@pytest.mark.parametrize("guess", [SECRET, "wrong guess", 2, None])
@pytest.mark.parametrize("pointer", ["/config/password", "/config", "", "/config/password/x"])
async def test_test_op_reaching_the_secret_is_refused(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any], pointer: str, guess: object
) -> None:
    """A test whose path reaches /config/password is 400 naming the rule, right guess or wrong."""
    answer = await client.patch(item, [{"op": "test", "path": pointer, "value": guess}])

    assert answer.status == 400
    message = answer.json()["message"]
    assert "test, copy and move may not read or write secrets" in message
    assert "/config/password" in message
    assert_hidden(fake, answer.body)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "copy", "from": "/config/password", "path": "/name"},
        {"op": "copy", "from": "/config/password", "path": "/tags/-"},
        {"op": "move", "from": "/config/password", "path": "/config/username"},
        {"op": "copy", "from": "/config", "path": "/config/username"},
        {"op": "move", "from": "/config", "path": "/name"},
        {"op": "copy", "from": "/name", "path": "/config/password"},
    ],
)
async def test_copy_and_move_touching_the_secret_are_refused(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any], operation: dict[str, Any]
) -> None:
    """copy/move whose from or path reaches the secret is 400 and changes nothing."""
    answer = await client.patch(item, [operation])

    assert answer.status == 400
    assert "may not read or write secrets" in answer.json()["message"]
    assert fake.get_integration(item["_id"]) == {**item, "config": dict(REDIS_CONFIG)}
    assert_hidden(fake, answer.body)


async def test_failed_test_echoes_no_value_nor_type(
    client: FakeClient, item: dict[str, Any]
) -> None:
    """A failed test on /version says which operation failed, not the values or Python types."""
    answer = await client.patch(item, [{"op": "test", "path": "/version", "value": 7}])

    assert answer.status == 409
    message = answer.json()["message"]
    assert message == "test operation 0 on '/version' failed: the value differs"
    assert "class" not in message
    assert "7" not in message


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "/config/nope/deeper", "value": 1},
        {"op": "remove", "path": "/config/nope"},
        {"op": "replace", "path": "/config/password/0", "value": "x"},
        {"op": "add", "path": "/tags/5", "value": "x"},
        {"op": "copy", "from": "/config/nope", "path": "/name"},
    ],
)
async def test_patch_errors_do_not_quote_the_document(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any], operation: dict[str, Any]
) -> None:
    """An operation that cannot apply is 400 in the fake's words (jsonpatch's quote the config)."""
    answer = await client.patch(item, [operation])

    assert answer.status == 400
    message = answer.json()["message"]
    assert message.startswith("patch cannot be applied: operation 0")
    assert "class" not in message
    assert "redis.internal" not in message
    assert_hidden(fake, answer.body)


async def test_replace_and_remove_may_still_write_the_secret(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any]
) -> None:
    """Writing the secret is no leak: replace then remove /config/password both apply."""
    replaced = await client.patch(
        item, [{"op": "replace", "path": "/config/password", "value": "new-secret"}]
    )
    stored = fake.get_integration(item["_id"])
    removed = await client.patch(item, [{"op": "remove", "path": "/config/password"}])

    assert replaced.status == 200
    assert replaced.json()["config"]["password"] == MASKED_SECRET
    assert stored is not None
    assert stored["config"]["password"] == "new-secret"
    assert removed.status == 200
    assert "password" not in removed.json()["config"]


async def test_stores_without_secrets_may_test_their_config(client: FakeClient) -> None:
    """The rule follows the store's secrets: DynamoDB has none, so a test on /config works."""
    item = await client.created("dynamodb", {"name": "d", "config": dict(DYNAMODB_CONFIG)})

    answer = await client.patch(item, [{"op": "test", "path": "/config", "value": DYNAMODB_CONFIG}])

    assert answer.status == 200


async def test_test_compares_json_types(client: FakeClient, item: dict[str, Any]) -> None:
    """RFC 6902 equality: 1 is not true and "1" is not 1, but 1.0 is 1."""
    on_as_number = await client.patch(item, [{"op": "test", "path": "/on", "value": 0}])
    version_as_text = await client.patch(item, [{"op": "test", "path": "/version", "value": "1"}])
    version_as_float = await client.patch(item, [{"op": "test", "path": "/version", "value": 1.0}])

    assert (on_as_number.status, version_as_text.status) == (409, 409)
    assert version_as_float.status == 200


@pytest.mark.parametrize(
    ("pointer", "value", "status"),
    [
        ("/tags", [], 200),
        ("/tags", [False], 409),
        ("/tags", {}, 409),
        ("/_access", {"denied": [], "allowed": []}, 200),
        ("/nope", None, 409),
        ("/tags/0", "x", 409),
    ],
)
async def test_test_on_containers_and_missing_paths(
    client: FakeClient, item: dict[str, Any], pointer: str, value: object, status: int
) -> None:
    """Arrays and objects compare member by member; a path that is not there fails the test."""
    answer = await client.patch(item, [{"op": "test", "path": pointer, "value": value}])

    assert answer.status == status


async def test_log_masks_the_secret_in_request_bodies(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any]
) -> None:
    """Create and patch bodies carrying a password are logged masked; raw_body keeps the bytes."""
    patch = [
        {"op": "replace", "path": "/config/password", "value": "second-secret"},
        {"op": "replace", "path": "/config", "value": {"host": "h", "password": "third-secret"}},
    ]

    _ = await client.patch(item, patch)

    created, patched = fake.requests
    assert json.loads(created.body)["config"]["password"] == MASKED_SECRET
    assert json.loads(patched.body) == [
        {"op": "replace", "path": "/config/password", "value": MASKED_SECRET},
        {"op": "replace", "path": "/config", "value": {"host": "h", "password": MASKED_SECRET}},
    ]
    assert SECRET.encode() in created.raw_body
    assert b"second-secret" in patched.raw_body
    for secret in (SECRET, "second-secret", "third-secret"):
        assert secret not in repr(fake.requests)


async def test_log_masks_a_body_that_is_not_json(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """A broken body is masked on its "password" and "value" members as far as they go."""
    broken = b'{"config": {"host": "h", "password": "hunter2", "port": '

    answer = await client.send(
        "POST",
        path("default", "production", "redis"),
        data=broken,
        headers={"Content-Type": "application/json"},
    )

    assert answer.status == 400
    assert fake.requests[0].body == b'{"config": {"host": "h", "password": "********", "port": '
    assert fake.requests[0].raw_body == broken


async def test_log_keeps_a_body_without_secrets_byte_for_byte(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any]
) -> None:
    """Nothing to mask, nothing rewritten: the logged body is the bytes sent."""
    _ = await client.patch(item, [{"op": "replace", "path": "/name", "value": "x"}])

    record = fake.requests[-1]
    assert record.body == b'[{"op": "replace", "path": "/name", "value": "x"}]'
    assert record.body == record.raw_body
