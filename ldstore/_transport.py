"""Headers, one send and response -> RawResponse or Err; the only module that calls aiohttp.

Everything that arrives from the server is bounded here before anything else sees it:
the body is read under the Core's size cap, redirects are never followed, rate-limit
headers go through the limiter's guarded parser, and any unexpected exception while
handling an answer becomes an ``Err``. Only cancellation, and exceptions raised by the
caller's own hooks and token provider, propagate.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, NamedTuple, TypeAlias, cast

import aiohttp
import attrs
from aiohttp import hdrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ldstore._codec import MAX_VALUES
from ldstore._deadline import LATE, attempt_ends, in_time, within
from ldstore._failures import deleted_earlier, failure, held_back, late, may_have_been_applied
from ldstore._limiter import Held, Permit, requested_wait
from ldstore._retry import retrying
from ldstore.core import (
    CallWrapper,
    Core,
    HookContext,
    HookRequest,
    LimiterWait,
    RequestOptions,
    RetryConfig,
    check_base_url,
    header_value_problem,
    release,
)
from ldstore.errors import (
    InputValidationError,
    LDStoreError,
    ResponseValidationError,
    api_error,
    redacted,
)
from ldstore.result import Err, Ok, Result

__all__ = ["Answer", "RawResponse", "call"]


def _user_agent() -> str:
    return f"ldstore/{release()} aiohttp/{aiohttp.__version__}"


class _Memo(dict[Any, Any]):
    """A cache of immutable values read on every call, each built by ``build`` on its
    first read and dropped all together past ``_MAX_CACHED`` (a subscript that hits costs
    less than an ``lru_cache`` call)."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[Any], Any]) -> None:
        super().__init__()
        self.build = build

    def __missing__(self, key: object) -> Any:
        if len(self) >= _MAX_CACHED:
            self.clear()
        value = self[key] = self.build(key)
        return value


_MAX_CACHED = 32


def _own_headers(with_body: bool, *, beta: bool = True) -> CIMultiDictProxy[str]:  # noqa: FBT001 (the memo's key)
    """ldstore's own headers, never mutated (a call that changes them works on a copy)."""
    headers = CIMultiDict({"Accept": "application/json", "User-Agent": _user_agent()})
    if beta:  # without it the API answers 403 on beta resources; other routes need none
        headers["LD-API-Version"] = "beta"
    if with_body:
        headers["Content-Type"] = "application/json"
    return CIMultiDictProxy(headers)


def _parse(base_url: str) -> tuple[URL, str]:
    """The base URL parsed, and the path every call's path goes after."""
    url = URL(base_url)
    return url, url.raw_path.rstrip("/")


# Keyed by whether the request has a body; by base URL; by total seconds.
_OWN_HEADERS = _Memo(_own_headers)
_OWN_HEADERS_NOT_BETA = _Memo(lambda with_body: _own_headers(with_body, beta=False))
_PARSED = _Memo(_parse)
_TIMEOUTS = _Memo(lambda total: aiohttp.ClientTimeout(total=total))


# RFC 9110's token: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class RawResponse(NamedTuple):
    """A success as received: the body is decoded by the caller, which knows the model.

    ``secret`` is the token the attempt used, so that an error built from this body can
    redact it; it lives as long as the response, no longer. A named tuple, not a frozen
    attrs class: one is built per call, and a tuple costs a fifth of it. It is returned
    bare, not in an ``Ok``: the caller wraps what it decodes from it.
    """

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    secret: str = ""

    def __repr__(self) -> str:  # the body and the token stay out of reprs
        return f"RawResponse(status={self.status})"


# What the transport answers: a response to decode, or the error.
Answer: TypeAlias = "RawResponse | Err[LDStoreError]"


def call(  # noqa: PLR0913 (one call's whole description)
    core: Core,
    *,
    operation_id: str,
    method: str,
    path: str,
    body: bytes | None = None,
    options: RequestOptions | None = None,
    idempotent: bool = True,
    beta: bool = True,
) -> Err[LDStoreError] | Coroutine[Any, Any, Answer]:
    """The exchange sending one operation to ``path`` (finished and quoted) with the Core's
    or the options' retries, for the caller to await (2xx is the ``RawResponse``); or the
    ``Err`` for one that cannot be sent (nothing is).

    ``idempotent``: whether a request that may have been applied can be sent again.
    ``beta``: whether the route is a beta resource (sent with ``LD-API-Version: beta``).
    Returned rather than awaited here: the caller awaits the attempt itself, one
    coroutine fewer in every call's chain.
    """
    if core.closed:
        return Err(
            InputValidationError(
                message="this Core is closed: use `async with core:` to reopen it, or a new Core",
                field="core",
            )
        )
    base_url = core.base_url
    timeout = core.timeout
    retry_config = core.retry_config
    headers: CIMultiDictProxy[str] | CIMultiDict[str] = (
        _OWN_HEADERS if beta else _OWN_HEADERS_NOT_BETA
    )[body is not None]
    if options is not None:
        checked = _options(options)
        if isinstance(checked, Err):
            return checked
        base_url = checked.value or base_url
        timeout = options.timeout if options.timeout is not None else timeout
        retry_config = options.retry_config or retry_config
        if options.headers:
            headers = CIMultiDict(headers)
            headers.update(options.headers)  # replaces ours case-insensitively

    parsed, prefix = _PARSED[base_url]
    # yarl's "/" would re-quote our "%", and URL.join resolves "..": set the path whole.
    url = parsed.with_path(prefix + path, encoded=True)
    budget = retry_config.max_elapsed_time
    deadline = time.monotonic() + budget if budget is not None else None
    hooks = core.hooks
    if hooks.before_request is None and hooks.after_error is None and hooks.around_call is None:
        # The usual call: no hook runs around the first attempt, so it is sent as is and
        # the retry machinery (the exchange, the hook context, the retry loop) is built
        # only when it fails, by _send_once itself. The same attempt, minus objects
        # nobody would look at.
        return _send_once(
            core, operation_id, method, url, headers, body, timeout, deadline,
            retry_config=retry_config, idempotent=idempotent,
            ends=attempt_ends(deadline, 1, timeout),
        )  # fmt: skip
    exchange = _Exchange(core, operation_id, method, url, headers, body, timeout, deadline)
    answer = _retried(exchange, retry_config, idempotent=idempotent, first=None)
    if hooks.around_call is not None:  # a tracer's span around every attempt (ldstore.otel)
        return _around(hooks.around_call, exchange, answer)
    return answer


async def _around(
    wrapper: CallWrapper, exchange: _Exchange, answer: Coroutine[Any, Any, Answer]
) -> Answer:
    request = HookRequest(
        method=exchange.method,
        url=str(exchange.url),
        headers=CIMultiDictProxy(exchange.headers),
        body=exchange.body,
    )
    return await wrapper(exchange.operation_id, request, answer)


async def _retried(
    exchange: _Exchange,
    retry_config: RetryConfig,
    *,
    idempotent: bool,
    first: Err[LDStoreError] | None,
) -> Answer:
    """The call's answer once retried as its config allows; ``first``: the failed first
    attempt's, when it was sent without the retry machinery."""
    if first is not None:
        exchange.attempts = 1
        exchange.maybe_applied = may_have_been_applied(first.error)
    result = await retrying(
        exchange.attempt,
        retry_config,
        idempotent=idempotent,
        deadline=exchange.deadline if exchange.deadline is not None else float("inf"),
        logger=exchange.core.logger,
        operation_id=exchange.operation_id,
        first=first,
    )
    if exchange.maybe_applied and isinstance(result, Err) and exchange.method == "DELETE":
        return deleted_earlier(result)
    return result


def _options(options: object) -> Result[str | None, LDStoreError]:
    """The options' base URL (None: the Core's), or the ``InputValidationError`` they earn."""
    if not isinstance(options, RequestOptions):
        return _invalid(
            f"options must be a RequestOptions, not {type(options).__name__}", "options"
        )
    refused = _refuse_values(options)
    if refused is not None:
        return refused
    if options.server_url is None:
        return Ok(None)
    try:
        return Ok(check_base_url(options.server_url))
    except (TypeError, ValueError) as error:
        return _invalid(str(error), "server_url")


def _refuse_values(options: RequestOptions) -> Err[InputValidationError] | None:
    timeout = options.timeout
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)  # pyright: ignore[reportUnnecessaryIsInstance]
        or not 0 < timeout < float("inf")
    ):
        return _invalid(f"timeout must be finite positive seconds, not {timeout!r}", "timeout")
    if options.retry_config is not None and not isinstance(options.retry_config, RetryConfig):  # pyright: ignore[reportUnnecessaryIsInstance]  # an untyped caller's mistake
        return _invalid("retry_config must be a RetryConfig", "retry_config")  # type: ignore[unreachable]  # as above
    if options.headers:
        return _refuse_headers(options.headers, "RequestOptions.headers")
    return None


def _invalid(message: str, field: str) -> Err[InputValidationError]:
    return Err(InputValidationError(message=message, field=field))


@attrs.define
class _Exchange:
    """One call's request, shared by its attempts, and what its attempts have learned.

    A class rather than a closure, which would allocate a cell per captured name on every
    call.
    """

    core: Core
    operation_id: str
    method: str
    url: URL
    headers: CIMultiDictProxy[str] | CIMultiDict[str]
    body: bytes | None
    timeout: float
    deadline: float | None  # monotonic, when the budget ends; None: the call has none
    attempts: int = 0
    maybe_applied: bool = False  # an earlier attempt may have reached the server

    async def attempt(self) -> Answer:
        self.attempts += 1
        core, headers = self.core, self.headers
        context = HookContext(operation_id=self.operation_id, attempt=self.attempts)
        attempt_headers = headers
        ends = attempt_ends(self.deadline, self.attempts, self.timeout)
        if core.hooks.before_request is not None:
            request = HookRequest(
                method=self.method,
                url=str(self.url),
                headers=CIMultiDictProxy(headers),
                body=self.body,
            )
            returned = core.hooks.before_request(context, request)
            extra: Any = await within(returned, ends) if inspect.isawaitable(returned) else returned
            if extra is LATE:
                return Err(late("a before_request hook", self.method, self.url))
            if extra:
                refused = _refuse_headers(extra, "a before_request hook")
                if refused is not None:
                    return refused
                attempt_headers = CIMultiDict(headers)
                attempt_headers.update(extra)
        result = await _send_once(
            core,
            self.operation_id,
            self.method,
            self.url,
            attempt_headers,
            self.body,
            self.timeout,
            self.deadline,
            self.attempts,
            context,
            ends=ends,
        )
        if isinstance(result, Err):
            self.maybe_applied = self.maybe_applied or may_have_been_applied(result.error)
            if core.hooks.after_error is not None:
                # Past the budget the hook is left behind; the call's answer is the error.
                _ = await in_time(core.hooks.after_error(context, result.error), ends)
        return result


async def _send_once(  # noqa: PLR0913, PLR0917 (one attempt's whole description, without an object)
    core: Core,
    operation_id: str,
    method: str,
    url: URL,
    headers: CIMultiDictProxy[str] | CIMultiDict[str],
    body: bytes | None,
    timeout: float,
    deadline: float | None,
    attempt: int = 1,
    context: HookContext | None = None,
    *,
    retry_config: RetryConfig | None = None,
    idempotent: bool = True,
    ends: float,
) -> Answer:
    """One attempt; ``deadline`` is the call's budget (None: none), ``attempt`` counts from 1.

    ``context`` is the attempt's hook context, built here only if a hook needs it.
    ``retry_config``: this is a call's first attempt, sent without the retry machinery,
    which it goes on into if it fails (None: an attempt the retry loop makes). ``ends``:
    when the attempt must be over (``attempt_ends``), the caller's awaited code included.
    """
    # The token is resolved per attempt (a rotating provider) and goes only into the header.
    # A plain string needs no coroutine: the common case skips creating one.
    token = (
        core.api_key if isinstance(core.api_key, str) else await _provided(core, ends, method, url)
    )
    if isinstance(token, Err):
        return token
    send_headers = _authorized(core, headers, token)
    if isinstance(send_headers, Err):
        return send_headers
    # Held back, time passes in the limiter: till admitted, or an Err by ``ends``.
    permit = core.limiter.try_acquire(operation_id) or await _admitted(
        core, operation_id, ends, method, url, attempt, context
    )
    if isinstance(permit, Err):
        return permit
    now = time.monotonic()
    status: int | None = None
    response_headers: CIMultiDictProxy[str] | None = None
    answered: aiohttp.ClientResponse | None = None
    debug = core.logger.isEnabledFor(logging.DEBUG)
    started = time.perf_counter() if debug else 0.0
    try:
        left = ends - now
        # The last attempt gets what is left of the budget, so the call ends within it.
        client_timeout = (
            _TIMEOUTS[timeout] if left >= timeout else aiohttp.ClientTimeout(total=max(left, 0.001))
        )
        async with core.session().request(
            method,
            url,
            headers=send_headers,
            data=body,
            timeout=client_timeout,
            allow_redirects=False,  # the API does not redirect: a 3xx is an error, never followed
        ) as response:
            status = response.status
            response_headers = response.headers
            limit = core.max_response_bytes
            payload = await _reading(response, limit)
            result = _answer(status, response_headers, payload, limit, token)
            answered = response
    except Exception as error:  # noqa: BLE001 (the guard: an answer never makes a func raise)
        result = Err(failure(error, method, url))
    finally:
        core.limiter.release(permit, status, response_headers)
    if isinstance(result, Err):
        result = Err(redacted(result.error, token))
    elif answered is not None and core.hooks.after_success is not None:
        # Outside the guard: an exception a hook raises is the caller's, and propagates,
        # so its traceback's frames should not hold the token.
        del token, send_headers
        context = context or HookContext(operation_id=operation_id, attempt=attempt)
        if not await in_time(core.hooks.after_success(context, answered), ends):
            result = Err(late("an after_success hook", method, url, answered=status))
    if debug:
        _log_attempt(core.logger, method, url, result, status, started)
    if retry_config is not None and isinstance(result, Err):
        # A first attempt sent without the retry machinery failed: now it is built.
        exchange = _Exchange(core, operation_id, method, url, headers, body, timeout, deadline)
        return await _retried(exchange, retry_config, idempotent=idempotent, first=result)
    return result


def _log_attempt(  # noqa: PLR0913, PLR0917 (one line's facts)
    logger: logging.Logger,
    method: str,
    url: URL,
    result: Answer,
    status: int | None,
    started: float,
) -> None:
    logger.debug(
        "%s %s -> %s in %.1f ms",
        method,
        url,
        type(result.error).__name__ if isinstance(result, Err) and status is None else status,
        (time.perf_counter() - started) * 1000,
    )


def _authorized(
    core: Core, headers: CIMultiDictProxy[str] | CIMultiDict[str], token: str
) -> CIMultiDictProxy[str] | CIMultiDict[str] | Err[InputValidationError]:
    """The attempt's headers with the token, or the Err for a token that cannot be sent."""
    sent = core._sent_headers  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]  # the transport's cache, kept on the Core
    if sent is not None and sent[0] is headers and sent[1] is token:
        # The same headers with the same plain-string key as before: checked and built
        # then. A provider's value is never kept, and ldstore's headers never change.
        return sent[2]
    # A provider is the caller's code: its value is checked like any input.
    if (
        not isinstance(token, str)  # pyright: ignore[reportUnnecessaryIsInstance]
        or not token
        or header_value_problem(token) is not None
    ):
        return _invalid(
            "the token provider must return a non-empty string without CR, LF or NUL",
            "api_key",
        )
    built = CIMultiDict(headers)
    built["Authorization"] = token
    if token is core.api_key and isinstance(headers, CIMultiDictProxy):
        # ldstore's own headers (read-only) and the Core's plain-string key: kept.
        core._sent_headers = (headers, token, CIMultiDictProxy(built))  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]
    return built


def _reading(response: aiohttp.ClientResponse, limit: int) -> Awaitable[bytes | _TooMany | None]:
    """What reads the body: None once it is larger than ``limit`` bytes.

    Not a coroutine itself: the usual answer's read is awaited directly, one coroutine
    fewer per call.
    """
    length = response.content_length
    if (
        length is not None
        and _CONTENT_ENCODING not in response.headers
        and _TRANSFER_ENCODING not in response.headers
    ):
        # Its framing bounds what read() takes.
        return response.read() if length <= limit else _nothing()
    return _read(response, limit)


async def _nothing() -> None:
    return None


def _answer(
    status: int,
    headers: CIMultiDictProxy[str],
    payload: bytes | _TooMany | None,
    limit: int,
    token: str,
) -> Answer:
    """What a read answer is: the ``RawResponse`` of a 2xx, else its error."""
    if isinstance(payload, _TooMany):
        return Err(
            ResponseValidationError(
                message=f"HTTP {status} body holds more than {MAX_VALUES} JSON values;"
                " it was not read in full",
                status_code=status,
                body=b"",
            )
        )
    if payload is None:
        return Err(
            ResponseValidationError(
                message=f"HTTP {status} body is larger than max_response_bytes ({limit} bytes);"
                " it was not read",
                status_code=status,
                body=b"",
            )
        )
    if status < 300:  # noqa: PLR2004 (2xx is success)
        return RawResponse(status, headers, payload, token)
    return Err(
        api_error(
            status,
            headers,
            payload,
            retry_after=requested_wait(headers),
            secret=token,
        )
    )


# istr: looked up in aiohttp's case-insensitive headers without lowercasing them first.
_CONTENT_ENCODING = hdrs.CONTENT_ENCODING
_TRANSFER_ENCODING = hdrs.TRANSFER_ENCODING


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes | _TooMany | None:
    """The (decompressed) body of a chunked or compressed answer, or None once it is larger
    than ``limit`` bytes, or ``_TOO_MANY`` once it holds more JSON values than any answer
    is decoded with (``MAX_VALUES``: a small gzip of ``{},`` is refused after ~1.5 MB)."""
    chunks: list[bytes] = []
    size = 0
    commas = 0
    # Chunked or compressed: count while reading (aiohttp inflates in bounded steps).
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None  # leaving unread data closes the connection rather than reusing it
        commas += chunk.count(b",")
        if commas >= MAX_VALUES:
            return _TOO_MANY
        chunks.append(chunk)
    return b"".join(chunks)


class _TooMany:
    """What ``_read`` answers for a body holding more JSON values than ``MAX_VALUES``."""


_TOO_MANY = _TooMany()


def _refuse_headers(headers: object, source: str) -> Err[InputValidationError] | None:
    """An ``Err`` for headers that cannot go out as given; None when they can."""
    if not isinstance(headers, Mapping):
        return _invalid(f"{source} must be a mapping of names to values", "headers")
    for name, value in cast("Mapping[object, object]", headers).items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            return _invalid(f"{source} has an invalid header name {name!r:.80}", "headers")
        if name.lower() == "authorization":
            return _invalid(
                f"Authorization cannot be set by {source}: pass api_key to Core", "headers"
            )
        problem = header_value_problem(value)
        if problem is not None:
            return _invalid(f"{source}: {name}: {problem}", "headers")
    return None


async def _admitted(  # noqa: PLR0913, PLR0917 (the attempt's facts a hook is told)
    core: Core,
    operation_id: str,
    ends: float,
    method: str,
    url: URL,
    attempt: int,
    context: HookContext | None,
) -> Permit | Err[LDStoreError]:
    """The limiter's permit once it admits the call, or the Err once it cannot by ``ends``;
    an ``on_limiter_wait`` hook (a tracer's, ``ldstore.otel``) is told how long it held the
    attempt, and why."""
    on_wait = core.hooks.on_limiter_wait
    reason = core.limiter.hold_reason(operation_id) if on_wait is not None else ""
    since = time.monotonic()
    admitted = await core.limiter.acquire(operation_id, ends)
    if on_wait is not None:
        wait = LimiterWait(
            seconds=time.monotonic() - since, reason=reason, admitted=not isinstance(admitted, Held)
        )
        context = context or HookContext(operation_id=operation_id, attempt=attempt)
        _ = await in_time(on_wait(context, wait), ends)
    return Err(held_back(admitted, method, url)) if isinstance(admitted, Held) else admitted


async def _provided(core: Core, ends: float, method: str, url: URL) -> str | Err[LDStoreError]:
    """The token provider's answer, or the Err once ``ends`` passes: its time is the
    attempt's."""
    token: str = await within(core.token(), ends)
    return Err(late("the token provider", method, url)) if token is LATE else token
