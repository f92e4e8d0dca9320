"""The limiter against servers whose rate-limit headers lie: no call waits past its own
budget, no call stays pending after the others finish, and nothing raises."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from hostile import (
    SLACK,
    answer,
    core_at,
    get_request,
    integration,
    script,
    serve,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldstore import Core, Err, Ok, Result, RetryConfig
from ldstore._limiter import MAX_SERVER_WAIT, remaining, requested_wait, reset_at
from ldstore.errors import LDStoreError, RateLimitedError
from ldstore.funcs import get_big_segment_store_integration
from ldstore.models import BigSegmentStoreIntegration

BUDGET = 1.0
CALL = RetryConfig(initial_interval=0.001, max_interval=0.01, max_elapsed_time=BUDGET)
FAR = str(int((time.time() + 365 * 24 * 3600) * 1000))  # a reset a year away, epoch ms


async def _calls_after(
    core: Core, calls: int
) -> tuple[list[Result[BigSegmentStoreIntegration, LDStoreError]], float]:
    """Run ``calls`` concurrent gets; return their results and the slowest one's seconds."""
    started = time.monotonic()
    results = await asyncio.wait_for(
        asyncio.gather(
            *(get_big_segment_store_integration(core, get_request()) for _ in range(calls))
        ),
        timeout=BUDGET + 10,
    )
    return list(results), time.monotonic() - started


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "1e9"},
        {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
        {"X-Ratelimit-Reset": FAR},
        {"Retry-After": "99999999999"},
    ],
    ids=["1e9", "year-9999", "reset-a-year-away", "11-digits"],
)
async def test_a_huge_wait_on_a_429_does_not_stall_later_calls(headers: dict[str, str]) -> None:
    """After a 429 asking for a year, the later calls on the Core end within their 1 s budget
    + slack, as Err(RateLimitedError) with the (clamped) wait; nothing more is sent."""
    handler = script(answer(429, {}, headers), answer(200, integration()))
    async with serve(handler) as server, core_at(server.url, retry_config=CALL) as core:
        first = await get_big_segment_store_integration(core, get_request())
        later, slowest = await _calls_after(core, 3)

    assert isinstance(first, Err)
    assert isinstance(first.error, RateLimitedError)
    for result in later:
        assert isinstance(result, Err)
        assert isinstance(result.error, RateLimitedError)
        assert result.error.retry_after is not None
        assert result.error.retry_after <= MAX_SERVER_WAIT
    assert slowest < BUDGET + SLACK
    assert len(server.hits) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "inf"},
        {"Retry-After": "nan"},
        {"Retry-After": "-5"},
        {"X-Ratelimit-Reset": "9" * 400},
        {"Retry-After": "Sun, 99 Foo 99999 99:99:99 GMT"},
    ],
    ids=["inf", "nan", "negative", "reset-400-digits", "broken-date"],
)
async def test_a_garbled_wait_on_a_429_counts_as_absent(headers: dict[str, str]) -> None:
    """A Retry-After or reset that does not parse is ignored: the call is retried by backoff
    alone and answered Ok within the 1 s budget + slack; 2 requests at the server."""
    handler = script(answer(429, {}, headers), answer(200, integration()))
    async with serve(handler) as server, core_at(server.url, retry_config=CALL) as core:
        started = time.monotonic()
        result = await get_big_segment_store_integration(core, get_request())
        elapsed = time.monotonic() - started

    assert isinstance(result, Ok)
    assert elapsed < BUDGET + SLACK
    assert len(server.hits) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Ratelimit-Global-Remaining": "0", "X-Ratelimit-Reset": FAR},
        {"X-Ratelimit-Route-Remaining": "0", "X-Ratelimit-Reset": FAR},
        {"X-Ratelimit-Global-Remaining": "0"},  # no reset: a 10 s window is assumed
        {"X-Ratelimit-Global-Remaining": "-7", "X-Ratelimit-Reset": "garbage"},
    ],
    ids=["global-far", "route-far", "no-reset", "negative-garbled"],
)
async def test_a_spent_budget_without_a_near_reset_does_not_stall(headers: dict[str, str]) -> None:
    """A 200 saying remaining <= 0 with a far, absent or garbled reset: later calls end within
    their 1 s budget + slack instead of waiting 10 s or a year."""
    async with (
        serve(answer(200, integration(), headers)) as server,
        core_at(server.url, retry_config=CALL) as core,
    ):
        first = await get_big_segment_store_integration(core, get_request())
        later, slowest = await _calls_after(core, 3)

    assert isinstance(first, Ok)
    assert all(isinstance(r, Err) and isinstance(r.error, RateLimitedError) for r in later)
    assert slowest < BUDGET + SLACK
    assert len(server.hits) == 1


async def test_a_probes_429_wakes_the_calls_queued_behind_it() -> None:
    """Two calls with RetryConfig.none(): the first probes and meets a 429 (Retry-After: 0);
    the second, queued behind it, is woken and answered at once, not at its 60 s budget."""
    answered = asyncio.Event()

    async def first_waits(request: web.Request) -> web.StreamResponse:
        _ = await answered.wait()
        return web.json_response({}, status=429, headers={"Retry-After": "0"})

    handler = script(first_waits, answer(200, integration()))
    async with serve(handler) as server, core_at(server.url) as core:
        probe = asyncio.create_task(get_big_segment_store_integration(core, get_request()))
        while not server.hits:  # noqa: ASYNC110 (the server records the probe's arrival)
            await asyncio.sleep(0.005)
        queued = asyncio.create_task(get_big_segment_store_integration(core, get_request()))
        while core.limiter._changed is None:  # noqa: ASYNC110  # pyright: ignore[reportPrivateUsage]  # the queued call waits on it
            await asyncio.sleep(0.005)
        answered.set()
        first, second = await asyncio.wait_for(asyncio.gather(probe, queued), timeout=10)

    assert isinstance(first, Err)
    assert isinstance(first.error, RateLimitedError)
    assert isinstance(second, Ok)
    assert len(server.hits) == 2


async def test_a_limiter_wait_longer_than_the_budget_is_refused_at_once() -> None:
    """A 429 asking for 30 s with a 1 s budget: the next call returns Err(RateLimitedError)
    without sending (one request at the server) and well before 30 s."""
    handler = script(answer(429, {}, {"Retry-After": "30"}), answer(200, integration()))
    async with serve(handler) as server, core_at(server.url, retry_config=CALL) as core:
        _ = await get_big_segment_store_integration(core, get_request())
        started = time.monotonic()
        result = await get_big_segment_store_integration(core, get_request())
        elapsed = time.monotonic() - started

    assert isinstance(result, Err)
    assert isinstance(result.error, RateLimitedError)
    assert "nothing was sent" in str(result.error)
    assert elapsed < SLACK
    assert len(server.hits) == 1


_HEADER_TEXT = st.one_of(
    st.sampled_from(["0", "1", "-1", "5", "0.2", "1e9", "inf", "nan", "", "x", "9" * 400]),
    st.integers(min_value=-5, max_value=5).map(str),
    st.floats(min_value=-1, max_value=3).map(lambda s: str(int((time.time() + s) * 1000))),
    st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=30),
)
_ANSWER = st.tuples(
    st.sampled_from([200, 200, 429, 503]),
    st.dictionaries(
        st.sampled_from(
            [
                "Retry-After",
                "X-Ratelimit-Reset",
                "X-Ratelimit-Global-Remaining",
                "X-Ratelimit-Route-Remaining",
            ]
        ),
        _HEADER_TEXT,
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(answers=st.lists(_ANSWER, min_size=1, max_size=8), calls=st.integers(1, 6))
def test_no_call_outlasts_its_budget_whatever_the_headers(
    answers: list[tuple[int, dict[str, str]]], calls: int
) -> None:
    """The limiter invariant: for any sequence of statuses and rate-limit headers, each of
    up to 6 concurrent calls (0.3 s budget, retries on) returns a Result within its budget
    + slack, and none stays pending once the others are done."""
    budget = 0.3
    retries = RetryConfig(initial_interval=0.001, max_interval=0.02, max_elapsed_time=budget)

    async def scenario() -> None:
        handlers = [answer(status, integration(), headers) for status, headers in answers]
        async with (
            serve(script(*handlers)) as server,
            core_at(server.url, retry_config=retries, timeout=budget) as core,
        ):

            async def timed() -> float:
                started = time.monotonic()
                result = await get_big_segment_store_integration(core, get_request())
                assert isinstance(result, Ok | Err)
                return time.monotonic() - started

            durations = await asyncio.wait_for(
                asyncio.gather(*(timed() for _ in range(calls))), timeout=budget + 2 * SLACK
            )

        assert max(durations) < budget + SLACK

    asyncio.run(scenario())


@given(st.text(max_size=60))
def test_the_header_parser_never_raises_and_clamps(value: str) -> None:
    """Any text as Retry-After, X-Ratelimit-Reset or a Remaining count: None or a value in
    bounds (waits within [0, MAX_SERVER_WAIT], counts >= 0), never an exception."""
    now = time.time()
    headers = {"Retry-After": value, "X-Ratelimit-Reset": value}

    wait = requested_wait(headers, now)
    reset = reset_at(headers, now)
    count = remaining(value)

    assert wait is None or 0.0 <= wait <= MAX_SERVER_WAIT
    assert reset is None or reset <= now + MAX_SERVER_WAIT
    assert count is None or count >= 0


async def test_calls_still_in_flight_are_spent_from_a_fresh_count() -> None:
    """Two calls admitted in one window answer late; the next window's probe says 1 left.
    The limiter spends the 2 in flight from that 1: the next call is held (4 requests at the
    server, not 5) until the window resets, then answered Ok."""
    release = asyncio.Event()
    served = [0]

    def window(left: int, seconds: float) -> dict[str, str]:
        reset = str(int((time.time() + seconds) * 1000))
        return {"X-Ratelimit-Global-Remaining": str(left), "X-Ratelimit-Reset": reset}

    async def handler(request: web.Request) -> web.StreamResponse:
        index = served[0]
        served[0] += 1
        if index == 0:  # the first probe: 2 left in a short window
            return web.json_response(integration(), headers=window(2, 0.2))
        if index in {1, 2}:  # admitted in that window, answered late
            _ = await release.wait()
            return web.json_response(integration(), headers=window(0, 1.0))
        if index == 3:  # the next window's probe: the server has not counted the two yet
            return web.json_response(integration(), headers=window(1, 1.0))
        return web.json_response(integration(), headers=window(5, 1.0))

    async with serve(handler) as server, core_at(server.url) as core:
        assert (await get_big_segment_store_integration(core, get_request())).ok
        late = [
            asyncio.create_task(get_big_segment_store_integration(core, get_request()))
            for _ in range(2)
        ]
        while len(server.hits) < 3:  # noqa: ASYNC110 (the server records arrivals)
            await asyncio.sleep(0.005)
        assert (await get_big_segment_store_integration(core, get_request())).ok  # the probe
        held = asyncio.create_task(get_big_segment_store_integration(core, get_request()))
        while core.limiter._changed is None and len(server.hits) < 5:  # noqa: ASYNC110  # pyright: ignore[reportPrivateUsage]
            await asyncio.sleep(0.005)
        hits_while_in_flight = len(server.hits)
        release.set()
        results = await asyncio.wait_for(asyncio.gather(*late, held), timeout=10)

    assert hits_while_in_flight == 4
    assert all(isinstance(result, Ok) for result in results)
