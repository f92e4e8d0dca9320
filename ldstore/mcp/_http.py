"""``ldstore mcp --http``: the MCP server over the SDK's streamable HTTP transport, behind a
bearer token the operator sets.

The LaunchDarkly token stays in the server's environment: clients authenticate to this
server with the bearer token only, and never see or send the LaunchDarkly one.
"""

from __future__ import annotations

import hmac
import ipaddress
import signal
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from types import FrameType
from typing import Any, Final

import attrs
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

__all__ = [
    "MCP_PATH",
    "MIN_TOKEN_LENGTH",
    "HttpOptions",
    "bearer_only",
    "is_loopback",
    "serve_http",
]

MCP_PATH: Final = "/mcp"
MIN_TOKEN_LENGTH: Final = 16  # a shorter shared secret is guessable over a network

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_UNAUTHORIZED = b'{"error": "unauthorized: send Authorization: Bearer <the server\'s token>"}'


@attrs.frozen
class HttpOptions:
    """Where to listen and the token a client must send (``repr`` leaves it out)."""

    host: str
    port: int
    token: str = attrs.field(repr=False)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bearer_only(app: App, token: str) -> App:
    """``app`` behind ``Authorization: Bearer <token>``: any other HTTP request gets a 401
    (JSON, ``WWW-Authenticate: Bearer``) and never reaches ``app``.

    The comparison takes the same time wherever the first wrong byte is.
    """
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)  # lifespan events carry no request
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        given = next((value for name, value in headers if name.lower() == b"authorization"), b"")
        if hmac.compare_digest(given, expected):
            await app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="ldstore mcp"'),
                    (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _UNAUTHORIZED})

    return guarded


def http_app(server: MCPServer[Any], options: HttpOptions) -> App:
    """The server's streamable HTTP app at ``/mcp``, behind the bearer token.

    Sessions are kept (not stateless): a 2025 client can only be asked to confirm over
    the stream its session keeps open; 2026-07-28 clients are served statelessly (they
    answer a question by calling again). The SDK's DNS-rebinding check stays on for a
    loopback address; on another address the bearer token is the guard.
    """
    security = (
        None
        if is_loopback(options.host)
        else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=False,
        transport_security=security,
        host=options.host,
    )
    return bearer_only(app, options.token)


async def serve_http(server: MCPServer[Any], options: HttpOptions) -> None:
    """Serve until interrupted: SIGTERM (a service manager's stop) returns after a graceful
    shutdown; SIGINT raises ``KeyboardInterrupt`` after it, as uvicorn does."""
    import uvicorn  # noqa: PLC0415 - the mcp extra brings it; only --http loads it

    config = uvicorn.Config(
        http_app(server, options),
        host=options.host,
        port=options.port,
        log_level="warning",
        access_log=False,  # request lines would say nothing the operator needs
        lifespan="on",
    )
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the
    # handler it found; with this one in place, that ends the serve rather than the process.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stopped) if in_main_thread else None
    try:
        await uvicorn.Server(config).serve()
    finally:
        if previous is not None:
            _ = signal.signal(signal.SIGTERM, previous)


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM once uvicorn has shut down: nothing is left to do."""
