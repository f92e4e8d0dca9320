"""Core, the context every operation takes, with RetryConfig, RequestOptions and Hooks."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Protocol, TypeAlias, TypeVar
from urllib.parse import urlsplit

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from ldstore._limiter import Limiter

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "SERVERS",
    "ApiKey",
    "CallWrapper",
    "Core",
    "HookContext",
    "HookRequest",
    "Hooks",
    "LimiterWait",
    "RequestOptions",
    "RetryConfig",
    "check_base_url",
    "release",
]

SERVERS: Mapping[str, str] = {
    "commercial": "https://app.launchdarkly.com",
    "federal": "https://app.launchdarkly.us",
    "eu": "https://app.eu.launchdarkly.com",
}
DEFAULT_TIMEOUT = 30.0  # seconds for one attempt
# The largest real answer (a list of every integration of an account) is a few MB.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024

ApiKey: TypeAlias = str | Callable[[], Awaitable[str]]


@attrs.frozen(kw_only=True)
class RetryConfig:
    """How a call is retried; seconds throughout. ``RetryConfig.none()`` makes one attempt.

    The default budget (60 s) outlasts LaunchDarkly's 10-second rate-limit window.
    """

    initial_interval: float = attrs.field(
        default=0.5, validator=lambda _, a, v: _interval(a.name, v)
    )
    max_interval: float = attrs.field(default=30.0, validator=lambda _, a, v: _interval(a.name, v))
    exponent: float = attrs.field(default=2.0, validator=lambda _, a, v: _exponent(a.name, v))
    max_elapsed_time: float | None = attrs.field(
        default=60.0, validator=lambda _, a, v: _interval(a.name, v, optional=True)
    )
    max_attempts: int | None = attrs.field(
        default=None, validator=lambda _, a, v: _count(a.name, v, optional=True)
    )
    retry_connection_errors: bool = True
    # Retry a create, or a PATCH without a test op, after it may have reached the server.
    retry_non_idempotent: bool = False

    def __attrs_post_init__(self) -> None:
        if self.max_attempts is None and self.max_elapsed_time is None:
            msg = (
                "RetryConfig needs max_attempts or max_elapsed_time: without either it never stops"
            )
            raise ValueError(msg)

    @classmethod
    def none(cls) -> RetryConfig:
        return cls(max_attempts=1)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds, not {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value):
        msg = f"{name} must be finite, not {value!r}"
        raise ValueError(msg)
    return float(value)


def _interval(name: str, value: object, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if _number(name, value) < 0:
        msg = f"{name} must not be negative, not {value!r}"
        raise ValueError(msg)


def _positive(name: str, value: object, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if _number(name, value) <= 0:
        msg = f"{name} must be positive seconds, not {value!r}"
        raise ValueError(msg)


_MAX_EXPONENT = 10.0


def _exponent(name: str, value: object) -> None:
    if not 1 <= _number(name, value) <= _MAX_EXPONENT:
        msg = f"{name} must be between 1 and {_MAX_EXPONENT:g}, not {value!r}"
        raise ValueError(msg)


def _share(name: str, value: object) -> None:
    """A fraction from 0 (included) to 1 (excluded)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number from 0 to 1, not {type(value).__name__}"
        raise TypeError(msg)
    if not 0 <= value < 1:
        msg = f"{name} must be at least 0 and less than 1, not {value!r}"
        raise ValueError(msg)


def _count(name: str, value: object, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an int, not {type(value).__name__}"
        raise TypeError(msg)
    if value < 1:
        msg = f"{name} must be at least 1, not {value!r}"
        raise ValueError(msg)


def check_base_url(url: object) -> str:
    """``url`` without its trailing slash, or ``ValueError`` naming it: http(s) with a host."""
    if not isinstance(url, str):
        msg = f"a server URL must be a string, not {type(url).__name__}"
        raise TypeError(msg)
    return _checked_base_url(url)


@functools.lru_cache(maxsize=32)
def _checked_base_url(url: str) -> str:
    problem = None
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError as error:
        problem = str(error)
    else:
        if parts.scheme not in {"http", "https"}:
            problem = "it must start with http:// or https://"
        elif not parts.hostname:
            problem = "it has no host"
        elif parts.username is not None or parts.password is not None:
            problem = "credentials in the URL would show in errors; use a hook for headers"
        elif parts.query or parts.fragment or "?" in url or "#" in url:
            problem = "a base URL takes no query or fragment"
        elif any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):  # noqa: PLR2004
            problem = "it contains whitespace or control characters"
    if problem is not None:
        shown = url if len(url) <= 200 else f"{url[:200]}..."  # noqa: PLR2004
        msg = f"invalid server URL {shown!r}: {problem}"
        raise ValueError(msg)
    return url.rstrip("/")


_release: list[str] = []  # ldstore's version, once read


def release() -> str:
    """ldstore's version, for the User-Agent; read once, by the first Core built.

    Read when a Core is built, not on its first call: reading it opens files, which a
    process short of file descriptors cannot do, and a func must not raise for that.
    """
    if not _release:
        # Imported here, not at the top: importlib.metadata costs `import ldstore` ~10 ms.
        try:
            from importlib.metadata import version  # noqa: PLC0415

            found = version("ldstore")
        except Exception:  # noqa: BLE001 (not installed, or no file can be opened now)
            return "0+unknown"  # not kept: the next Core tries again
        _release.append(found)
    return _release[0]


@attrs.frozen(kw_only=True)
class HookContext:
    """What a hook knows about the call: the OpenAPI operationId and the attempt (from 1)."""

    operation_id: str
    attempt: int


@attrs.frozen(kw_only=True)
class HookRequest:
    """The attempt a ``before_request`` hook sees; the token is not in ``headers``."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None


_T = TypeVar("_T")


class CallWrapper(Protocol):
    """``around_call(operation_id, request, answer)``: returns an awaitable of what awaiting
    ``answer`` (the call's every attempt) gives, for a tracer to open a span around it.

    ``request`` is the call's first request, without the token; ``answer``'s value is
    opaque except that a failure is an ``Err``. The wrapper must await ``answer`` once.
    """

    def __call__(
        self, operation_id: str, request: HookRequest, answer: Awaitable[_T], /
    ) -> Awaitable[_T]: ...


@attrs.frozen(kw_only=True)
class LimiterWait:
    """A time the Core's limiter held an attempt back, for ``Hooks.on_limiter_wait``.

    ``reason``: ``"max_in_flight"``, ``"paused"`` (a 429 asked for a wait),
    ``"window_spent"`` (the rate-limit window's budget is gone) or ``"probing"`` (another
    call is learning the budget). ``admitted``: False when the call's budget ran out
    first, so the attempt was not sent.
    """

    seconds: float
    reason: str
    admitted: bool


@attrs.frozen(kw_only=True)
class Hooks:
    """Callables (sync or async) run once per attempt.

    ``before_request(ctx, request)`` may return headers to add (applied last);
    ``after_success(ctx, response)`` sees the ``aiohttp.ClientResponse``;
    ``after_error(ctx, error)`` sees the ``LDStoreError``. An exception a hook raises
    propagates to the caller.

    For tracing (``ldstore.otel``): ``around_call`` wraps each call once, all its attempts
    included (see ``CallWrapper``), and ``on_limiter_wait(ctx, wait)`` sees each
    ``LimiterWait``. Left ``None``, they cost nothing.
    """

    before_request: Callable[[HookContext, HookRequest], object] | None = None
    after_success: Callable[[HookContext, aiohttp.ClientResponse], object] | None = None
    after_error: Callable[[HookContext, Exception], object] | None = None
    around_call: CallWrapper | None = None
    on_limiter_wait: Callable[[HookContext, LimiterWait], object] | None = None


@attrs.frozen(kw_only=True)
class RequestOptions:
    """Per-call overrides; ``None`` keeps the Core's value.

    ``headers`` replace ldstore's own of the same name (to pin ``LD-API-Version``);
    an ``Authorization`` header here is refused: use ``api_key``.
    """

    retry_config: RetryConfig | None = None
    timeout: float | None = None
    headers: Mapping[str, str] | None = None
    server_url: str | None = None


def _hooks(value: Hooks | None) -> Hooks:
    return Hooks() if value is None else value


def _logger(value: logging.Logger | None) -> logging.Logger:
    return logging.getLogger("ldstore") if value is None else value


DEFAULT_RETRY_CONFIG = RetryConfig()  # a frozen value: one instance serves every Core

# Characters that would split or end an HTTP header line.
_HEADER_BREAKS = frozenset("\r\n\0")


def header_value_problem(value: object) -> str | None:
    """Why ``value`` cannot be sent as a header value, or None when it can."""
    if not isinstance(value, str):
        return f"a header value must be a string, not {type(value).__name__}"
    if not _HEADER_BREAKS.isdisjoint(value):
        return "a header value must not contain CR, LF or NUL"
    return None


@attrs.define
class Core:
    """The context every operation takes: configuration, one session, hooks and a limiter.

    The base URL is an explicit ``server_url``, else an explicit ``server``
    (``"commercial"``, ``"federal"`` or ``"eu"``), else ``LD_BASE_URI``, else commercial;
    ``LD_ACCESS_TOKEN`` and ``LD_BASE_URI`` are read once, at construction. Invalid
    values raise ``ValueError`` (``TypeError`` for a wrong type) here, never later.

    What changes over its life: the ``aiohttp.ClientSession`` it creates lazily on the
    first call, bound to the running event loop, and the limiter's view of the rate-limit
    window. ``close()`` (or leaving ``async with``) closes that session; a call on a closed
    Core returns ``Err(InputValidationError)`` without sending anything, and entering
    ``async with core`` again reopens it, so one Core can serve several ``asyncio.run()``
    as long as each closes it. A caller's own ``session`` is used as is and never closed.
    Construction does no I/O. The API key is never shown in ``repr``, logs or errors.

    ``rate_reserve`` (0 to 1, excluded) is the share of the account's global rate-limit
    window left to the account's other clients: calls wait for the reset rather than
    spend it. 0 (the default) spends the whole window.
    """

    api_key: ApiKey | None = attrs.field(default=None, repr=False)
    server: str | None = attrs.field(default=None, kw_only=True)
    server_url: str | None = attrs.field(default=None, kw_only=True)
    retry_config: RetryConfig = attrs.field(default=DEFAULT_RETRY_CONFIG, kw_only=True)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, kw_only=True)
    _session: aiohttp.ClientSession | None = attrs.field(
        default=None, kw_only=True, alias="session", repr=False
    )
    hooks: Hooks = attrs.field(default=None, kw_only=True, converter=_hooks)
    logger: logging.Logger = attrs.field(default=None, kw_only=True, converter=_logger, repr=False)
    max_in_flight: int | None = attrs.field(default=None, kw_only=True)
    rate_limit_aware: bool = attrs.field(default=True, kw_only=True)
    max_response_bytes: int = attrs.field(default=DEFAULT_MAX_RESPONSE_BYTES, kw_only=True)
    rate_reserve: float = attrs.field(default=0.0, kw_only=True)
    base_url: str = attrs.field(init=False)
    limiter: Limiter = attrs.field(init=False, repr=False)
    _owns_session: bool = attrs.field(init=False, repr=False)
    _session_loop: asyncio.AbstractEventLoop | None = attrs.field(
        init=False, default=None, repr=False
    )
    closed: bool = attrs.field(init=False, default=False, repr=False)
    # The transport's cache: (ldstore's headers, the plain-string api_key, both with the
    # Authorization header) from the last call; a token provider's value is never kept.
    _sent_headers: tuple[object, str, CIMultiDictProxy[str]] | None = attrs.field(
        init=False, default=None, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        if self.api_key is None or self.api_key == "":
            # LD_ACCESS_TOKEN is read once, here; an empty value counts as absent.
            self.api_key = os.environ.get("LD_ACCESS_TOKEN") or None
        if self.api_key is None:
            msg = "no API key: pass api_key= or set LD_ACCESS_TOKEN"
            raise ValueError(msg)
        _check_api_key(self.api_key)
        self.base_url = self._resolve_base_url()
        if not isinstance(self.retry_config, RetryConfig):  # pyright: ignore[reportUnnecessaryIsInstance]  # an untyped caller's mistake
            msg = f"retry_config must be a RetryConfig, not {type(self.retry_config).__name__}"  # type: ignore[unreachable]  # an untyped caller's mistake
            raise TypeError(msg)
        _positive("timeout", self.timeout)
        _count("max_in_flight", self.max_in_flight, optional=True)
        _count("max_response_bytes", self.max_response_bytes)
        _share("rate_reserve", self.rate_reserve)
        self.limiter = Limiter(
            max_in_flight=self.max_in_flight,
            rate_limit_aware=self.rate_limit_aware,
            rate_reserve=float(self.rate_reserve),
        )
        self._owns_session = self._session is None
        _ = release()  # now, not in a call (see release)
        # The resolver encodes host names with the idna codec, which Python imports on
        # first use: now, not in a call made by a process short of file descriptors.
        _ = "ldstore".encode("idna")

    def _resolve_base_url(self) -> str:
        # An explicit server_url > an explicit server > LD_BASE_URI > commercial.
        if self.server is not None and self.server not in SERVERS:
            msg = f"server must be one of {', '.join(map(repr, SERVERS))}, not {self.server!r}"
            raise ValueError(msg)
        if self.server_url is not None:
            return check_base_url(self.server_url)
        if self.server is not None:
            return SERVERS[self.server]
        from_environment = os.environ.get("LD_BASE_URI")
        if from_environment:
            try:
                return check_base_url(from_environment)
            except ValueError as error:
                msg = f"LD_BASE_URI: {error}"
                raise ValueError(msg) from None
        self.server = "commercial"
        return SERVERS["commercial"]

    async def token(self) -> str:
        """The API key for one attempt: a provider is awaited every time, never cached."""
        key = self.api_key
        if key is None:  # pragma: no cover - construction guarantees a key
            msg = "Core has no API key"
            raise ValueError(msg)
        return key if isinstance(key, str) else await key()

    def session(self) -> aiohttp.ClientSession:
        """The session calls go through, created on first use, bound to the running loop.

        A session this Core created in another event loop (a second ``asyncio.run()``)
        is dropped for a new one: it cannot be used, or closed, from this loop.
        """
        loop = asyncio.get_running_loop()
        if self._session is None or (
            self._owns_session and (self._session.closed or self._session_loop is not loop)
        ):
            self._session = aiohttp.ClientSession(
                # Keep-alive across calls; concurrency is bounded by the limiter, not here.
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
                # Compressed answers are inflated as they are read, under the size cap.
                auto_decompress=True,
            )
            # aiohttp silently re-sends a GET or DELETE once when a kept-alive connection
            # drops; ldstore's retry layer decides that (and counts it, for hooks and for
            # the "may already have been deleted" note), so switch aiohttp's off. It has no
            # public switch; a version without the attribute keeps its own behaviour.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]
            self._session_loop = loop
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the session if this Core created it; a caller's session is left open.

        Calls on the Core then return ``Err(InputValidationError)`` until ``async with``
        reopens it.
        """
        self.closed = True
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            if self._session_loop is asyncio.get_running_loop():
                await session.close()

    async def __aenter__(self) -> Core:
        self.closed = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def _check_api_key(key: object) -> None:
    if isinstance(key, str):
        if header_value_problem(key) is not None:
            # The key itself stays out of the message.
            msg = "api_key must not contain CR, LF or NUL characters"
            raise ValueError(msg)
    elif not callable(key):
        msg = (
            f"api_key must be a string or an async callable returning one, not {type(key).__name__}"
        )
        raise TypeError(msg)
