"""``apply``'s progress line on a terminal: changes done, and the rate limit's wait."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import sys
import time
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, TextIO

import attrs

from ldstore.errors import RateLimitedError

if TYPE_CHECKING:  # the SDK (aiohttp) loads when apply runs
    import aiohttp

    from ldstore.core import Core, HookContext, Hooks

__all__ = ["ApplyProgress"]

_WRITES = frozenset(
    {
        "createBigSegmentStoreIntegration",
        "patchBigSegmentStoreIntegration",
        "deleteBigSegmentStoreIntegration",
    }
)
_REMAINING = ("X-Ratelimit-Global-Remaining", "X-Ratelimit-Route-Remaining")
_TICK = 0.5  # seconds between redraws while nothing is answered (a rate-limit wait)


class ApplyProgress:
    """The line ``apply`` keeps updated on a terminal: changes done of the total, and while
    the rate limit holds calls back, ``waiting 4 s for the rate limit``.

    It learns from the Core's hooks (added to the ones it has): every answer's
    ``X-Ratelimit-*-Remaining`` and ``X-Ratelimit-Reset``, and a 429's wait.
    """

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._total = total
        self._done = 0
        self._wait_until = 0.0  # monotonic
        self._width = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def shown(cls, core: Core, total: int, *, live: bool) -> AsyncGenerator[None]:
        """Show the line on ``sys.stderr`` while the block runs (nothing unless ``live``)."""
        if not live or total == 0:
            yield
            return
        progress = cls(sys.stderr, total)
        before = core.hooks
        core.hooks = progress.hooks(before)
        ticking = asyncio.create_task(progress.tick())
        try:
            yield
        finally:
            _ = ticking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticking
            core.hooks = before
            progress.finish()

    def hooks(self, inner: Hooks) -> Hooks:
        """``inner`` with this line's two hooks run after its own."""

        async def after_success(context: HookContext, response: aiohttp.ClientResponse) -> None:
            if inner.after_success is not None:
                _ = await _maybe_awaited(inner.after_success(context, response))
            self.answered(context.operation_id, response.headers)

        async def after_error(context: HookContext, error: Exception) -> None:
            if inner.after_error is not None:
                _ = await _maybe_awaited(inner.after_error(context, error))
            self.failed(error)

        return attrs.evolve(inner, after_success=after_success, after_error=after_error)

    def answered(self, operation_id: str, headers: Mapping[str, str]) -> None:
        if operation_id in _WRITES:
            self._done += 1
        remaining = [_count(headers.get(name)) for name in _REMAINING]
        reset = _count(headers.get("X-Ratelimit-Reset"))
        if 0 in remaining and reset is not None:
            self._wait_until = max(self._wait_until, time.monotonic() + reset / 1000 - time.time())
        self.draw()

    def failed(self, error: Exception) -> None:
        if isinstance(error, RateLimitedError) and error.retry_after:
            self._wait_until = max(self._wait_until, time.monotonic() + error.retry_after)
        self.draw()

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK)
            self.draw()

    def draw(self) -> None:
        line = f"applying: {min(self._done, self._total)} of {self._total} changes done"
        left = self._wait_until - time.monotonic()
        if left > 0:
            line += f"; waiting {math.ceil(left)} s for the rate limit"
        padding = " " * max(0, self._width - len(line))
        self._width = len(line)
        _ = self._stream.write(f"\r{line}{padding}")
        self._stream.flush()

    def finish(self) -> None:
        if self._width:
            _ = self._stream.write("\n")
            self._stream.flush()


def _count(value: str | None) -> int | None:
    """A header's non-negative integer, or None (absent or garbled)."""
    if value is None or not value.strip().isdigit() or len(value) > _MAX_DIGITS:
        return None
    return int(value)


_MAX_DIGITS = 18


async def _maybe_awaited(value: object) -> object:
    return await value if inspect.isawaitable(value) else value
