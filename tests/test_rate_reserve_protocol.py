"""``ldstore.limiter.RateLimiter``: the seam a shared backend would implement, driven the way
the transport drives it, with the built-in ``Limiter`` behind it."""

from __future__ import annotations

import time
from typing import TypeVar

from ldstore import Core
from ldstore.limiter import Held, Limiter, Permit, RateLimiter

P = TypeVar("P")
ROUTE = "getBigSegmentStoreIntegration"


async def admit(limiter: RateLimiter[P], within: float) -> P | Held:
    """What the transport does before each attempt."""
    permit = limiter.try_acquire(ROUTE)
    if permit is not None:
        return permit
    return await limiter.acquire(ROUTE, time.monotonic() + within)


def answer(remaining: int, reset_in: float) -> dict[str, str]:
    reset = str(int((time.time() + reset_in) * 1000))
    return {"X-Ratelimit-Global-Remaining": str(remaining), "X-Ratelimit-Reset": reset}


def test_the_cores_limiter_is_a_rate_limiter() -> None:
    """A Core's limiter satisfies the protocol (checked by mypy and pyright here)."""
    limiter: RateLimiter[Permit] = Core("api-x", rate_reserve=0.5).limiter

    assert isinstance(limiter, Limiter)
    assert "rate_reserve=0.5" in repr(limiter)


async def test_the_protocol_holds_a_call_the_reserve_keeps_back() -> None:
    """Through the protocol only: a window of 4 with reserve 0.5 admits one more call, then
    holds the next (reason rate_reserve) with the reset's wait, and nothing is admitted."""
    limiter: RateLimiter[Permit] = Limiter(
        max_in_flight=None, rate_limit_aware=True, rate_reserve=0.5
    )

    probe = await admit(limiter, 1.0)
    assert isinstance(probe, Permit)
    limiter.release(probe, 200, answer(3, 30))
    second = await admit(limiter, 1.0)
    assert isinstance(second, Permit)
    limiter.release(second, 200, answer(2, 30))
    reason = limiter.hold_reason(ROUTE)
    started = time.monotonic()
    held = await admit(limiter, 1.0)

    assert isinstance(held, Held)
    assert held.reserve
    assert held.wait is not None
    assert 29 < held.wait <= 30
    assert reason == "rate_reserve"
    assert time.monotonic() - started < 0.5
