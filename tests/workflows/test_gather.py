"""gather: Results in order, Errs in place, a concurrency limit, cancellation of the rest."""

from __future__ import annotations

import asyncio

import pytest
from sdk import core_for, get_request, seed_redis

from ldstore import Err, Ok, Result
from ldstore.errors import NotFoundError
from ldstore.funcs import get_big_segment_store_integration
from ldstore.testing import FakeLaunchDarkly
from ldstore.workflows import gather


async def test_results_come_back_in_order_with_errs_in_place(fake: FakeLaunchDarkly) -> None:
    """Each call's Result is at its call's index; an Err is returned, not raised."""
    first = seed_redis(fake, "First")
    second = seed_redis(fake, "Second")

    async with core_for(fake) as core:
        results = await gather(
            get_big_segment_store_integration(core, get_request(second)),
            get_big_segment_store_integration(core, get_request("missing")),
            get_big_segment_store_integration(core, get_request(first)),
        )

    assert [type(result) for result in results] == [Ok, Err, Ok]
    assert isinstance(results[0], Ok)
    assert results[0].value.name == "Second"
    assert isinstance(results[1], Err)
    assert isinstance(results[1].error, NotFoundError)
    assert isinstance(results[2], Ok)
    assert results[2].value.name == "First"


async def test_no_calls_give_an_empty_list() -> None:
    """gather() with nothing to do returns []."""
    assert await gather() == []


async def test_limit_bounds_how_many_calls_run_at_once() -> None:
    """With limit=3 no more than three calls are ever running together."""
    running = 0
    peak = 0

    async def call(index: int) -> Result[int, str]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return Ok(index)

    results = await gather(*(call(index) for index in range(12)), limit=3)

    assert [result.value for result in results] == list(range(12))
    assert peak == 3


async def test_cancelling_gather_cancels_every_call() -> None:
    """Cancellation propagates: running calls get CancelledError, waiting ones never start."""
    started: list[int] = []
    cancelled: list[int] = []

    async def call(index: int) -> Result[int, str]:
        started.append(index)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(index)
            raise
        return Ok(index)

    task = asyncio.ensure_future(gather(*(call(index) for index in range(5)), limit=2))
    await asyncio.sleep(0.05)
    _ = task.cancel()

    with pytest.raises(asyncio.CancelledError):
        _ = await task
    assert sorted(started) == [0, 1]
    assert sorted(cancelled) == [0, 1]


async def test_a_call_that_raises_cancels_the_rest_and_propagates() -> None:
    """An exception (not an Err) from one call cancels the others, then is raised."""
    cancelled: list[int] = []

    async def slow(index: int) -> Result[int, str]:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(index)
            raise
        return Ok(index)

    async def broken() -> Result[int, str]:
        await asyncio.sleep(0.01)
        message = "a hook's own bug"
        raise RuntimeError(message)

    with pytest.raises(RuntimeError, match="a hook's own bug"):
        _ = await gather(slow(0), broken(), slow(2))
    assert sorted(cancelled) == [0, 2]


async def test_a_limit_below_one_is_a_programming_error() -> None:
    """limit=0 raises ValueError and closes the calls it was given (no warning)."""

    async def call() -> Result[int, str]:
        return Ok(1)

    with pytest.raises(ValueError, match="limit must be at least 1"):
        _ = await gather(call(), call(), limit=0)
