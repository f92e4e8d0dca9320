"""Rate limits: account-wide and per route, their headers, the 429 and the window's reset."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from ldstore.testing import FakeLaunchDarkly, RateLimit

from .fakeclient import FakeClient, ServeFake

WINDOW = 0.3


@pytest.fixture
async def limited(serve_fake: ServeFake, session: aiohttp.ClientSession) -> FakeClient:
    """A fake allowing 2 requests per 0.3 s window."""
    fake = await serve_fake(FakeLaunchDarkly(rate_limit=RateLimit(2, WINDOW)))
    return FakeClient(fake, session)


async def test_no_limit_means_no_headers(client: FakeClient) -> None:
    """Without a configured limit, no rate-limit headers are sent."""
    answer = await client.send("GET")

    assert not [name for name in answer.headers if name.lower().startswith("x-ratelimit")]


async def test_global_limit_counts_down_then_429(limited: FakeClient) -> None:
    """Each answer carries the remaining count and the reset; past the limit comes a 429."""
    answers = [await limited.send("GET") for _ in range(3)]

    assert [answer.status for answer in answers] == [200, 200, 429]
    remaining = [answer.headers["X-Ratelimit-Global-Remaining"] for answer in answers]
    assert remaining == ["1", "0", "0"]
    now_ms = time.time() * 1000
    for answer in answers:
        reset = int(answer.headers["X-Ratelimit-Reset"])
        assert now_ms - 50 < reset <= now_ms + WINDOW * 1000 + 1
    limited_answer = answers[2]
    assert limited_answer.json()["code"] == "rate_limited"
    assert "Retry-After" not in limited_answer.headers  # only an IP-based limit sends it
    assert "X-Ratelimit-Route-Remaining" not in limited_answer.headers


async def test_window_resets(limited: FakeClient) -> None:
    """After the window closes, requests are allowed again."""
    answers = [await limited.send("GET") for _ in range(3)]
    reset = int(answers[-1].headers["X-Ratelimit-Reset"]) / 1000

    await asyncio.sleep(max(0.0, reset - time.time()) + 0.01)
    after = await limited.send("GET")

    assert after.status == 200
    assert after.headers["X-Ratelimit-Global-Remaining"] == "1"


async def test_every_request_counts_against_the_global_limit(limited: FakeClient) -> None:
    """Errors and other routes count too, once past authentication."""
    missing = await limited.send("GET", "/api/v2/integration-capabilities/big-segment-store/x")
    created = await limited.create()
    third = await limited.send("GET")

    assert (missing.status, created.status, third.status) == (404, 201, 429)


async def test_unauthenticated_requests_do_not_count(limited: FakeClient) -> None:
    """401 and 403 come before the rate limit and use none of it."""
    for _ in range(3):
        assert (await limited.send("GET", headers={"Authorization": "x"})).status == 401

    answer = await limited.send("GET")

    assert answer.status == 200
    assert answer.headers["X-Ratelimit-Global-Remaining"] == "1"


async def test_route_limit(serve_fake: ServeFake, client: FakeClient) -> None:
    """A per-route limit counts only its operation and sends X-Ratelimit-Route-Remaining."""
    limits = {"createBigSegmentStoreIntegration": RateLimit(1, WINDOW)}
    fake = await serve_fake(FakeLaunchDarkly(route_rate_limits=limits))
    routed = FakeClient(fake, client.session)

    first = await routed.create()
    listed = await routed.send("GET")
    second = await routed.create(body={"name": "other", "config": {"host": "h"}})

    assert (first.status, listed.status, second.status) == (201, 200, 429)
    assert first.headers["X-Ratelimit-Route-Remaining"] == "0"
    assert "X-Ratelimit-Global-Remaining" not in first.headers
    assert "X-Ratelimit-Reset" not in listed.headers
    assert second.json()["code"] == "rate_limited"
    assert len(fake.integrations) == 1


async def test_global_and_route_limits_together(serve_fake: ServeFake, client: FakeClient) -> None:
    """With both, both counts are sent and the reset is the window that binds."""
    fake = await serve_fake(
        FakeLaunchDarkly(
            rate_limit=RateLimit(10, 5),
            route_rate_limits={"getBigSegmentStoreIntegrations": RateLimit(1, WINDOW)},
        )
    )
    both = FakeClient(fake, client.session)

    first = await both.send("GET")
    second = await both.send("GET")

    assert first.headers["X-Ratelimit-Global-Remaining"] == "9"
    assert first.headers["X-Ratelimit-Route-Remaining"] == "0"
    assert second.status == 429
    reset_in = int(second.headers["X-Ratelimit-Reset"]) / 1000 - time.time()
    assert reset_in <= WINDOW + 0.002  # the route window, not the 5 s global one
    assert "Retry-After" not in second.headers


async def test_a_limits_429_says_its_wait_in_the_reset_only(
    serve_fake: ServeFake, client: FakeClient
) -> None:
    """A global limit's 429 has no Retry-After; X-Ratelimit-Reset says when the window ends."""
    fake = await serve_fake(FakeLaunchDarkly(rate_limit=RateLimit(0, 2.5)))

    answer = await FakeClient(fake, client.session).send("GET")

    assert answer.status == 429
    assert "Retry-After" not in answer.headers
    assert answer.headers["X-Ratelimit-Global-Remaining"] == "0"
    reset_in = int(answer.headers["X-Ratelimit-Reset"]) / 1000 - time.time()
    assert 2.3 < reset_in <= 2.5 + 0.002


async def test_reset_restarts_the_windows(limited: FakeClient) -> None:
    """reset() clears rate-limit counts."""
    _ = [await limited.send("GET") for _ in range(3)]

    limited.fake.reset()
    answer = await limited.send("GET")

    assert answer.status == 200


def test_route_limits_must_name_operations() -> None:
    """A route limit keyed by anything but an operationId is refused."""
    with pytest.raises(ValueError, match="operationIds"):
        _ = FakeLaunchDarkly(route_rate_limits={"/api/v2": RateLimit(1)})


def test_rate_limit_values_are_checked() -> None:
    """A negative limit or a non-positive window is refused."""
    with pytest.raises(ValueError, match="limit"):
        _ = RateLimit(-1)
    with pytest.raises(ValueError, match="window"):
        _ = RateLimit(1, 0)
