"""The watcher's view of the suite's redis-server, a store that never answers, the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, Mapping

import attrs
import pytest
from doctor.support import READER_PASSWORD, RedisServer, free_port, now_ms, require, stop
from ldstore_process import ldstore_executable

__all__ = [
    "Completed",
    "WatchedRedis",
    "Watching",
    "free_port",
    "now_ms",
    "require",
    "run_cli",
    "silent_server",
    "stop",
    "watching",
]

SYNCED = "big_segments_synchronized_on"
WATCHER = "watcher"  # the suite's read-only Redis user for the watcher (doctor.support.USERS)


@attrs.frozen
class WatchedRedis:
    """The suite's redis-server (tests/store_servers.py) as a stores file names it."""

    server: RedisServer
    password: str = READER_PASSWORD  # made up; tests check it never shows

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        """The URL a stores file holds: the user, never the password."""
        return f"redis://{WATCHER}@127.0.0.1:{self.port}/0"

    def seed(self, prefix: str, *, synchronized_on: int | None = None) -> None:
        """Write what LaunchDarkly writes: synchronizedOn and one membership set."""
        admin = self.server.admin
        _ = admin.set(
            f"{prefix}:{SYNCED}", str(now_ms() if synchronized_on is None else synchronized_on)
        )
        _ = admin.sadd(f"{prefix}:big_segment_include:abc=", "segment.g1")


@contextlib.asynccontextmanager
async def silent_server() -> AsyncGenerator[int, None]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers; yields its port."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        port: int = server.sockets[0].getsockname()[1]
        yield port
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


# The command line, as users run it: the installed console script in a subprocess.

CLI_TIMEOUT = 30.0  # seconds one command may take, far above what any takes


@attrs.frozen
class Completed:
    code: int
    stdout: str
    stderr: str


async def run_cli(*args: str, environment: Mapping[str, str]) -> Completed:
    """Run ``ldstore ARGS`` to the end (the event loop keeps serving in-process fakes)."""
    process = await asyncio.create_subprocess_exec(
        ldstore_executable(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(environment),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    assert process.returncode is not None
    return Completed(process.returncode, stdout.decode(), stderr.decode())


@attrs.define
class Watching:
    """A running ``ldstore watch``: its process, its metrics URL, and what it wrote to stderr."""

    process: asyncio.subprocess.Process
    base: str
    stderr: list[str]


@contextlib.asynccontextmanager
async def watching(*args: str, environment: Mapping[str, str]) -> AsyncGenerator[Watching, None]:
    """Start ``ldstore watch ARGS --listen 127.0.0.1:0``; stop it by PID at the end."""
    process = await asyncio.create_subprocess_exec(
        ldstore_executable(),
        "watch",
        *args,
        "--listen",
        "127.0.0.1:0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(environment),
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while True:
            raw = await asyncio.wait_for(process.stderr.readline(), CLI_TIMEOUT)
            if not raw:
                pytest.fail(f"ldstore watch ended before serving: {''.join(lines)}")
            lines.append(raw.decode())
            found = re.search(r"metrics at (http://\S+)/metrics", lines[-1])
            if found:
                break
        yield Watching(process, found.group(1), lines)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                _ = await asyncio.wait_for(process.wait(), 5)
            except asyncio.TimeoutError:
                process.kill()
                _ = await process.wait()
