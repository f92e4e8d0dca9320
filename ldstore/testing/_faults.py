"""Faults to inject: what can go wrong between a client and the API, and when it happens."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from ldstore.testing._routes import OPERATION_IDS

_BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
    "<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@attrs.frozen
class ServerError:
    """A 5xx from a proxy or load balancer: by default an HTML page, not JSON."""

    status: int = 502
    body: str = _BAD_GATEWAY
    content_type: str = "text/html"


@attrs.frozen
class DropConnection:
    """Headers promise a longer body than is sent, then the connection closes.

    An answer without a body (a 204) is lost before its status line instead. aiohttp's
    client retries an idempotent request (GET, DELETE) once when that happens.
    """


@attrs.frozen
class Hang:
    """No answer at all, until the client gives up or the fake shuts down."""


@attrs.frozen
class MalformedJSON:
    """A 200 `application/json` whose body is cut short."""


@attrs.frozen
class Latency:
    """The normal answer, `seconds` late."""

    seconds: float = attrs.field(validator=attrs.validators.ge(0))


@attrs.frozen
class RateLimited:
    """An IP-based limit's 429: `Retry-After: retry_after` and, if set, a reset `reset_in` ahead.

    LaunchDarkly sends `Retry-After` only for its IP-based limits; the fake's `rate_limit`
    and `route_rate_limits` answer with the `X-Ratelimit-*` headers alone.
    """

    retry_after: float = 1
    reset_in: float | None = None


Fault: TypeAlias = ServerError | DropConnection | Hang | MalformedJSON | Latency | RateLimited
When: TypeAlias = Literal["before", "after"]


@attrs.define
class _Entry:
    fault: Fault
    times: int | None
    every: int | None
    operation: str | None
    when: When
    seen: int = 0
    fired: int = 0

    def fires(self, when: When, operation_id: str | None) -> bool:
        """Count a matching request; True when this one gets the fault."""
        if when != self.when or self.operation not in (None, operation_id):
            return False
        self.seen += 1
        if self.every is not None and self.seen % self.every != 0:
            return False
        self.fired += 1
        return True

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times


class FaultSchedule:
    """Scheduled faults, first scheduled first served; a request meets at most one."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def add(
        self,
        fault: Fault,
        *,
        times: int | None,
        every: int | None,
        operation: str | None,
        when: When,
    ) -> None:
        """See `FakeLaunchDarkly.schedule`."""
        if times is not None and times < 1:
            message = f"times must be at least 1 (or None for ever), not {times}"
            raise ValueError(message)
        if every is not None and every < 1:
            message = f"every must be at least 1, not {every}"
            raise ValueError(message)
        if operation is not None and operation not in OPERATION_IDS:
            message = f"operation must be an operationId, not {operation!r}"
            raise ValueError(message)
        if when not in ("before", "after"):
            message = f"when must be 'before' or 'after', not {when!r}"
            raise ValueError(message)
        self._entries.append(_Entry(fault, times, every, operation, when))

    def take(self, when: When, operation_id: str | None) -> Fault | None:
        """The fault for this request at this point, if one is due."""
        for entry in self._entries:
            if entry.fires(when, operation_id):
                if entry.spent:
                    self._entries.remove(entry)
                return entry.fault
        return None

    def clear(self) -> None:
        """Drop every scheduled fault."""
        self._entries.clear()
