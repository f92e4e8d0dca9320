"""The watcher's HTTP server: ``/metrics``, ``/healthz`` and ``/readyz`` (aiohttp)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from aiohttp import web

from ldstore.watch._metrics import Page
from ldstore.watch._watcher import Watcher

__all__ = ["make_app", "serving"]

_TEXT = "text/plain; charset=utf-8"


def make_app(watcher: Watcher) -> web.Application:
    """The application: ``GET /metrics`` (Prometheus text or OpenMetrics, as ``Accept``
    asks), ``GET /healthz`` (200 while the process runs) and ``GET /readyz`` (503
    until a poll has completed, then 200)."""
    page = Page(watcher, prerender=True)

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = page.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n", headers={"Content-Type": _TEXT})

    async def readyz(_: web.Request) -> web.Response:
        if watcher.ready:
            return web.Response(text="ready\n", headers={"Content-Type": _TEXT})
        return web.Response(
            status=503,
            text="not ready: no poll has completed yet\n",
            headers={"Content-Type": _TEXT},
        )

    app = web.Application()
    _ = app.router.add_get("/metrics", metrics)
    _ = app.router.add_get("/healthz", healthz)
    _ = app.router.add_get("/readyz", readyz)
    return app


@contextlib.asynccontextmanager
async def serving(watcher: Watcher, host: str, port: int) -> AsyncGenerator[tuple[str, int], None]:
    """Serve ``make_app(watcher)`` on ``host:port`` (0: a free port) while inside.

    Yields the address actually bound. Leaving stops the server within about half a
    second, whatever a scraper is doing.
    """
    runner = web.AppRunner(make_app(watcher), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        yield str(bound[0]), int(bound[1])
    finally:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(runner.cleanup(), 1.5)
