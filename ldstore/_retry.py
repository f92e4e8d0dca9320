"""What is retried and how long to wait between attempts (backoff plus the server's hints)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

from ldstore.core import RetryConfig
from ldstore.errors import (
    APIError,
    ConnectionFailedError,
    LDStoreError,
    NetworkError,
    RateLimitedError,
)
from ldstore.result import Err, Ok, Result

__all__ = ["retrying"]

T = TypeVar("T")
Attempt = Callable[[], Awaitable[Result[T, LDStoreError]]]

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
_rng = random.SystemRandom()


def should_retry(result: Result[Any, LDStoreError], config: RetryConfig, method: str) -> bool:
    """Whether another attempt is safe and useful, ignoring the time budget."""
    if not isinstance(result, Err):
        return False
    error = result.error
    if isinstance(error, RateLimitedError):
        return True  # refused before any work was done: always safe
    if isinstance(error, ConnectionFailedError):
        return config.retry_connection_errors  # never reached the server
    # From here the request may have reached the server: a create could be duplicated.
    safe = method in _IDEMPOTENT or config.retry_non_idempotent
    if isinstance(error, APIError):
        # 409 is not retried: a duplicate name or a lost update only the caller can resolve.
        return safe and error.status_code in _RETRYABLE_STATUS
    if isinstance(error, NetworkError):
        return safe and config.retry_connection_errors
    return False


def server_floor(result: Result[Any, LDStoreError]) -> float | None:
    """The wait the server asked for on this answer, if any."""
    if isinstance(result, Err) and isinstance(result.error, RateLimitedError):
        return result.error.retry_after
    return None


def _waits(config: RetryConfig) -> Generator[float, Any, None]:
    # backoff primes the generator, then sends in each attempt's Result.
    result = yield 0.0
    attempt = 0
    while True:
        ceiling = min(config.max_interval, config.initial_interval * config.exponent**attempt)
        floor = server_floor(result)
        if floor is None:
            wait = _rng.uniform(ceiling / 2, ceiling)  # equal jitter: spread, never zero
        else:
            wait = floor + _rng.uniform(
                0, ceiling / 2
            )  # Retry-After is a floor; jitter goes above it
        attempt += 1
        result = yield wait


async def retrying(
    attempt: Attempt[T],
    config: RetryConfig,
    *,
    method: str,
    logger: logging.Logger,
    operation_id: str,
) -> Result[T, LDStoreError]:
    """Run ``attempt`` until it succeeds, is not worth retrying, or the budget is spent.

    The first attempt runs without backoff's machinery: most calls need no retry.
    """
    started = time.monotonic()
    first = await attempt()
    if isinstance(first, Ok) or config.max_attempts == 1:
        return first
    if not _worth_it(first, config, method, started):
        return first

    # Imported here, not at the top: most calls never retry, and backoff costs
    # `import ldstore` a few milliseconds.
    import backoff  # noqa: PLC0415

    pending = [first]

    async def again() -> Result[T, LDStoreError]:
        return pending.pop() if pending else await attempt()

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

    spent = time.monotonic() - started
    retried = backoff.on_predicate(
        _waits,
        predicate=lambda result: _worth_it(result, config, method, started),
        max_tries=config.max_attempts,
        max_time=None if config.max_elapsed_time is None else config.max_elapsed_time - spent,
        jitter=None,  # our generator jitters above the server's floor, never below
        on_backoff=on_backoff,
        logger=None,
        config=config,
    )(again)
    result: Result[T, LDStoreError] = await retried()
    return result


def _worth_it(
    result: Result[Any, LDStoreError], config: RetryConfig, method: str, started: float
) -> bool:
    if not should_retry(result, config, method):
        return False
    floor = server_floor(result)
    if floor is None or config.max_elapsed_time is None:
        return True
    # A server's wait longer than the budget left: answer now rather than retry early.
    return time.monotonic() - started + floor <= config.max_elapsed_time
