"""The Core's rate limiter as an interface: what a limiter shared by processes would implement.

Every attempt a Core sends goes through its limiter, in three steps (``_transport.py``)::

    permit = limiter.try_acquire(operation_id)          # at once, or None
    if permit is None:
        permit = await limiter.acquire(operation_id, deadline)   # or Held: not sent
    ...                                                 # send the attempt
    limiter.release(permit, status, response_headers)   # always, even on failure

``route`` is the operationId (a route's own limit is counted under it), ``deadline`` the
attempt's ``time.monotonic()`` deadline: a limiter never makes a call wait past it, and
returns ``Held`` instead (``Held.wait``: the known wait, ``Held.reserve``: held only by
``rate_reserve``), which the call turns into ``Err(RateLimitedError)`` with nothing sent.
``release`` gets the answer's status and headers (``None`` when no answer came) to learn
``X-Ratelimit-Global-Remaining``, ``X-Ratelimit-Route-Remaining`` and ``X-Ratelimit-Reset``
from; it must not raise. ``hold_reason`` names why a call would be held now, for tracers.

The built-in ``Limiter`` keeps its view of the account's window in the process. Processes
sharing an account each learn it from their own answers; a backend that kept that view in
a shared store (one count per account, not per process) would implement ``RateLimiter``.
Core does not take one yet: this is the seam, documented and type-checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeVar

from ldstore._limiter import Held, Limiter, Permit

__all__ = ["Held", "Limiter", "Permit", "PermitT", "RateLimiter"]

PermitT = TypeVar("PermitT")
"""What a limiter hands out and takes back: opaque to the caller."""


class RateLimiter(Protocol[PermitT]):
    """Admits each attempt of a Core's calls, and learns from each answer.

    ``Limiter`` (``RateLimiter[Permit]``) is the built-in one.
    """

    def try_acquire(self, route: str) -> PermitT | None:
        """A permit at once, or None when the call must ``await acquire()``; never waits."""
        ...

    async def acquire(self, route: str, deadline: float) -> PermitT | Held:
        """A permit, waiting at most until ``deadline`` (monotonic seconds), else ``Held``."""
        ...

    def release(
        self, permit: PermitT, status: int | None, headers: Mapping[str, str] | None
    ) -> None:
        """Give the permit back and learn from the answer (``None``: no answer came)."""
        ...

    def hold_reason(self, route: str) -> str:
        """Why a call on ``route`` would be held now, in a word, for tracers."""
        ...
