"""The watcher: polls on an interval and keeps what the metrics page shows between polls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from ldstore.errors import APIError, LDStoreError, RateLimitedError
from ldstore.result import Err, Ok, Result
from ldstore.text import printable
from ldstore.watch._poll import Filters, PollCache, PollOptions, Snapshot, poll
from ldstore.watch._stores import Store, StoresFile

if TYPE_CHECKING:
    import aiohttp

    from ldstore.core import Core, HookContext, Hooks

__all__ = ["DEFAULT_INTERVAL", "POLL_BUCKETS", "RequestCounter", "Watcher"]

DEFAULT_INTERVAL = 30.0  # seconds between the starts of two polls
# Poll durations (seconds) the histogram counts: a healthy poll takes well under a second.
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
NETWORK = "network"  # the status label of an attempt that got no HTTP answer
_LOG = logging.getLogger("ldstore")


@attrs.define
class RequestCounter:
    """API requests by the status of their answer (``network``: none came).

    ``hooks()`` counts every attempt, retries included, when the Core is built with
    them; otherwise the watcher counts the answer each call ended with.
    """

    counts: dict[str, int] = attrs.field(factory=dict[str, int])
    hooked: bool = False

    def hooks(self) -> Hooks:
        """Hooks for the watcher's Core that count each attempt."""
        from ldstore.core import Hooks  # noqa: PLC0415 - the Core loads aiohttp

        self.hooked = True
        return Hooks(after_success=self._success, after_error=self._error)

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1

    def count_result(self, result: Result[object, LDStoreError]) -> None:
        """Count a call's final answer, unless the hooks count its attempts."""
        if not self.hooked:
            self.add("200" if isinstance(result, Ok) else _status(result.error))

    def _success(self, _context: HookContext, response: aiohttp.ClientResponse) -> None:
        self.add(str(response.status))

    def _error(self, _context: HookContext, error: Exception) -> None:
        self.add(_status(error))


def _status(error: object) -> str:
    return str(error.status_code) if isinstance(error, APIError) else NETWORK


@attrs.define
class Watcher:
    """Polls ``core`` every ``interval`` seconds and keeps the last findings.

    What changes: ``snapshot`` (the last successful poll's; kept when a poll fails),
    ``api_up`` (``None`` before the first poll; false after a poll the API did not
    answer, or answered with an error other than 429), ``last_success`` (epoch
    seconds), the poll-duration histogram and the request counts. ``version`` grows
    with every poll, so a page rendered from this state can be reused until it changes.
    """

    core: Core
    stores: StoresFile | Sequence[Store] = ()
    filters: Filters = attrs.field(factory=Filters)
    options: PollOptions = attrs.field(factory=PollOptions)
    interval: float = DEFAULT_INTERVAL
    requests: RequestCounter = attrs.field(factory=RequestCounter)
    cache: PollCache = attrs.field(factory=PollCache)
    snapshot: Snapshot | None = None
    api_up: bool | None = None
    last_success: float | None = None
    polls: dict[str, int] = attrs.field(factory=dict[str, int])
    durations: list[int] = attrs.field(factory=lambda: [0] * (len(POLL_BUCKETS) + 1))
    duration_sum: float = 0.0
    version: int = 0
    retry_at: float = 0.0  # monotonic time before which the server asked us not to call
    log_failures: bool = True  # a warning on the ldstore logger for each failed poll
    # Called after every poll (the metrics page renders itself then, not during a scrape).
    after_poll: list[Callable[[], object]] = attrs.field(factory=list[Callable[[], object]])
    _warned: set[int] = attrs.field(factory=set[int])

    @property
    def ready(self) -> bool:
        """Whether a poll has completed (whatever it found)."""
        return self.api_up is not None

    async def poll(self) -> Result[Snapshot, LDStoreError]:
        """One poll; the state is updated from its outcome, which is returned."""
        started = time.monotonic()
        result = await poll(
            self.core, self.stores, filters=self.filters, options=self.options, cache=self.cache
        )
        elapsed = time.monotonic() - started
        self.requests.count_result(result)
        match result:
            case Ok(snapshot):
                self.snapshot = snapshot
                self.api_up = True
                self.last_success = time.time()
                self._outcome("ok")
                self._warn_unmatched(snapshot)
            case Err(RateLimitedError(retry_after=wait) as error):
                # The API answered: it is up. The poll is skipped and the next one waits.
                self.api_up = True
                self.retry_at = started + elapsed + (wait or 0.0)
                self._outcome("rate_limited")
                self._log("poll skipped: %s", error)
            case Err(error):
                self.api_up = False
                self._outcome("error")
                self._log("poll failed: %s", error)
        self._observe(elapsed)
        self.version += 1
        for listener in self.after_poll:
            _ = listener()
        return result

    def next_poll_in(self, started: float) -> float:
        """Seconds from now until the next poll, for a poll that started at ``started``."""
        now = time.monotonic()
        return max(started + self.interval, self.retry_at) - now

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set, one poll at a time, each ``interval`` after the last began."""
        while not stop.is_set():
            started = time.monotonic()
            _ = await self.poll()
            wait = self.next_poll_in(started)
            if wait > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    _ = await asyncio.wait_for(stop.wait(), wait)

    def _log(self, text: str, error: LDStoreError) -> None:
        if self.log_failures:
            _LOG.warning(text, printable(str(error)))

    def _outcome(self, outcome: str) -> None:
        self.polls[outcome] = self.polls.get(outcome, 0) + 1

    def _observe(self, seconds: float) -> None:
        slot = next(
            (index for index, bound in enumerate(POLL_BUCKETS) if seconds <= bound),
            len(POLL_BUCKETS),
        )
        self.durations[slot] += 1
        self.duration_sum += seconds

    def _warn_unmatched(self, snapshot: Snapshot) -> None:
        for store in snapshot.unmatched:
            if id(store) not in self._warned:
                self._warned.add(id(store))
                where = f"line {store.line}: " if store.line else ""
                _LOG.warning(
                    "stores file %s%s names no integration the API lists",
                    where,
                    printable(store.label),
                )
