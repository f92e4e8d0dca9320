"""The Core's limiter: a cap on calls in flight and a shared view of the rate-limit window.

LaunchDarkly's limits are shared by every token of the account and reset every ten
seconds (reference page, "Rate limits"). Each response says how many requests are left
(``X-Ratelimit-Global-Remaining``, ``X-Ratelimit-Route-Remaining``) and when the window
resets (``X-Ratelimit-Reset``, epoch ms). The limiter spends that budget across all the
Core's concurrent calls and holds calls back when it is gone, instead of letting each
call draw its own 429. When the budget is unknown (first call, new window) one call
probes it while the others wait for its answer.

Every header is the server's word, so it is parsed here, once, by guarded functions that
never raise and clamp what they return (``requested_wait``, ``reset_at``, ``remaining``);
the retry layer sees the same values through ``RateLimitedError.retry_after``. No wait the
limiter imposes outlasts the deadline of the call it holds: a longer one is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime

import attrs
from multidict import istr

__all__ = [
    "MAX_SERVER_WAIT",
    "Held",
    "Limiter",
    "Permit",
    "remaining",
    "requested_wait",
    "reset_at",
]

# The longest wait any header can ask for, in seconds. LaunchDarkly's windows last ten
# seconds; a larger value is a broken or hostile server, and an hour bounds what it costs.
MAX_SERVER_WAIT = 3600.0
# When remaining <= 0 comes without a usable reset, assume LaunchDarkly's 10-second window.
_DEFAULT_WINDOW = 10.0

_GLOBAL = ""
# istr: aiohttp's case-insensitive headers look these up without lowercasing them first
# (a fifth of the cost, twice per answer); a plain dict sees the same strings.
_HEADERS = {
    True: istr("X-Ratelimit-Global-Remaining"),
    False: istr("X-Ratelimit-Route-Remaining"),
}
_RETRY_AFTER = istr("Retry-After")
_RESET = istr("X-Ratelimit-Reset")
# Header grammars, each bounded in length so no value costs more than a few microseconds.
_SECONDS = re.compile(r"\s*([0-9]{1,12}(?:\.[0-9]{1,12})?(?:[eE][-+]?[0-9]{1,3})?)\s*")
_MILLIS = re.compile(r"\s*([0-9]{1,16})\s*")  # 16 digits: epoch ms until year 318857
_COUNT = re.compile(r"\s*(-?[0-9]{1,12})\s*")
_MAX_DATE = 64  # characters of an HTTP date worth parsing
_MAX_COUNT = 1_000_000_000


@attrs.define
class _Window:
    remaining: int | None = None  # None: unknown until a probe's answer says
    reset_at: float = 0.0  # wall-clock epoch seconds
    probing: bool = False
    unlimited: bool = False  # the server sent no header for this scope
    in_flight: int = 0  # admitted under this scope and not yet answered
    # The window's whole budget: its answers' largest remaining + 1 (LaunchDarkly sends no
    # total); None until an answer in this window says.
    budget: int | None = None
    # The last window's: the account's budget does not change between windows, and a
    # client that first answered late in a window (others had spent) learned too little.
    last_budget: int | None = None

    def known_budget(self) -> int | None:
        """The larger of this window's budget and the last one's, as far as known."""
        if self.budget is None or self.last_budget is None:
            return self.budget if self.last_budget is None else self.last_budget
        return max(self.budget, self.last_budget)

    def roll(self) -> None:
        """A new window: its remaining and budget are unknown; the last budget is kept."""
        self.remaining = None
        if self.budget is not None:
            self.last_budget = self.budget
        self.budget = None


@attrs.frozen
class Permit:
    """One attempt's admission; give it back with ``Limiter.release``."""

    route: str
    probes: tuple[str, ...]  # the scopes whose budget this attempt is probing
    counted: bool  # whether it holds a place under max_in_flight
    scopes: tuple[str, ...] = ()  # the limited scopes it was admitted under


@attrs.frozen
class Held:
    """No admission before the call's deadline; ``wait`` is the known wait (None: unknown).

    ``reserve``: the wait is for the account's budget beyond the Core's ``rate_reserve``.
    """

    wait: float | None
    reserve: bool = False


class Limiter:
    """Shared by every call on one Core; a held-back call waits until its own deadline."""

    def __init__(
        self, *, max_in_flight: int | None, rate_limit_aware: bool, rate_reserve: float = 0.0
    ) -> None:
        self.max_in_flight = max_in_flight
        self.rate_limit_aware = rate_limit_aware
        # The share of the account's global budget left untouched for other clients.
        self.rate_reserve = rate_reserve
        self._in_flight = 0
        self._windows: dict[str, _Window] = {}
        self._paused_until = 0.0  # monotonic; set by a 429's Retry-After
        # Per route whose scopes are known to be unlimited (and no pause): a permit that
        # probes and counts nothing, handed out at once until _observe learns otherwise.
        self._free: dict[str, Permit] = {}
        self._changed: asyncio.Event | None = None
        self._changed_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return (
            f"Limiter(max_in_flight={self.max_in_flight}, rate_limit_aware={self.rate_limit_aware},"
            f" rate_reserve={self.rate_reserve})"
        )

    def try_acquire(self, route: str) -> Permit | None:
        """A permit at once, or None when the call has to ``await acquire()``.

        Most calls are admitted at once: this spares them a coroutine, and when nothing
        limits them (no cap, no pause, both scopes known to be unlimited) the bookkeeping.
        """
        permit = self._free.get(route)
        if permit is not None:
            return permit  # nothing limits this route, as of the last answer that said
        if self.max_in_flight is None and (not self.rate_limit_aware or self._unlimited(route)):
            # What _take would build: nothing to probe or count. Kept until an answer
            # with rate-limit headers (or a 429) is observed.
            permit = self._free[route] = Permit(route=route, probes=(), counted=False)
            return permit
        return self._take(route) if self._delay(route) == 0.0 else None

    def _unlimited(self, route: str) -> bool:
        """Whether both scopes are known to be unlimited and no 429 pause is running."""
        global_window = self._windows.get(_GLOBAL)
        route_window = self._windows.get(route)
        return (
            global_window is not None
            and global_window.unlimited
            and route_window is not None
            and route_window.unlimited
            and self._paused_until <= time.monotonic()
        )

    async def acquire(self, route: str, deadline: float) -> Permit | Held:
        """A permit, or ``Held`` when none can come before ``deadline`` (monotonic seconds).

        A known wait (a pause, a spent window) longer than the time left is refused at
        once; a wait for another call's answer (a probe, a place under the cap) lasts at
        most until the deadline.
        """
        while True:
            delay = self._delay(route)
            if delay == 0.0:
                return self._take(route)
            left = deadline - time.monotonic()
            if delay is not None and delay > left:
                return Held(delay, reserve=self._reserved_only(route))
            if left <= 0:
                return Held(None)
            # A timeout means the window reset, the pause ended or the deadline came: look again.
            with contextlib.suppress(asyncio.TimeoutError):
                _ = await asyncio.wait_for(
                    self._event().wait(), timeout=left if delay is None else delay
                )

    def release(
        self, permit: Permit, status: int | None, headers: Mapping[str, str] | None
    ) -> None:
        """Give the place back and learn from the response's rate-limit headers, if any.

        Waiters are woken whatever happens here: a call queued behind this one never
        stays pending because this answer was odd.
        """
        try:
            if permit.counted:
                self._in_flight -= 1
            for scope in permit.scopes:
                self._window(scope).in_flight -= 1
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
        finally:
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
                window.roll()  # a new window: its budget is unknown again
            if window.remaining is None:
                if window.probing:
                    return None
            elif window.remaining <= self._kept(scope, window):
                longest = max(longest, window.reset_at - now)
        return longest

    def hold_reason(self, route: str) -> str:
        """Why a call on ``route`` is held back now, in ``_delay``'s order, for a tracer:
        ``"max_in_flight"``, ``"paused"``, ``"rate_reserve"``, ``"window_spent"`` or ``"probing"``."""
        if self.max_in_flight is not None and self._in_flight >= self.max_in_flight:
            return "max_in_flight"
        if self._paused_until > time.monotonic():
            return "paused"
        if self._reserved_only(route):
            return "rate_reserve"
        for scope in (_GLOBAL, route):
            window = self._windows.get(scope)
            if (
                window is not None
                and not window.unlimited
                and window.remaining is not None
                and window.remaining <= 0
            ):
                return "window_spent"
        return "probing"

    def _kept(self, scope: str, window: _Window) -> float:
        """What a scope's remaining budget must not go below: the reserve's share of the
        account's (global) window, nothing on a route."""
        if scope != _GLOBAL or not self.rate_reserve:
            return 0.0  # the usual case, before any work
        budget = window.known_budget()
        return 0.0 if budget is None else self.rate_reserve * budget

    def _reserved_only(self, route: str) -> bool:
        """Whether the global window holds a call back only because of the reserve."""
        window = self._windows.get(_GLOBAL)
        if (
            window is None
            or window.remaining is None
            or window.remaining <= 0
            or self._paused_until > time.monotonic()
        ):
            return False
        route_window = self._windows.get(route)
        spent_route = (
            route_window is not None
            and route_window.remaining is not None
            and route_window.remaining <= 0
        )
        return not spent_route and window.remaining <= self._kept(_GLOBAL, window)

    def _take(self, route: str) -> Permit:
        probes: list[str] = []
        scopes: list[str] = []
        if self.rate_limit_aware:
            for scope in (_GLOBAL, route):
                window = self._window(scope)
                if window.unlimited:
                    continue
                window.in_flight += 1
                scopes.append(scope)
                if window.remaining is None:
                    window.probing = True
                    probes.append(scope)
                else:
                    window.remaining -= 1
        counted = self.max_in_flight is not None
        if counted:
            self._in_flight += 1
        return Permit(route=route, probes=tuple(probes), counted=counted, scopes=tuple(scopes))

    def _observe(self, permit: Permit, status: int | None, headers: Mapping[str, str]) -> None:
        self._free.clear()  # what admitted calls at once may no longer hold
        now = time.time()
        reset = reset_at(headers, now)
        for scope in (_GLOBAL, permit.route):
            window = self._window(scope)
            left = remaining(headers.get(_HEADERS[scope == _GLOBAL]))
            if left is None:
                # Only a probe's answer may conclude that this scope is not limited.
                window.unlimited = window.unlimited or scope in permit.probes
                continue
            window.unlimited = False
            new_window = reset is not None and reset > window.reset_at
            if new_window:
                window.roll()
            if reset is None or reset > now:  # an answer about a window already over says
                # nothing of this one. Its request spent one; an earlier answer saw more.
                window.budget = max(left + 1, window.budget or 0)
            # The calls still in flight may reach the server after it counted this answer
            # (a loaded client sends late): spend them from its count too.
            left -= window.in_flight
            if scope in permit.probes or window.remaining is None or new_window:
                window.remaining = left
            else:
                # Our count already spends the calls still in flight; the server's may not.
                window.remaining = min(window.remaining, left)
            # Without a usable reset, a spent budget lasts one ordinary window.
            window.reset_at = reset if reset is not None else now + _DEFAULT_WINDOW
        if status == 429:  # noqa: PLR2004 (HTTP 429 Too Many Requests)
            wait = requested_wait(headers, now) or 0.0
            self._paused_until = max(self._paused_until, time.monotonic() + wait)
            for scope in (_GLOBAL, permit.route):
                self._window(scope).remaining = None

    def _window(self, scope: str) -> _Window:
        window = self._windows.get(scope)
        if window is None:
            window = self._windows[scope] = _Window()
        return window

    def _event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._changed is None or self._changed_loop is not loop:
            # A Core reused in a new event loop: an Event is bound to the loop it waited in.
            self._changed = asyncio.Event()
            self._changed_loop = loop
        return self._changed

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None  # waiters hold the set event; new waiters get a new one


def remaining(value: str | None) -> int | None:
    """A ``X-Ratelimit-*-Remaining`` count, clamped to [0, 10⁹]; None when absent or garbled."""
    if value is None:
        return None
    match = _COUNT.fullmatch(value)
    if match is None:
        return None
    return min(max(int(match.group(1)), 0), _MAX_COUNT)


def reset_at(headers: Mapping[str, str], now: float) -> float | None:
    """``X-Ratelimit-Reset`` as epoch seconds, at most ``MAX_SERVER_WAIT`` after ``now``."""
    value = headers.get(_RESET)
    if value is None:
        return None
    match = _MILLIS.fullmatch(value)
    if match is None:
        return None
    return min(int(match.group(1)) / 1000, now + MAX_SERVER_WAIT)


def requested_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, in [0, ``MAX_SERVER_WAIT``], or None.

    The longer of ``Retry-After`` (seconds or an HTTP date) and ``X-Ratelimit-Reset``
    (epoch milliseconds). A value that does not parse counts as absent; this never raises.
    """
    now = time.time() if now is None else now
    waits: list[float] = []
    retry_after = headers.get(_RETRY_AFTER)
    if retry_after is not None:
        seconds = _retry_after(retry_after, now)
        if seconds is not None:
            waits.append(seconds)
    reset = reset_at(headers, now)
    if reset is not None:
        waits.append(reset - now)
    if not waits:
        return None
    return min(max(0.0, *waits), MAX_SERVER_WAIT)


def _retry_after(value: str, now: float) -> float | None:
    match = _SECONDS.fullmatch(value)
    if match is not None:
        seconds = float(match.group(1))
        return seconds if math.isfinite(seconds) else MAX_SERVER_WAIT
    if len(value) > _MAX_DATE:
        return None
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=timezone.utc)
        return when.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # unparseable: as if absent
