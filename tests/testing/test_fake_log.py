"""The request log: what was sent and answered, with the token masked; and reset()."""

from __future__ import annotations

import json
import time

import attrs
import pytest

from ldstore.testing import MASKED_SECRET, FakeLaunchDarkly, RecordedRequest, ServerError

from .fakeclient import BASE, FakeClient, path


async def test_log_records_the_exchange(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Method, raw path, params, operationId, headers, bodies, status and time are kept."""
    before = time.time()

    answer = await client.create()

    (record,) = fake.requests
    assert record.method == "POST"
    assert record.raw_path == path("default", "production", "redis")
    assert record.path_params == {
        "projectKey": "default",
        "environmentKey": "production",
        "integrationKey": "redis",
    }
    assert record.operation_id == "createBigSegmentStoreIntegration"
    assert record.headers["LD-API-Version"] == "beta"
    assert record.headers["User-Agent"] == "ldstore-fake-tests"
    assert (
        record.raw_body
        == b'{"name": "cache", "config": {"host": "redis.internal", "port": "6379", "password": "hunter2"}}'
    )
    assert json.loads(record.body) == {
        "name": "cache",
        "config": {"host": "redis.internal", "port": "6379", "password": MASKED_SECRET},
    }
    assert record.status == 201
    assert record.response_body == answer.body
    assert record.response_headers["Content-Type"] == "application/json"
    assert record.fault is None
    assert before <= record.time <= time.time()


async def test_token_never_appears_in_the_log(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """The Authorization value is masked, whether right or wrong."""
    _ = await client.send("GET")
    _ = await client.send("GET", headers={"Authorization": "Bearer " + fake.token})

    assert [record.headers["Authorization"] for record in fake.requests] == [MASKED_SECRET] * 2
    assert fake.token not in repr(fake.requests)


async def test_unknown_route_is_logged_without_operation(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """A request outside the API is logged with operation_id None."""
    _ = await client.send("GET", BASE + "/only-one")

    assert fake.requests[0].operation_id is None
    assert fake.requests[0].status == 404


async def test_429s_can_be_counted(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Tests count answers by status from the log."""
    fake.schedule(ServerError(429), times=2)

    _ = [await client.send("GET") for _ in range(3)]

    assert [record.status for record in fake.requests].count(429) == 2


def test_records_are_frozen() -> None:
    """A RecordedRequest cannot be changed after the fact."""
    record = RecordedRequest(
        method="GET",
        raw_path=BASE,
        path_params={},
        operation_id=None,
        headers={},
        body=b"",
        status=200,
        response_body=b"",
        response_headers={},
        fault=None,
        time=0.0,
    )

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.status = 500  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue] - frozen on purpose


async def test_reset_forgets_everything(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """reset() clears integrations, pinned statuses, the log and scheduled faults."""
    item = await client.created()
    fake.set_status(item["_id"], available=True)
    fake.schedule(ServerError(), times=None)

    fake.reset()
    answer = await client.send("GET")

    assert answer.status == 200
    assert answer.json()["items"] == []
    assert fake.integrations == []
    assert len(fake.requests) == 1
    assert fake.environments == {"default": ["production", "test"]}
