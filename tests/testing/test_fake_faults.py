"""Scheduled faults: each kind, how many requests get one, and before or after handling."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from ldstore.testing import (
    DropConnection,
    FakeLaunchDarkly,
    Hang,
    Latency,
    MalformedJSON,
    RateLimited,
    ServerError,
)

from .fakeclient import FakeClient, ServeFake, item_path

LIST = "getBigSegmentStoreIntegrations"
CREATE = "createBigSegmentStoreIntegration"


async def statuses(client: FakeClient, count: int) -> list[int]:
    """The statuses of `count` list calls in a row."""
    return [(await client.send("GET")).status for _ in range(count)]


async def test_server_error_is_an_html_bad_gateway(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """ServerError() answers 502 with an HTML page, as a proxy would."""
    fake.schedule(ServerError())

    answer = await client.send("GET")

    assert answer.status == 502
    assert answer.headers["Content-Type"] == "text/html"
    assert b"Bad Gateway" in answer.body
    assert fake.requests[-1].fault == "ServerError"


async def test_server_error_is_configurable(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Status, body and content type of a ServerError can be chosen."""
    fake.schedule(ServerError(503, '{"oops": 1}', "application/json"))

    answer = await client.send("GET")

    assert (answer.status, answer.body) == (503, b'{"oops": 1}')
    assert answer.headers["Content-Type"] == "application/json"


async def test_times_counts_the_next_matching_requests(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """times=2 fails the next two requests, then the fault is spent."""
    fake.schedule(ServerError(), times=2)

    assert await statuses(client, 3) == [502, 502, 200]


async def test_every_nth_request_forever(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """every=3 with times=None fails every third request without end."""
    fake.schedule(ServerError(500), every=3, times=None)

    assert await statuses(client, 7) == [200, 200, 500, 200, 200, 500, 200]


async def test_every_nth_request_limited_times(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """every=2 with the default times=1 fails only the second request."""
    fake.schedule(ServerError(500), every=2)

    assert await statuses(client, 5) == [200, 500, 200, 200, 200]


async def test_operation_filter(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """operation= limits the fault to one operationId; other requests do not count."""
    fake.schedule(ServerError(), operation=CREATE)

    listed = await client.send("GET")
    created = await client.create()
    again = await client.create()

    assert (listed.status, created.status, again.status) == (200, 502, 201)


async def test_first_scheduled_fault_wins(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Two due faults: the first scheduled one is served, the other waits its turn."""
    fake.schedule(ServerError(500))
    fake.schedule(ServerError(503))

    assert await statuses(client, 3) == [500, 503, 200]


async def test_after_fault_still_creates(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """when="after": the create happens, then the answer is replaced (the answer was lost)."""
    fake.schedule(ServerError(), operation=CREATE, when="after")

    lost = await client.create()
    retried = await client.create()

    assert lost.status == 502
    assert len(fake.integrations) == 1
    assert retried.status == 409  # a blind retry of the create meets its own success
    assert fake.requests[0].fault == "ServerError"
    assert fake.requests[0].status == 502


async def test_malformed_json(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """MalformedJSON answers 200 application/json with a body cut short."""
    fake.schedule(MalformedJSON())

    answer = await client.send("GET")

    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        _ = answer.json()


async def test_malformed_json_after_cuts_the_real_answer(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """After handling, MalformedJSON sends the first half of the real body."""
    fake.schedule(MalformedJSON(), when="after")

    answer = await client.create()

    assert answer.status == 200
    assert answer.body.startswith(b'{"_links":')
    with pytest.raises(json.JSONDecodeError):
        _ = answer.json()
    assert len(fake.integrations) == 1


async def test_drop_connection_loses_the_answer(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """DropConnection promises more than it sends and closes: the client sees a broken body."""
    fake.schedule(DropConnection())

    with pytest.raises(aiohttp.ClientPayloadError):
        _ = await client.send("GET")

    record = fake.requests[-1]
    assert (record.status, record.fault) == (None, "DropConnection")
    assert record.response_body
    assert (await client.send("GET")).status == 200


async def test_drop_after_create_keeps_the_integration(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """A dropped answer to a create that reached the server leaves the integration stored."""
    fake.schedule(DropConnection(), operation=CREATE, when="after")

    with pytest.raises(aiohttp.ClientPayloadError):
        _ = await client.create()

    assert len(fake.integrations) == 1


async def test_drop_after_delete_loses_the_whole_answer(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """A 204 has no body to cut: the connection closes first, and aiohttp retries the DELETE."""
    item = await client.created()
    fake.schedule(DropConnection(), operation="deleteBigSegmentStoreIntegration", when="after")

    answer = await client.send("DELETE", item_path(item))

    assert answer.status == 404  # aiohttp's own retry meets the done delete
    deletes = [r for r in fake.requests if r.method == "DELETE"]
    assert [(r.status, r.fault) for r in deletes] == [(None, "DropConnection"), (404, None)]
    assert fake.integrations == []


async def test_hang_never_answers(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Hang keeps the client waiting until its timeout; the log shows no status."""
    fake.schedule(Hang())

    with pytest.raises(asyncio.TimeoutError):
        _ = await client.send("GET", timeout=0.2)

    assert (fake.requests[-1].status, fake.requests[-1].fault) == (None, "Hang")
    assert (await client.send("GET")).status == 200


async def test_hang_ends_promptly_at_shutdown(session: aiohttp.ClientSession) -> None:
    """A request left hanging does not hold up the fake's shutdown."""
    fake = FakeLaunchDarkly()
    async with fake:
        fake.schedule(Hang())
        with pytest.raises(asyncio.TimeoutError):
            _ = await FakeClient(fake, session).send("GET", timeout=0.1)
        started = time.monotonic()

    assert time.monotonic() - started < 0.5
    assert fake.requests[-1].fault == "Hang"


async def test_latency_fault_delays_the_normal_answer(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """Latency(s) answers normally, s seconds late."""
    fake.schedule(Latency(0.2))

    started = time.monotonic()
    answer = await client.send("GET")
    elapsed = time.monotonic() - started

    assert answer.status == 200
    assert elapsed >= 0.2
    assert fake.requests[-1].fault == "Latency"


async def test_latency_after_handling(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Latency after handling delays the real answer of a create."""
    fake.schedule(Latency(0.1), when="after")

    answer = await client.create()

    assert answer.status == 201
    assert fake.requests[-1].status == 201


async def test_fake_wide_latency(serve_fake: ServeFake, client: FakeClient) -> None:
    """The latency option delays every answer."""
    fake = await serve_fake(FakeLaunchDarkly(latency=0.15))
    slow = FakeClient(fake, client.session)

    started = time.monotonic()
    answers = [await slow.send("GET"), await slow.send("GET")]

    assert [answer.status for answer in answers] == [200, 200]
    assert time.monotonic() - started >= 0.3


async def test_rate_limited_fault(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """RateLimited answers 429 rate_limited with Retry-After and an optional reset."""
    fake.schedule(RateLimited())
    fake.schedule(RateLimited(retry_after=0.5, reset_in=2))

    plain = await client.send("GET")
    timed = await client.send("GET")

    assert plain.status == 429
    assert plain.json()["code"] == "rate_limited"
    assert plain.headers["Retry-After"] == "1"
    assert "X-Ratelimit-Reset" not in plain.headers
    assert timed.headers["Retry-After"] == "0.5"
    reset = int(timed.headers["X-Ratelimit-Reset"])
    assert 1500 <= reset - time.time() * 1000 <= 2001


async def test_fault_applies_before_authentication(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """A fault before handling hits even a request with a bad token, as a proxy would."""
    fake.schedule(ServerError())

    answer = await client.send("GET", headers={"Authorization": "wrong"})

    assert answer.status == 502


async def test_fault_on_the_other_routes(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Faults can target get, patch and delete by operationId."""
    item = await client.created()
    for operation in ("getBigSegmentStoreIntegration", "patchBigSegmentStoreIntegration"):
        fake.schedule(ServerError(503), operation=operation)
    fake.schedule(ServerError(504), operation="deleteBigSegmentStoreIntegration", when="after")

    got = await client.send("GET", item_path(item))
    patched = await client.patch(item, [])
    deleted = await client.send("DELETE", item_path(item))

    assert (got.status, patched.status, deleted.status) == (503, 503, 504)
    assert fake.integrations == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"times": 0}, "times"),
        ({"every": 0}, "every"),
        ({"operation": "listIntegrations"}, "operationId"),
        ({"when": "during"}, "when"),
    ],
)
def test_schedule_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    """schedule() refuses a schedule that could never be meant."""
    fake = FakeLaunchDarkly()

    with pytest.raises(ValueError, match=message):
        fake.schedule(ServerError(), **kwargs)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType] - wrong on purpose
