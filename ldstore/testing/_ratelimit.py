"""LaunchDarkly's rate limits: fixed windows, counted per account and per route.

The reference page ("Rate limits") says the limits are shared by every token of the
account: the fake's global limit is one budget for all the tokens it accepts. A route or
global limit answers 429 with the ``X-Ratelimit-*`` headers only; ``Retry-After`` belongs
to LaunchDarkly's IP-based limits, which tests ask for with the ``RateLimited`` fault.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import attrs

from ldstore.testing._routes import OPERATION_IDS


@attrs.frozen
class RateLimit:
    """At most `limit` requests per fixed window of `window` seconds.

    LaunchDarkly's windows are ten seconds long; tests use shorter ones to stay fast. As a
    fake's global limit it is account-wide: every token the fake accepts spends from it.
    """

    limit: int = attrs.field(validator=attrs.validators.ge(0))
    window: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))


@attrs.define
class _Window:
    """One limit's counter; a window opens with the first request after the last one closed."""

    rule: RateLimit
    opened: float = -math.inf
    count: int = 0

    def hit(self, now: float) -> None:
        if now >= self.closes:
            self.opened = now
            self.count = 0
        self.count += 1

    @property
    def closes(self) -> float:
        return self.opened + self.rule.window

    @property
    def remaining(self) -> int:
        return max(0, self.rule.limit - self.count)

    @property
    def exceeded(self) -> bool:
        return self.count > self.rule.limit


@attrs.frozen
class Verdict:
    """The rate-limit headers for one answer, and whether it is a 429.

    A route or global limit's 429 carries these headers only, never ``Retry-After``
    (LaunchDarkly sends that for IP-based limits): a client learns the wait from
    ``X-Ratelimit-Reset``.
    """

    headers: dict[str, str]
    limited: bool = False


class RateLimiter:
    """Counts requests against the account-wide limit and the limit of their route."""

    def __init__(self, limit: RateLimit | None, route_limits: Mapping[str, RateLimit]) -> None:
        unknown = sorted(set(route_limits) - OPERATION_IDS)
        if unknown:
            message = f"route_rate_limits keys must be operationIds, not {unknown}"
            raise ValueError(message)
        self._limit = limit
        self._route_limits = dict(route_limits)
        self._global: _Window | None = None
        self._routes: dict[str, _Window] = {}
        self.reset()

    def reset(self) -> None:
        """Start every window afresh."""
        self._global = None if self._limit is None else _Window(self._limit)
        self._routes = {op: _Window(rule) for op, rule in self._route_limits.items()}

    def check(self, operation_id: str | None) -> Verdict:
        """Count one request; no limit that applies means no headers."""
        now = time.monotonic()
        headers: dict[str, str] = {}
        windows: list[_Window] = []
        if self._global is not None:
            self._global.hit(now)
            headers["X-Ratelimit-Global-Remaining"] = str(self._global.remaining)
            windows.append(self._global)
        route = self._routes.get(operation_id or "")
        if route is not None:
            route.hit(now)
            headers["X-Ratelimit-Route-Remaining"] = str(route.remaining)
            windows.append(route)
        if not windows:
            return Verdict(headers)
        # One Reset header for up to two windows: the one that binds soonest.
        binding = min(windows, key=lambda window: (window.remaining, -window.closes))
        wait = binding.closes - now
        headers["X-Ratelimit-Reset"] = str(math.ceil((time.time() + wait) * 1000))
        return Verdict(headers, limited=any(window.exceeded for window in windows))
