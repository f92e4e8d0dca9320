"""Issue 9 points 6-8: where the spec is silent, the fake does what LaunchDarkly documents."""

from __future__ import annotations

from typing import Any

import pytest

from ldstore.testing import FakeLaunchDarkly

from .fakeclient import BASE, REDIS_CONFIG, FakeClient, item_path, path

OVERRIDE = "X-HTTP-Method-Override"


@pytest.fixture
async def item(client: FakeClient) -> dict[str, Any]:
    """A Redis integration named `cache`."""
    return await client.created()


async def test_unknown_top_level_create_fields_are_ignored(client: FakeClient) -> None:
    """Fields outside the create schema are dropped, read-only ones included: 201 as sent."""
    body = {
        "name": "cache",
        "config": dict(REDIS_CONFIG),
        "enabled": True,
        "_id": "mine",
        "version": 7,
        "integrationKey": "dynamodb",
        "description": {"nested": [1, 2]},
    }

    answer = await client.create(body=body)

    assert answer.status == 201
    created = answer.json()
    assert created["_id"] != "mine"
    assert (created["version"], created["integrationKey"]) == (1, "redis")
    assert "enabled" not in created
    assert "description" not in created


async def test_unknown_config_keys_stay_a_400(client: FakeClient) -> None:
    """Ignoring unknown fields stops at the top level: an unknown config key is 400."""
    answer = await client.create(body={"config": {"host": "h", "database": "0"}, "x": 1})

    assert answer.status == 400
    assert "config.database is not a redis setting" in answer.json()["message"]


@pytest.mark.parametrize("value", ["PATCH", "patch", " PATCH "])
async def test_method_override_patch_on_a_post(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any], value: str
) -> None:
    """POST with X-HTTP-Method-Override: PATCH is the PATCH (any case), logged as such."""
    answer = await client.send(
        "POST",
        item_path(item),
        json_body=[{"op": "replace", "path": "/name", "value": "tunnelled"}],
        headers={OVERRIDE: value},
    )

    assert answer.status == 200
    assert answer.json()["name"] == "tunnelled"
    record = fake.requests[-1]
    assert (record.method, record.operation_id) == ("POST", "patchBigSegmentStoreIntegration")


async def test_method_override_delete_on_a_post(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any]
) -> None:
    """POST with X-HTTP-Method-Override: DELETE deletes: 204, then 404."""
    answer = await client.send("POST", item_path(item), headers={OVERRIDE: "DELETE"})

    assert answer.status == 204
    assert fake.integrations == []


async def test_method_override_put_is_a_405(client: FakeClient, item: dict[str, Any]) -> None:
    """PUT is tunnelled too; no route takes PUT, so it is the PUT's 405 with Allow."""
    answer = await client.send("POST", item_path(item), json_body={}, headers={OVERRIDE: "PUT"})

    assert answer.status == 405
    assert answer.headers["Allow"] == "GET, HEAD, PATCH, DELETE"


@pytest.mark.parametrize(
    ("method", "value", "status"),
    [("GET", "DELETE", 200), ("PATCH", "DELETE", 200), ("POST", "GET", 405), ("POST", "X", 405)],
)
async def test_method_override_only_on_post_and_only_to_write_methods(
    client: FakeClient, item: dict[str, Any], method: str, value: str, status: int
) -> None:
    """The header is ignored on other methods, and a POST cannot become a GET through it."""
    answer = await client.send(method, item_path(item), json_body=[], headers={OVERRIDE: value})

    assert answer.status == status
    assert (await client.send("GET", item_path(item))).status == 200


@pytest.mark.parametrize(
    "where", [BASE, path("default", "production", "redis", "ITEM")], ids=["list", "item"]
)
async def test_head_answers_as_get_without_a_body(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any], where: str
) -> None:
    """HEAD works wherever GET does: same status and headers, no body; logged without one."""
    where = where.replace("ITEM", item["_id"])

    head = await client.send("HEAD", where)
    get = await client.send("GET", where)

    assert head.status == get.status == 200
    assert head.body == b""
    assert head.headers["Content-Type"] == "application/json"
    assert head.headers["Content-Length"] == str(len(get.body))
    assert fake.requests[-2].method == "HEAD"
    assert fake.requests[-2].response_body == b""


async def test_head_of_an_unknown_id_is_a_404(client: FakeClient) -> None:
    """HEAD finds what GET finds: nothing here."""
    answer = await client.send("HEAD", path("default", "production", "redis", "0" * 24))

    assert answer.status == 404
    assert answer.body == b""


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE", "HEAD"])
@pytest.mark.parametrize(
    "raw_path",
    [
        BASE + "/default/production/redis/",
        BASE + "/default//production/redis",
        BASE + "/default/production//redis",
        BASE + "//production/redis",
        BASE + "/default/production/redis//",
    ],
)
async def test_empty_segment_is_a_404_whatever_the_method(
    client: FakeClient, method: str, raw_path: str
) -> None:
    """An empty path segment names nothing: 404, never a 405."""
    answer = await client.send(method, raw_path, json_body=[])

    assert answer.status == 404
    if method != "HEAD":
        assert answer.json()["code"] == "not_found"
