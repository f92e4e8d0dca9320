"""The caller's time within an attempt: when an attempt must end, and the caller's own
awaitables (a token provider, an async hook) held to that end, then left behind."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable
from typing import Any

__all__ = ["LATE", "attempt_ends", "in_time", "within"]


async def in_time(returned: object, ends: float) -> bool:
    """Whether a hook's return value, awaited if it is awaitable, was done by ``ends``."""
    return not inspect.isawaitable(returned) or await within(returned, ends) is not LATE


def attempt_ends(deadline: float | None, attempt: int, timeout: float) -> float:
    """When an attempt must be over (monotonic): limiter waits, the caller's awaited hooks
    and token provider, and the request all end by then. The budget's end for a retry
    (the call ends within it); the first attempt may also use one whole timeout, and
    without a budget each attempt ends within its timeout."""
    if deadline is None or attempt == 1:
        return max(deadline or 0.0, time.monotonic() + timeout)
    return deadline


class _Late:
    """What ``within`` answers for an awaitable still pending at the deadline."""


LATE: Any = _Late()
# Awaitables of the caller's left behind at a deadline: held until they end (a task
# nobody references may be collected while pending), their outcome read and dropped.
_LEFT_BEHIND: set[asyncio.Future[Any]] = set()


async def within(awaitable: Awaitable[Any], ends: float) -> Any:
    """What ``awaitable`` (the caller's: a token provider, an async hook) returns, or
    ``LATE`` once ``ends`` passes; then it is cancelled and left behind, not waited
    for (it may ignore the cancellation). An exception it raises propagates."""
    task = asyncio.ensure_future(awaitable)
    if not task.done():
        try:
            _ = await asyncio.wait((task,), timeout=max(ends - time.monotonic(), 0.0))
        except asyncio.CancelledError:
            _ = task.cancel()
            raise
        if not task.done():
            _ = task.cancel()
            _LEFT_BEHIND.add(task)
            task.add_done_callback(_forget)
            return LATE
    return task.result()


def _forget(task: asyncio.Future[Any]) -> None:
    _LEFT_BEHIND.discard(task)
    if not task.cancelled():
        _ = task.exception()  # read, so asyncio does not log it as never retrieved
