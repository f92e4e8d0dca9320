"""Small misbehaving servers on 127.0.0.1 for the test_hostile_* modules.

Each is one aiohttp.web handler answering every path; the server counts what reached it,
so a test can state how many requests the origin saw.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
from aiohttp import web
from aiohttp.test_utils import TestServer

from ldstore import Core, RetryConfig
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchBody

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN = "api-hostile-0123456789abcdef"
PASSWORD = "redis-password-hunter2"
FAST = RetryConfig(initial_interval=0.001, max_interval=0.01, max_elapsed_time=5.0)
SLACK = 2.0  # seconds a loaded 2-core machine may add to any bound


@attrs.define
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float  # monotonic


@attrs.define
class Hostile:
    url: str
    hits: list[Hit] = attrs.field(factory=list[Hit])


@asynccontextmanager
async def serve(handler: Handler) -> AsyncGenerator[Hostile]:
    """Serve ``handler`` on 127.0.0.1 at a free port; every request is recorded first."""
    hostile = Hostile(url="")

    async def recording(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        hostile.hits.append(
            Hit(request.method, request.raw_path, dict(request.headers), body, time.monotonic())
        )
        return await handler(request)

    app = web.Application()
    _ = app.router.add_route("*", "/{tail:.*}", recording)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    hostile.url = str(server.make_url("/"))
    try:
        yield hostile
    finally:
        await server.close()


def core_at(url: str, **options: Any) -> Core:
    options.setdefault("retry_config", RetryConfig.none())
    options.setdefault("timeout", 5.0)
    return Core(TOKEN, server_url=url, **options)


def answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> Handler:
    """A handler that always gives the same answer (a JSON body unless bytes)."""
    raw = (
        body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    )

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=raw, headers=headers)

    return handler


def script(*handlers: Handler) -> Handler:
    """The first request gets the first handler, and so on; the last one repeats."""
    served = [0]

    async def handler(request: web.Request) -> web.StreamResponse:
        index = min(served[0], len(handlers) - 1)
        served[0] += 1
        return await handlers[index](request)

    return handler


async def hang(_: web.Request) -> web.StreamResponse:
    _forever = await asyncio.Event().wait()  # until the client gives up and the server closes
    raise AssertionError  # pragma: no cover - never reached


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def integration(**fields: Any) -> dict[str, Any]:
    """A valid integration as the API sends it."""
    wire: dict[str, Any] = {
        "_links": {
            name: {"href": f"/{name}", "type": "application/json"}
            for name in ("self", "parent", "project", "environment")
        },
        "_id": "abc",
        "integrationKey": "redis",
        "projectKey": "default",
        "environmentKey": "production",
        "config": {"host": "h"},
        "on": True,
        "tags": [],
        "name": "n",
        "version": 1,
        "_status": {"available": True, "potentiallyStale": False},
    }
    wire.update(fields)
    return wire


def get_request() -> GetBigSegmentStoreIntegrationRequest:
    return GetBigSegmentStoreIntegrationRequest("default", "production", "redis", "abc")


def patch_request(body: PatchBody) -> PatchBigSegmentStoreIntegrationRequest:
    return PatchBigSegmentStoreIntegrationRequest("default", "production", "redis", "abc", body)


def delete_request() -> DeleteBigSegmentStoreIntegrationRequest:
    return DeleteBigSegmentStoreIntegrationRequest("default", "production", "redis", "abc")


def create_request() -> CreateBigSegmentStoreIntegrationRequest:
    from ldstore.models import IntegrationDeliveryConfigurationPost, RedisConfig  # noqa: PLC0415

    return CreateBigSegmentStoreIntegrationRequest(
        "default",
        "production",
        "redis",
        IntegrationDeliveryConfigurationPost(RedisConfig("h", password=PASSWORD), name="n"),
    )
