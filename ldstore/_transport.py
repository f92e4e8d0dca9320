"""URL, headers, one send and response -> Result; the only module that calls aiohttp."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ldstore._limiter import requested_wait
from ldstore._retry import retrying
from ldstore.core import Core, HookContext, HookRequest, RequestOptions, normalize_base_url
from ldstore.errors import (
    ConnectionFailedError,
    ConnectionLostError,
    InputValidationError,
    LDStoreError,
    RequestTimeoutError,
    api_error,
)
from ldstore.result import Err, Ok, Result

__all__ = ["RESOURCE", "RawResponse", "call", "resource_keys"]

RESOURCE = "/api/v2/integration-capabilities/big-segment-store"


def _user_agent() -> str:
    # Imported here, not at the top: importlib.metadata costs `import ldstore` ~10 ms.
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        release = version("ldstore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        release = "0+unknown"
    return f"ldstore/{release} aiohttp/{aiohttp.__version__}"


@functools.cache
def _headers(with_body: bool) -> CIMultiDictProxy[str]:  # noqa: FBT001 (one cached flag)
    """ldstore's own headers, built on the first call and never mutated (a call that changes
    them works on a copy)."""
    headers = CIMultiDict(
        {
            "LD-API-Version": "beta",  # without it the API answers 403 on beta resources
            "Accept": "application/json",
            "User-Agent": _user_agent(),
        }
    )
    if with_body:
        headers["Content-Type"] = "application/json"
    return CIMultiDictProxy(headers)


# quote(key, safe="") leaves exactly these characters alone; most keys are made of them.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")


@attrs.frozen
class RawResponse:
    """A success as received: the body is decoded by the caller, which knows the model."""

    status: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)


def resource_keys(**keys: object) -> Result[tuple[str, ...], LDStoreError]:
    """The path keys, in order, or an ``InputValidationError`` naming the bad one.

    Any character is allowed (it is percent-encoded); an empty key, ``.`` or ``..``
    would change which URL is called, so it is refused before anything is sent.
    """
    checked: list[str] = []
    for name, key in keys.items():
        if not isinstance(key, str):
            return Err(
                InputValidationError(
                    message=f"{name} must be a string, not {type(key).__name__}", field=name
                )
            )
        if key in {"", ".", ".."}:
            return Err(InputValidationError(message=f"{name} must not be {key!r}", field=name))
        checked.append(key)
    return Ok(tuple(checked))


async def call(  # noqa: PLR0913 (one call's whole description)
    core: Core,
    *,
    operation_id: str,
    method: str,
    keys: Sequence[str] = (),
    body: bytes | None = None,
    options: RequestOptions | None = None,
) -> Result[RawResponse, LDStoreError]:
    """Send one operation with the Core's (or the options') retries; 2xx is ``Ok``."""
    base_url = core.base_url
    timeout = core.timeout
    retry_config = core.retry_config
    headers: CIMultiDictProxy[str] | CIMultiDict[str] = _headers(body is not None)
    if options is not None:
        if options.server_url is not None:
            base_url = normalize_base_url(options.server_url)
        timeout = options.timeout if options.timeout is not None else timeout
        retry_config = options.retry_config or retry_config
        if options.headers:
            refused = _refuse_authorization(options.headers, "RequestOptions.headers")
            if refused is not None:
                return refused
            headers = CIMultiDict(headers)
            headers.update(options.headers)  # replaces ours case-insensitively

    if _UNRESERVED.fullmatch("".join(keys)):  # usual keys: one check instead of quote() each
        path = "/".join((RESOURCE, *keys))
    else:
        path = RESOURCE + "".join("/" + quote(key, safe="") for key in keys)
    url = _parsed(base_url)
    # yarl's "/" would re-quote our "%", and URL.join resolves "..": set the path whole.
    url = url.with_path(url.raw_path.rstrip("/") + path, encoded=True)
    exchange = _Exchange(
        core=core,
        operation_id=operation_id,
        method=method,
        url=url,
        headers=headers,
        body=body,
        timeout=_client_timeout(timeout),
    )
    return await retrying(
        exchange.attempt,
        retry_config,
        method=method,
        logger=core.logger,
        operation_id=operation_id,
    )


@attrs.define(kw_only=True)
class _Exchange:
    """One call's request, shared by its attempts, and how many attempts it has made.

    A class rather than a closure, which would allocate a cell per captured name on every
    call.
    """

    core: Core
    operation_id: str
    method: str
    url: URL
    headers: CIMultiDictProxy[str] | CIMultiDict[str]
    body: bytes | None
    timeout: aiohttp.ClientTimeout
    attempts: int = 0

    async def attempt(self) -> Result[RawResponse, LDStoreError]:
        self.attempts += 1
        core, headers = self.core, self.headers
        context = HookContext(operation_id=self.operation_id, attempt=self.attempts)
        attempt_headers = headers
        if core.hooks.before_request is not None:
            request = HookRequest(
                method=self.method,
                url=str(self.url),
                headers=CIMultiDictProxy(headers),
                body=self.body,
            )
            extra = await _maybe_await(core.hooks.before_request(context, request))
            if extra:
                refused = _refuse_authorization(extra, "a before_request hook")
                if refused is not None:
                    return refused
                attempt_headers = CIMultiDict(headers)
                attempt_headers.update(extra)
        result = await _send_once(
            core,
            context,
            method=self.method,
            url=self.url,
            headers=attempt_headers,
            body=self.body,
            timeout=self.timeout,
        )
        if isinstance(result, Err) and core.hooks.after_error is not None:
            await _maybe_await(core.hooks.after_error(context, result.error))
        return result


# Both are immutable values; parsing and building them once per distinct input saves
# each call a few microseconds.
@functools.lru_cache(maxsize=32)
def _parsed(base_url: str) -> URL:
    return URL(base_url)


@functools.lru_cache(maxsize=32)
def _client_timeout(total: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=total)


async def _send_once(  # noqa: PLR0913
    core: Core,
    context: HookContext,
    *,
    method: str,
    url: URL,
    headers: CIMultiDictProxy[str] | CIMultiDict[str],
    body: bytes | None,
    timeout: aiohttp.ClientTimeout,
) -> Result[RawResponse, LDStoreError]:
    # The token is resolved per attempt (a rotating provider) and goes only into the header.
    # A plain string needs no coroutine: the common case skips creating one.
    token = core.api_key if isinstance(core.api_key, str) else await core.token()
    send_headers = CIMultiDict(headers)
    send_headers["Authorization"] = token
    permit = core.limiter.try_acquire(context.operation_id) or await core.limiter.acquire(
        context.operation_id
    )
    status: int | None = None
    response_headers: CIMultiDictProxy[str] | None = None
    debug = core.logger.isEnabledFor(logging.DEBUG)
    started = time.perf_counter() if debug else 0.0
    try:
        async with core.session().request(
            method, url, headers=send_headers, data=body, timeout=timeout
        ) as response:
            status = response.status
            response_headers = response.headers
            payload = await response.read()
            result = _result(response, payload)
            if isinstance(result, Ok) and core.hooks.after_success is not None:
                await _maybe_await(core.hooks.after_success(context, response))
    except aiohttp.ConnectionTimeoutError:
        result = Err(_network(ConnectionFailedError, "timed out connecting to", method, url))
    except (aiohttp.ServerTimeoutError, asyncio.TimeoutError):
        result = Err(_network(RequestTimeoutError, "no full answer in time from", method, url))
    except aiohttp.ClientConnectorError as error:
        result = Err(_network(ConnectionFailedError, "could not connect to", method, url, error))
    except aiohttp.InvalidURL as error:
        result = Err(
            InputValidationError(message=f"invalid server URL: {error}", field="server_url")
        )
    except aiohttp.ClientError as error:
        # Disconnected, reset or a truncated body: the request may have been processed.
        result = Err(_network(ConnectionLostError, "connection lost with", method, url, error))
    finally:
        core.limiter.release(permit, status, response_headers)
    if not debug:
        return result
    core.logger.debug(
        "%s %s -> %s in %.1f ms",
        method,
        url,
        status
        if status is not None
        else type(result.error).__name__
        if isinstance(result, Err)
        else "?",
        (time.perf_counter() - started) * 1000,
    )
    return result


def _result(response: aiohttp.ClientResponse, payload: bytes) -> Result[RawResponse, LDStoreError]:
    if response.status < 300:  # noqa: PLR2004 (2xx is success)
        return Ok(RawResponse(response.status, response.headers, payload))
    return Err(
        api_error(
            response.status,
            response.headers,
            payload,
            retry_after=requested_wait(response.headers),
        )
    )


def _network(
    cls: type[ConnectionFailedError | RequestTimeoutError | ConnectionLostError],
    what: str,
    method: str,
    url: URL,
    error: Exception | None = None,
) -> LDStoreError:
    detail = f": {error}" if error is not None and str(error) else ""
    return cls(
        message=f"{what} {url.host}:{url.port} ({method} {url.path}){detail}",
        method=method,
        url=str(url),
    )


def _refuse_authorization(
    headers: Mapping[str, str], source: str
) -> Err[InputValidationError] | None:
    if any(name.lower() == "authorization" for name in headers):
        return Err(
            InputValidationError(
                message=f"Authorization cannot be set by {source}: pass api_key to Core",
                field="headers",
            )
        )
    return None


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
