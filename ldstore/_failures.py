"""What a failed exchange means: the error value for an exception raised while talking
to the server, for a call the limiter or the caller's own code held past its budget, and
whether an attempt that failed may have reached the server."""

from __future__ import annotations

import asyncio

import aiohttp
import attrs
from yarl import URL

from ldstore._limiter import Held
from ldstore.errors import (
    APIError,
    ConnectionFailedError,
    ConnectionLostError,
    InputValidationError,
    LDStoreError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
)
from ldstore.result import Err

__all__ = [
    "deleted_earlier",
    "detail",
    "failure",
    "held_back",
    "late",
    "may_have_been_applied",
    "network",
]

_MAX_DETAIL = 300  # characters of an exception's text kept in an error message


def failure(error: Exception, method: str, url: URL) -> LDStoreError:
    """The error value for an exception raised while exchanging with the server."""
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return network(ConnectionFailedError, "timed out connecting to", method, url)
    if isinstance(error, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return network(RequestTimeoutError, "no full answer in time from", method, url)
    if isinstance(error, aiohttp.ClientConnectorError):
        return network(ConnectionFailedError, "could not connect to", method, url, error)
    if isinstance(error, aiohttp.InvalidURL):
        return InputValidationError(
            message=f"invalid server URL: {detail(error)}", field="server_url"
        )
    if isinstance(error, aiohttp.ClientError):
        # Disconnected, reset or a truncated body: the request may have been processed.
        return network(ConnectionLostError, "connection lost with", method, url, error)
    # Anything else is unexpected: still an answer, never an exception out of a func.
    return network(
        NetworkError, f"unexpected {type(error).__name__} while exchanging with", method, url, error
    )


def held_back(held: Held, method: str, url: URL) -> LDStoreError:
    if held.wait is not None and held.reserve:
        return RateLimitedError(
            message=f"rate limited: what is left of the account's rate-limit window is the"
            f" Core's rate_reserve, kept for other clients; it resets in {held.wait:.1f}s,"
            " longer than this call's budget allows; nothing was sent",
            status_code=429,
            retry_after=held.wait,
        )
    if held.wait is not None:
        return RateLimitedError(
            message=f"rate limited: the server asked to wait {held.wait:.1f}s, longer than"
            " this call's budget allows; nothing was sent",
            status_code=429,
            retry_after=held.wait,
        )
    return network(
        RequestTimeoutError,
        "held back by the Core's limiter until the call's budget ran out; nothing was sent to",
        method,
        url,
    )


def may_have_been_applied(error: LDStoreError) -> bool:
    if isinstance(error, APIError):
        return error.status_code >= 500  # noqa: PLR2004 (a server error may follow the work)
    return isinstance(error, RequestTimeoutError | ConnectionLostError)


def deleted_earlier(result: Err[LDStoreError]) -> Err[LDStoreError]:
    error = result.error
    if not isinstance(error, NotFoundError):
        return result
    note = "; it may already have been deleted by the earlier attempt, whose answer was lost"
    return Err(attrs.evolve(error, message=error.message + note))


def detail(error: BaseException) -> str:
    text = str(error)
    return text if len(text) <= _MAX_DETAIL else f"{text[:_MAX_DETAIL]}..."


def network(
    cls: type[NetworkError],
    what: str,
    method: str,
    url: URL,
    error: Exception | None = None,
) -> NetworkError:
    said = f": {detail(error)}" if error is not None and str(error) else ""
    return cls(
        message=f"{what} {url.host}:{url.port} ({method} {url.path}){said}",
        method=method,
        url=str(url),
    )


def late(what: str, method: str, url: URL, *, answered: int | None = None) -> LDStoreError:
    happened = "nothing was sent to" if answered is None else f"HTTP {answered} had come from"
    return network(
        RequestTimeoutError,
        f"{what} did not return within the call's budget; {happened}",
        method,
        url,
    )
