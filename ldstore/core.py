"""Core, the context every operation takes, with RetryConfig, RequestOptions and Hooks."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TypeAlias

import aiohttp
import attrs

from ldstore._limiter import Limiter

__all__ = [
    "ApiKey",
    "Core",
    "HookContext",
    "HookRequest",
    "Hooks",
    "RequestOptions",
    "RetryConfig",
]

SERVERS: Mapping[str, str] = {
    "commercial": "https://app.launchdarkly.com",
    "federal": "https://app.launchdarkly.us",
}

ApiKey: TypeAlias = str | Callable[[], Awaitable[str]]


@attrs.frozen(kw_only=True)
class RetryConfig:
    """How a call is retried; seconds throughout. ``RetryConfig.none()`` makes one attempt.

    The default budget (60 s) outlasts LaunchDarkly's 10-second rate-limit window.
    """

    initial_interval: float = 0.5
    max_interval: float = 30.0
    exponent: float = 2.0
    max_elapsed_time: float | None = 60.0
    max_attempts: int | None = None
    retry_connection_errors: bool = True
    retry_non_idempotent: bool = False  # retry a create after it may have reached the server

    @classmethod
    def none(cls) -> RetryConfig:
        return cls(max_attempts=1)


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


@attrs.frozen(kw_only=True)
class Hooks:
    """Callables (sync or async) run once per attempt.

    ``before_request(ctx, request)`` may return headers to add (applied last);
    ``after_success(ctx, response)`` sees the ``aiohttp.ClientResponse``;
    ``after_error(ctx, error)`` sees the ``LDStoreError``. An exception a hook raises
    propagates to the caller.
    """

    before_request: Callable[[HookContext, HookRequest], object] | None = None
    after_success: Callable[[HookContext, aiohttp.ClientResponse], object] | None = None
    after_error: Callable[[HookContext, Exception], object] | None = None


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


def _default_logger() -> logging.Logger:
    return logging.getLogger("ldstore")


def _hooks(value: Hooks | None) -> Hooks:
    return Hooks() if value is None else value


def _logger(value: logging.Logger | None) -> logging.Logger:
    return _default_logger() if value is None else value


@attrs.define
class Core:
    """The context every operation takes: configuration, one session, hooks and a limiter.

    What changes over its life: the ``aiohttp.ClientSession`` it creates lazily on the
    first call (and closes on ``close()``/``async with`` exit), and the limiter's view
    of the rate-limit window. A caller's own ``session`` is used as is and never closed.
    Construction does no I/O. The API key is never shown in ``repr``, logs or errors.
    """

    api_key: ApiKey | None = attrs.field(default=None, repr=False)
    server: str = attrs.field(default="commercial", kw_only=True)
    server_url: str | None = attrs.field(default=None, kw_only=True)
    retry_config: RetryConfig = attrs.field(factory=RetryConfig, kw_only=True)
    timeout: float = attrs.field(default=30.0, kw_only=True)
    _session: aiohttp.ClientSession | None = attrs.field(
        default=None, kw_only=True, alias="session", repr=False
    )
    hooks: Hooks = attrs.field(factory=Hooks, kw_only=True, converter=_hooks)
    logger: logging.Logger = attrs.field(
        factory=_default_logger, kw_only=True, converter=_logger, repr=False
    )
    max_in_flight: int | None = attrs.field(default=None, kw_only=True)
    rate_limit_aware: bool = attrs.field(default=True, kw_only=True)
    base_url: str = attrs.field(init=False)
    limiter: Limiter = attrs.field(init=False, repr=False)
    _owns_session: bool = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.api_key is None or self.api_key == "":
            # LD_ACCESS_TOKEN is read once, here; an empty value counts as absent.
            self.api_key = os.environ.get("LD_ACCESS_TOKEN") or None
        if self.api_key is None:
            msg = "no API key: pass api_key= or set LD_ACCESS_TOKEN"
            raise ValueError(msg)
        if self.server not in SERVERS:
            msg = f"server must be 'commercial' or 'federal', not {self.server!r}"
            raise ValueError(msg)
        if self.timeout <= 0:
            msg = f"timeout must be positive seconds, not {self.timeout!r}"
            raise ValueError(msg)
        if self.max_in_flight is not None and self.max_in_flight < 1:
            msg = f"max_in_flight must be at least 1, not {self.max_in_flight!r}"
            raise ValueError(msg)
        self.base_url = normalize_base_url(self.server_url or SERVERS[self.server])
        self.limiter = Limiter(
            max_in_flight=self.max_in_flight, rate_limit_aware=self.rate_limit_aware
        )
        self._owns_session = self._session is None

    async def token(self) -> str:
        """The API key for one attempt: a provider is awaited every time, never cached."""
        key = self.api_key
        if key is None:  # pragma: no cover - construction guarantees a key
            msg = "Core has no API key"
            raise ValueError(msg)
        return key if isinstance(key, str) else await key()

    def session(self) -> aiohttp.ClientSession:
        """The session calls go through, created on first use (inside the event loop)."""
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(
                # Keep-alive across calls; concurrency is bounded by the limiter, not here.
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
                # We read bodies as bytes and decode ourselves.
                auto_decompress=True,
            )
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the session if this Core created it; a caller's session is left open."""
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None if self._owns_session else self._session

    async def __aenter__(self) -> Core:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def normalize_base_url(url: str) -> str:
    """A base URL without its trailing slash; a path prefix is kept."""
    return url.rstrip("/")
