"""What is retried and how long to wait between attempts (backoff plus the server's hints)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar, cast

# At import, not on the first retry: a retry is what a process short of file descriptors
# makes, and an import then (it opens files) would raise OSError out of a func.
import backoff

from ldstore.core import RetryConfig
from ldstore.errors import (
    APIError,
    ConnectionFailedError,
    ConnectionLostError,
    LDStoreError,
    RateLimitedError,
    RequestTimeoutError,
)
from ldstore.result import Err

__all__ = ["MIN_ATTEMPT_TIME", "retrying", "should_retry"]

T = TypeVar("T")
# An attempt answers a value (the transport's response) or an Err; never an Ok.
Attempt = Callable[[], Awaitable[T | Err[LDStoreError]]]

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# The least time worth giving another attempt: with less left, the last answer stands.
MIN_ATTEMPT_TIME = 0.05
_rng = random.SystemRandom()


def should_retry(result: object, config: RetryConfig, *, idempotent: bool) -> bool:
    """Whether another attempt is safe and useful, ignoring the time budget.

    ``idempotent``: whether repeating a request that may have been applied is harmless
    (a GET, a DELETE, a PATCH guarded by a ``test`` op); a create, or a PATCH whose
    ``add /tags/-`` would apply twice, is not.
    """
    if not isinstance(result, Err):
        return False
    error = cast("Err[LDStoreError]", result).error
    if isinstance(error, RateLimitedError):
        return True  # refused before any work was done: always safe
    if isinstance(error, ConnectionFailedError):
        return config.retry_connection_errors  # never reached the server
    # From here the request may have reached the server: it could be applied twice.
    safe = idempotent or config.retry_non_idempotent
    if isinstance(error, APIError):
        # 409 is not retried: a duplicate name or a lost update only the caller can resolve.
        # 3xx neither: the API does not redirect, and redirects are never followed.
        return safe and error.status_code in _RETRYABLE_STATUS
    if isinstance(error, RequestTimeoutError | ConnectionLostError):
        return safe and config.retry_connection_errors
    return False  # the caller's input, a bad body, an unexpected failure: the same again


def server_floor(result: object) -> float | None:
    """The wait the server asked for on this answer, if any (already clamped)."""
    error = cast("Err[LDStoreError]", result).error if isinstance(result, Err) else None
    if isinstance(error, RateLimitedError):
        return error.retry_after
    return None


class _Policy:
    """One call's retry decisions: whether to go again and, in the same step, how long to wait.

    Deciding both together is what keeps a call inside its budget: a retry is only
    worth it when its wait and a useful attempt still fit before the deadline.
    """

    def __init__(self, config: RetryConfig, *, idempotent: bool, deadline: float) -> None:
        self.config = config
        self.idempotent = idempotent
        self.deadline = deadline
        self.ceiling = config.initial_interval
        self.next_wait = 0.0

    def worth_it(self, result: object) -> bool:
        if not should_retry(result, self.config, idempotent=self.idempotent):
            return False
        # Grown step by step and capped, so no number of attempts can overflow.
        ceiling = self.ceiling
        self.ceiling = min(self.config.max_interval, ceiling * self.config.exponent)
        floor = server_floor(result)
        if floor is None:
            wait = _rng.uniform(ceiling / 2, ceiling)  # equal jitter: spread, never zero
        else:
            wait = floor + _rng.uniform(0, ceiling / 2)  # Retry-After is a floor; jitter above
        left = self.deadline - time.monotonic() - MIN_ATTEMPT_TIME
        if (floor or 0.0) > left or left <= 0:
            # The server's wait (or any attempt) no longer fits: answer now, not early.
            return False
        self.next_wait = min(wait, left)
        return True


def _waits(policy: _Policy) -> Generator[float, Any, None]:
    # backoff primes the generator, then sends in each attempt's Result; the policy has
    # computed the wait when it decided to retry.
    _ = yield 0.0
    while True:
        _ = yield policy.next_wait


async def retrying(  # noqa: PLR0913 (one call's whole retry context)
    attempt: Attempt[T],
    config: RetryConfig,
    *,
    idempotent: bool,
    deadline: float,
    logger: logging.Logger,
    operation_id: str,
    first: T | Err[LDStoreError] | None = None,
) -> T | Err[LDStoreError]:
    """Run ``attempt`` until it succeeds, is not worth retrying, or the budget is spent.

    ``deadline`` is the monotonic time by which the call must end (``inf``: no budget).
    The first attempt runs without backoff's machinery: most calls need no retry.
    ``first``: the first attempt's answer when the caller has already made it.
    """
    if first is None:
        first = await attempt()
    if not isinstance(first, Err) or config.max_attempts == 1:
        return cast("T | Err[LDStoreError]", first)  # type: ignore[redundant-cast]  # pyright needs it: T narrowed by isinstance
    failed: Err[LDStoreError] = cast("Err[LDStoreError]", first)
    policy = _Policy(config, idempotent=idempotent, deadline=deadline)
    if not policy.worth_it(failed):
        return failed

    # backoff starts with a call: it replays the first answer, already decided on.
    pending: list[T | Err[LDStoreError]] = [failed]
    decided = [True]

    async def again() -> T | Err[LDStoreError]:
        return pending.pop() if pending else await attempt()

    def predicate(result: T | Err[LDStoreError]) -> bool:
        return decided.pop() if decided else policy.worth_it(result)

    def on_backoff(details: Any) -> None:
        logger.info(
            "%s: attempt %d failed (%s); retrying in %.2fs",
            operation_id,
            details["tries"],
            details["value"].error,
            details["wait"],
            # The same facts, structured, for a handler that words its own line (the CLI).
            extra={
                "ldstore_retry": {
                    "operation_id": operation_id,
                    "attempt": details["tries"],
                    "wait": details["wait"],
                    "error": details["value"].error,
                    "max_attempts": config.max_attempts,
                }
            },
        )

    retried = backoff.on_predicate(
        _waits,
        predicate=predicate,
        max_tries=config.max_attempts,
        jitter=None,  # our policy jitters above the server's floor, never below
        on_backoff=on_backoff,
        logger=None,
        policy=policy,
    )(again)
    result: T | Err[LDStoreError] = await retried()
    return result
