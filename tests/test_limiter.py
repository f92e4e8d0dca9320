"""The Core's limiter against the fake: rate-limit awareness and the in-flight cap."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from hostile import answer, core_at, integration, script, serve
from hostile import get_request as hostile_get
from sdk import ENVIRONMENT, PROJECT, core_for, get_request, seed

from ldstore import Core, Err, Ok, Result, RetryConfig
from ldstore.errors import LDStoreError, RateLimitedError
from ldstore.funcs import get_big_segment_store_integration
from ldstore.models import BigSegmentStoreIntegration
from ldstore.testing import FakeLaunchDarkly, RateLimit, RateLimited, RecordedRequest
from ldstore.workflows import gather

ServeFake = Callable[[FakeLaunchDarkly], Awaitable[FakeLaunchDarkly]]

CALLS = 300
WINDOW = RateLimit(limit=20, window=0.25)


def statuses(requests: Sequence[RecordedRequest]) -> list[int | None]:
    return [request.status for request in requests]


async def run_gets(
    core: Core, integration_id: str, calls: int
) -> list[Result[BigSegmentStoreIntegration, LDStoreError]]:
    return list(
        await gather(
            *(
                get_big_segment_store_integration(core, get_request(integration_id))
                for _ in range(calls)
            )
        )
    )


async def test_rate_limit_aware_core_draws_no_429s(serve_fake: ServeFake) -> None:
    """300 concurrent gets on one Core spend the window's budget and never draw a 429."""
    fake = await serve_fake(FakeLaunchDarkly(rate_limit=WINDOW))
    integration_id = seed(fake)

    async with core_for(fake, retry_config=RetryConfig.none()) as core:
        results = await run_gets(core, integration_id, CALLS)

    assert all(isinstance(result, Ok) for result in results)  # held back, never failed
    assert len(fake.requests) == CALLS
    assert 429 not in statuses(fake.requests)


async def test_without_rate_limit_awareness_the_same_run_draws_429s(
    serve_fake: ServeFake,
) -> None:
    """The same burst with rate_limit_aware=False goes out at once and meets 429s."""
    fake = await serve_fake(FakeLaunchDarkly(rate_limit=WINDOW))
    integration_id = seed(fake)

    async with core_for(fake, rate_limit_aware=False, retry_config=RetryConfig.none()) as core:
        results = await run_gets(core, integration_id, CALLS)

    rejected = statuses(fake.requests).count(429)
    assert rejected > 0  # 280 when the burst fits in one window; fewer on a slow machine
    limited = [r for r in results if isinstance(r, Err) and isinstance(r.error, RateLimitedError)]
    assert len(limited) == rejected


async def test_aware_core_with_retries_also_draws_no_429s(serve_fake: ServeFake) -> None:
    """Retries do not change the limiter's admission: still zero 429s across windows."""
    fake = await serve_fake(FakeLaunchDarkly(rate_limit=RateLimit(limit=10, window=0.2)))
    integration_id = seed(fake)
    retries = RetryConfig(initial_interval=0.01, max_interval=0.05, max_elapsed_time=10)

    async with core_for(fake, retry_config=retries) as core:
        results = await run_gets(core, integration_id, 60)

    assert all(isinstance(result, Ok) for result in results)
    assert 429 not in statuses(fake.requests)


async def test_a_route_limit_is_respected_too(serve_fake: ServeFake) -> None:
    """A per-route limit (X-Ratelimit-Route-Remaining) holds calls back like the global one."""
    fake = await serve_fake(
        FakeLaunchDarkly(
            route_rate_limits={"getBigSegmentStoreIntegration": RateLimit(limit=5, window=0.2)}
        )
    )
    integration_id = seed(fake)

    async with core_for(fake) as core:
        results = await run_gets(core, integration_id, 30)

    assert all(isinstance(result, Ok) for result in results)
    assert 429 not in statuses(fake.requests)


async def test_held_back_calls_wait_for_the_next_window(serve_fake: ServeFake) -> None:
    """Calls beyond a window's budget wait for the reset, then succeed without retries."""
    fake = await serve_fake(FakeLaunchDarkly(rate_limit=RateLimit(limit=4, window=0.2)))
    integration_id = seed(fake)
    started = time.monotonic()

    async with core_for(fake, retry_config=RetryConfig.none()) as core:
        results = await run_gets(core, integration_id, 12)

    assert all(isinstance(result, Ok) for result in results)
    assert time.monotonic() - started >= 2 * 0.2  # three windows
    assert 429 not in statuses(fake.requests)


async def test_a_429_pauses_every_call_on_the_core(serve_fake: ServeFake) -> None:
    """After one call meets a 429 with Retry-After, the others wait instead of sending."""
    fake = await serve_fake(FakeLaunchDarkly())
    integration_id = seed(fake)
    fake.schedule(RateLimited(retry_after=0.3), times=1)
    retries = RetryConfig(initial_interval=0.01, max_interval=0.05, max_elapsed_time=5)

    async with core_for(fake, retry_config=retries, max_in_flight=1) as core:
        results = await run_gets(core, integration_id, 5)

    assert all(isinstance(result, Ok) for result in results)
    assert statuses(fake.requests) == [429, 200, 200, 200, 200, 200]
    assert fake.requests[1].time - fake.requests[0].time >= 0.3


async def _peak_in_flight(calls: int, hold_until: int, **core_options: Any) -> int:
    """The most requests a server held at once: each waits (5 s at most) until
    ``hold_until`` are in flight together, so the count depends on the limiter, not on
    how fast a loaded machine delivers them."""
    in_flight, peak, gathered = [0], [0], asyncio.Event()
    body = json.dumps(integration()).encode()

    async def holding(request: web.Request) -> web.StreamResponse:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        if in_flight[0] >= hold_until:
            gathered.set()
        with contextlib.suppress(asyncio.TimeoutError):
            _ = await asyncio.wait_for(gathered.wait(), 5)
        in_flight[0] -= 1
        return web.Response(body=body, content_type="application/json")

    async with serve(holding) as server, core_at(server.url, **core_options) as core:
        results = await gather(
            *(get_big_segment_store_integration(core, hostile_get()) for _ in range(calls))
        )
    assert all(isinstance(result, Ok) for result in results)
    return peak[0]


async def test_max_in_flight_caps_concurrent_requests() -> None:
    """With max_in_flight=4 the server never holds more than 4 of 24 calls (it holds each
    until 4 are there); without the cap all 24 reach it together. Counted, not timed."""
    # Rate-limit awareness off: its probe (one call first) is another test's subject.
    capped = await _peak_in_flight(24, hold_until=4, max_in_flight=4, rate_limit_aware=False)
    uncapped = await _peak_in_flight(24, hold_until=24, rate_limit_aware=False)

    assert capped == 4
    assert uncapped == 24


async def test_a_call_held_back_by_max_in_flight_waits_rather_than_fails(
    serve_fake: ServeFake,
) -> None:
    """max_in_flight=1 and no retries: every call queues and succeeds, one after another."""
    fake = await serve_fake(FakeLaunchDarkly(latency=0.02))
    integration_id = seed(fake)

    async with core_for(fake, max_in_flight=1, retry_config=RetryConfig.none()) as core:
        results = await run_gets(core, integration_id, 8)

    assert all(isinstance(result, Ok) for result in results)
    times = [request.time for request in fake.requests]
    assert all(later - earlier >= 0.02 for earlier, later in itertools.pairwise(times))
    assert {request.path_params["projectKey"] for request in fake.requests} == {PROJECT}
    assert {request.path_params["environmentKey"] for request in fake.requests} == {ENVIRONMENT}


async def test_an_unlimited_route_is_limited_again_by_the_next_answer_that_says_so() -> None:
    """Once both scopes answered without rate-limit headers, calls are admitted without
    bookkeeping; the first answer that spends the window ends that at once: the next
    call, whose budget is shorter than the window's reset, is refused without reaching
    the server (bound: 3 requests for 4 calls)."""
    body = integration()
    reset_ms = str(round((time.time() + 30) * 1000))
    spent = {"X-Ratelimit-Route-Remaining": "0", "X-Ratelimit-Reset": reset_ms}
    handler = script(answer(200, body), answer(200, body), answer(200, body, spent))
    retries = RetryConfig(max_attempts=1, max_elapsed_time=1.0)

    async with serve(handler) as server, core_at(server.url, retry_config=retries) as core:
        results = [await get_big_segment_store_integration(core, hostile_get()) for _ in range(4)]

    assert [isinstance(result, Ok) for result in results] == [True, True, True, False]
    refused = results[3]
    assert isinstance(refused, Err)
    assert isinstance(refused.error, RateLimitedError)
    assert "nothing was sent" in refused.error.message
    assert len(server.hits) == 3
