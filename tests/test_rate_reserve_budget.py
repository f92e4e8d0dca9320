"""The reserve's budget outlives its window: a Core that joins a window others have spent
still keeps the share of the account's whole budget, learned in an earlier window."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from hostile import core_at, get_request, integration, serve

from ldstore import Err, Ok, RetryConfig
from ldstore.errors import RateLimitedError
from ldstore.funcs import get_big_segment_store_integration


def _headers(remaining: int, reset_in: float) -> dict[str, str]:
    reset = str(int((time.time() + reset_in) * 1000))
    return {"X-Ratelimit-Global-Remaining": str(remaining), "X-Ratelimit-Reset": reset}


async def test_a_late_first_answer_does_not_shrink_the_reserve() -> None:
    """Window 1 says 9 left (a budget of 10); window 2's first answer says 3 left (others
    spent 6). Reserve 0.5 keeps 5 of the account's 10, not 2 of the 4 window 2 alone
    shows: the third call would spend the reserve, and its wait outlasts its budget, so it
    is Err(RateLimitedError) at once with nothing sent."""
    answers = iter([_headers(9, 0.2), _headers(3, 30)])

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.json_response(integration(), headers=next(answers))

    short = RetryConfig(max_elapsed_time=1.0)
    async with (
        serve(handler) as server,
        core_at(server.url, retry_config=short, rate_reserve=0.5) as core,
    ):
        first = await get_big_segment_store_integration(core, get_request())
        await asyncio.sleep(0.3)  # window 1 is over
        second = await get_big_segment_store_integration(core, get_request())
        started = time.monotonic()
        third = await get_big_segment_store_integration(core, get_request())
        took = time.monotonic() - started

    assert isinstance(first, Ok)
    assert isinstance(second, Ok)
    assert isinstance(third, Err)
    assert isinstance(third.error, RateLimitedError)
    assert took < 0.5
    assert len(server.hits) == 2


async def test_an_answer_about_a_window_already_over_teaches_no_budget() -> None:
    """Window 1 says 9 left (a budget of 10). The next answer left the server in a window
    now over (its reset has passed) saying 1 left: it is no budget. Window 3's first answer
    says 3 left; reserve 0.5 still keeps 5 of 10, so the fourth call is refused unsent."""
    answers = iter([_headers(9, 0.2), _headers(1, -0.5), _headers(3, 30)])

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.json_response(integration(), headers=next(answers))

    short = RetryConfig(max_elapsed_time=1.0)
    async with (
        serve(handler) as server,
        core_at(server.url, retry_config=short, rate_reserve=0.5) as core,
    ):
        first = await get_big_segment_store_integration(core, get_request())
        await asyncio.sleep(0.3)  # window 1 is over
        results = [await get_big_segment_store_integration(core, get_request()) for _ in range(3)]

    assert isinstance(first, Ok)
    assert [isinstance(result, Ok) for result in results] == [True, True, False]
    assert len(server.hits) == 3
