"""gather(): run many Result-returning calls at once and keep their Results in order."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import TypeVar

from ldstore.result import Result

__all__ = ["gather"]

T = TypeVar("T")
E = TypeVar("E")


async def gather(*calls: Awaitable[Result[T, E]], limit: int | None = None) -> list[Result[T, E]]:
    """Await every call concurrently; their Results, in the order given.

    An ``Err`` is a value like any other: it is returned in its place, never raised, and
    the other calls go on. At most ``limit`` calls run at once (``None``: all of them);
    pass coroutines, which start only when their turn comes. The Core's limiter still
    applies underneath: calls on one Core share its ``max_in_flight`` and its view of the
    rate-limit window, so ``limit`` is only needed to bound work outside the Core.

    If ``gather`` is cancelled, or a call raises (a hook's own exception, a bug), every
    call still running is cancelled and awaited before the exception propagates.

    >>> results = await gather(*(get_big_segment_store_integration(core, r) for r in requests))
    """
    if limit is not None and limit < 1:
        _close_unstarted(calls)
        msg = f"limit must be at least 1 or None, not {limit!r}"
        raise ValueError(msg)
    if not calls:
        return []
    semaphore = asyncio.Semaphore(limit) if limit is not None else None

    async def run(call: Awaitable[Result[T, E]]) -> Result[T, E]:
        if semaphore is None:
            return await call
        async with semaphore:
            return await call

    tasks = [asyncio.ensure_future(run(call)) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        # asyncio.gather leaves the others running when one raises: stop them all.
        for task in tasks:
            _ = task.cancel()
        _ = await asyncio.gather(*tasks, return_exceptions=True)
        _close_unstarted(calls)
        raise


def _close_unstarted(calls: tuple[Awaitable[object], ...]) -> None:
    # A coroutine cancelled before its turn was never awaited; closing it says that is
    # intended (otherwise Python warns "coroutine ... was never awaited").
    for call in calls:
        if inspect.iscoroutine(call) and inspect.getcoroutinestate(call) == inspect.CORO_CREATED:
            call.close()
