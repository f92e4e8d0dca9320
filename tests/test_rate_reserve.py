"""Core(rate_reserve=...): a good neighbour leaves a share of the account's rate-limit
window to the other clients of the account (issue 26 point 5)."""

from __future__ import annotations

import asyncio
import math
import time

import aiohttp
import attrs
import pytest
from aiohttp import web
from hostile import TOKEN, answer, core_at, get_request, integration, serve

from ldstore import Core, Err, Ok, RetryConfig
from ldstore.errors import RateLimitedError
from ldstore.funcs import get_big_segment_store_integration

BUDGET = 20  # requests per window, for every token of the account together
WINDOW = 0.5  # seconds


@attrs.define
class Account:
    """One rate-limit budget shared by every client, as LaunchDarkly's global limit is:
    ``X-Ratelimit-Global-Remaining`` and ``X-Ratelimit-Reset`` on every answer, a 429
    with those headers only (no Retry-After) once the window is spent."""

    started: float = attrs.field(factory=time.time)
    window: int = -1
    left: int = 0
    statuses: dict[str, list[int]] = attrs.field(factory=dict[str, list[int]])

    def handler(self, who: str) -> web.Response:
        now = time.time()
        window = math.floor((now - self.started) / WINDOW)
        if window != self.window:
            self.window, self.left = window, BUDGET
        headers = {
            "X-Ratelimit-Reset": str(math.ceil((self.started + (window + 1) * WINDOW) * 1000))
        }
        if self.left <= 0:
            headers["X-Ratelimit-Global-Remaining"] = "0"
            status, body = 429, {"code": "rate_limited", "message": "slow down"}
        else:
            self.left -= 1
            headers["X-Ratelimit-Global-Remaining"] = str(self.left)
            status, body = 200, integration()
        self.statuses.setdefault(who, []).append(status)
        return web.json_response(body, status=status, headers=headers)


async def _share(reserve: float) -> Account:
    """ldstore makes 50 concurrent calls while a neighbour of the same account sends a
    request every 0.1 s; what each saw."""
    account = Account()

    async def handler(request: web.Request) -> web.StreamResponse:
        return account.handler(request.headers.get("X-Client", "ldstore"))

    async with serve(handler) as server:
        retries = RetryConfig(initial_interval=0.01, max_interval=0.05, max_elapsed_time=20)
        core = core_at(server.url, retry_config=retries, rate_reserve=reserve)
        calls_done = asyncio.Event()

        async def neighbour() -> None:
            async with aiohttp.ClientSession() as session:
                while not calls_done.is_set():
                    async with session.get(server.url, headers={"X-Client": "neighbour"}) as got:
                        _ = await got.read()
                    await asyncio.sleep(0.1)

        async def calls() -> list[object]:
            async with core:
                try:
                    return list(
                        await asyncio.gather(
                            *(
                                get_big_segment_store_integration(core, get_request())
                                for _ in range(50)
                            )
                        )
                    )
                finally:
                    calls_done.set()

        results, _ = await asyncio.gather(calls(), neighbour())
    assert all(isinstance(result, Ok) for result in results)
    return account


async def test_a_reserve_leaves_the_neighbour_its_share() -> None:
    """rate_reserve=0.3 (6 of 20 per window kept): ldstore's 50 calls all succeed without
    a 429, and a neighbour sending every 0.1 s (at most 5 per window) never sees one."""
    account = await _share(0.3)

    assert 429 not in account.statuses["ldstore"]
    assert account.statuses["neighbour"]
    assert 429 not in account.statuses["neighbour"]


async def test_without_a_reserve_the_neighbour_is_starved() -> None:
    """rate_reserve=0 (the default, as before): ldstore spends each window whole, and the
    neighbour's requests draw 429s: the difference the reserve makes."""
    account = await _share(0.0)

    assert account.statuses["neighbour"].count(429) > 0


async def test_a_reserve_wait_past_the_call_budget_is_an_err_with_nothing_sent() -> None:
    """Remaining 1 of a window of 2 that resets in 30 s, reserve 0.5: the next call would
    spend the reserve, and waiting for the reset outlasts its 2 s budget, so it is
    Err(RateLimitedError) naming rate_reserve at once, nothing sent."""
    reset = str(int((time.time() + 30) * 1000))
    headers = {"X-Ratelimit-Global-Remaining": "1", "X-Ratelimit-Reset": reset}
    short = RetryConfig(max_elapsed_time=2.0)
    async with (
        serve(answer(200, integration(), headers)) as server,
        core_at(server.url, retry_config=short, rate_reserve=0.5) as core,
    ):
        first = await get_big_segment_store_integration(core, get_request())
        started = time.monotonic()
        second = await get_big_segment_store_integration(core, get_request())
        took = time.monotonic() - started

    assert isinstance(first, Ok)
    assert isinstance(second, Err)
    assert isinstance(second.error, RateLimitedError)
    assert "rate_reserve" in second.error.message
    assert took < 0.5
    assert len(server.hits) == 1


@pytest.mark.parametrize("reserve", [-0.1, 1.0, 1.5, float("nan")])
def test_a_reserve_outside_0_to_1_is_refused(reserve: float) -> None:
    """rate_reserve is a share: from 0 up to, not including, 1."""
    with pytest.raises(ValueError, match="rate_reserve"):
        _ = Core(TOKEN, rate_reserve=reserve)


def test_a_reserve_that_is_not_a_number_is_refused() -> None:
    """A bool or a string is a TypeError naming rate_reserve."""
    with pytest.raises(TypeError, match="rate_reserve"):
        _ = Core(TOKEN, rate_reserve=True)
