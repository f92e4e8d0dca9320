"""The Core's limiter: a cap on calls in flight and a shared view of the rate-limit window.

LaunchDarkly's limits are shared by every token of the account and reset every ten
seconds (reference page, "Rate limits"). Each response says how many requests are left
(``X-Ratelimit-Global-Remaining``, ``X-Ratelimit-Route-Remaining``) and when the window
resets (``X-Ratelimit-Reset``, epoch ms). The limiter spends that budget across all the
Core's concurrent calls and holds calls back when it is gone, instead of letting each
call draw its own 429. When the budget is unknown (first call, new window) one call
probes it while the others wait for its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["Limiter", "Permit", "requested_wait"]

_GLOBAL = ""
_HEADERS = {True: "X-Ratelimit-Global-Remaining", False: "X-Ratelimit-Route-Remaining"}


@attrs.define
class _Window:
    remaining: int | None = None  # None: unknown until a probe's answer says
    reset_at: float = 0.0  # wall-clock epoch seconds
    probing: bool = False
    unlimited: bool = False  # the server sent no header for this scope


@attrs.frozen
class Permit:
    """One attempt's admission; give it back with ``Limiter.release``."""

    route: str
    probes: tuple[str, ...]  # the scopes whose budget this attempt is probing
    counted: bool  # whether it holds a place under max_in_flight


class Limiter:
    """Shared by every call on one Core; a held-back call waits, it never fails."""

    def __init__(self, *, max_in_flight: int | None, rate_limit_aware: bool) -> None:
        self.max_in_flight = max_in_flight
        self.rate_limit_aware = rate_limit_aware
        self._in_flight = 0
        self._windows: dict[str, _Window] = {}
        self._paused_until = 0.0  # monotonic; set by a 429's Retry-After
        self._free: dict[str, Permit] = {}  # per route: a permit that probes and counts nothing
        self._changed: asyncio.Event | None = None

    def __repr__(self) -> str:
        return (
            f"Limiter(max_in_flight={self.max_in_flight}, rate_limit_aware={self.rate_limit_aware})"
        )

    def try_acquire(self, route: str) -> Permit | None:
        """A permit at once, or None when the call has to ``await acquire()``.

        Most calls are admitted at once: this spares them a coroutine, and when nothing
        limits them (no cap, no pause, both scopes known to be unlimited) the bookkeeping.
        """
        if self.max_in_flight is None:
            global_window = self._windows.get(_GLOBAL)
            route_window = self._windows.get(route)
            if not self.rate_limit_aware or (
                global_window is not None
                and global_window.unlimited
                and route_window is not None
                and route_window.unlimited
                and self._paused_until <= time.monotonic()
            ):
                permit = self._free.get(route)
                if permit is None:
                    permit = self._free[route] = Permit(route=route, probes=(), counted=False)
                return permit  # what _take would build: nothing to probe or count
        return self._take(route) if self._delay(route) == 0.0 else None

    async def acquire(self, route: str) -> Permit:
        while True:
            delay = self._delay(route)
            if delay == 0.0:
                return self._take(route)
            # A timeout means the window reset or the pause ended: look again.
            with contextlib.suppress(asyncio.TimeoutError):
                _ = await asyncio.wait_for(self._event().wait(), timeout=delay)

    def release(
        self, permit: Permit, status: int | None, headers: Mapping[str, str] | None
    ) -> None:
        """Give the place back and learn from the response's rate-limit headers, if any."""
        if permit.counted:
            self._in_flight -= 1
        for scope in permit.probes:
            self._window(scope).probing = False
        if (
            self.rate_limit_aware
            and headers is not None
            and (
                permit.probes
                or status == 429  # noqa: PLR2004 (HTTP 429 Too Many Requests)
                or _HEADERS[True] in headers
                or _HEADERS[False] in headers
            )
        ):  # otherwise the usual answer once the scopes are known: nothing to learn
            self._observe(permit, status, headers)
        if self._changed is not None:  # someone waits
            self._notify()

    def _delay(self, route: str) -> float | None:
        """0 to go now, seconds to wait for, or None to wait for another call's answer."""
        if self.max_in_flight is not None and self._in_flight >= self.max_in_flight:
            return None
        if not self.rate_limit_aware:
            return 0.0
        pause = self._paused_until - time.monotonic()
        if pause > 0:
            return pause
        now = time.time()
        longest = 0.0
        for scope in (_GLOBAL, route):
            window = self._window(scope)
            if window.unlimited:
                continue
            if window.remaining is not None and now >= window.reset_at:
                window.remaining = None  # a new window: its budget is unknown again
            if window.remaining is None:
                if window.probing:
                    return None
            elif window.remaining <= 0:
                longest = max(longest, window.reset_at - now)
        return longest

    def _take(self, route: str) -> Permit:
        probes: list[str] = []
        if self.rate_limit_aware:
            for scope in (_GLOBAL, route):
                window = self._window(scope)
                if window.unlimited:
                    continue
                if window.remaining is None:
                    window.probing = True
                    probes.append(scope)
                else:
                    window.remaining -= 1
        counted = self.max_in_flight is not None
        if counted:
            self._in_flight += 1
        return Permit(route=route, probes=tuple(probes), counted=counted)

    def _observe(self, permit: Permit, status: int | None, headers: Mapping[str, str]) -> None:
        reset_at = _epoch_seconds(headers.get("X-Ratelimit-Reset"))
        for scope in (_GLOBAL, permit.route):
            window = self._window(scope)
            remaining = _integer(headers.get(_HEADERS[scope == _GLOBAL]))
            if remaining is None:
                # Only a probe's answer may conclude that this scope is not limited.
                window.unlimited = window.unlimited or scope in permit.probes
                continue
            window.unlimited = False
            new_window = reset_at is not None and reset_at > window.reset_at
            if scope in permit.probes or window.remaining is None or new_window:
                window.remaining = remaining
            else:
                # Our count already spends the calls still in flight; the server's may not.
                window.remaining = min(window.remaining, remaining)
            window.reset_at = reset_at if reset_at is not None else time.time() + 10.0
        if status == 429:  # noqa: PLR2004 (HTTP 429 Too Many Requests)
            wait = requested_wait(headers) or 0.0
            self._paused_until = max(self._paused_until, time.monotonic() + wait)
            for scope in (_GLOBAL, permit.route):
                self._window(scope).remaining = None

    def _window(self, scope: str) -> _Window:
        window = self._windows.get(scope)
        if window is None:
            window = self._windows[scope] = _Window()
        return window

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None  # waiters hold the set event; new waiters get a new one


def _integer(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def requested_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait, or None: the longer of ``Retry-After``
    (seconds or an HTTP date) and ``X-Ratelimit-Reset`` (epoch milliseconds)."""
    waits: list[float] = []
    retry_after = headers.get("Retry-After")
    if retry_after is not None:
        try:
            waits.append(float(retry_after))
        except ValueError:
            try:
                when = parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):
                pass  # unparseable: as if absent
            else:
                waits.append(when.timestamp() - time.time())
    reset_at = _epoch_seconds(headers.get("X-Ratelimit-Reset"))
    if reset_at is not None:
        waits.append(reset_at - time.time())
    return max(0.0, *waits) if waits else None


def _epoch_seconds(value: str | None) -> float | None:
    millis = _integer(value)
    return millis / 1000 if millis is not None else None
