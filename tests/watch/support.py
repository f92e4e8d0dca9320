"""Real servers for the watcher's tests: a redis-server, a store that never answers, ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Generator, Mapping
from pathlib import Path
from typing import Protocol, cast

import attrs
import pytest
import redis

STARTUP = 10.0  # seconds a server may take to start, far above what it takes
SYNCED = "big_segments_synchronized_on"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def require(program: str, package: str) -> str:
    """The path of ``program``; skipped without it, except in CI, where it must be there."""
    found = shutil.which(program)
    if found is not None:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{program} is not installed; .ci/run installs it (apt-get install {package})")
    pytest.skip(f"{program} is not installed (Debian: apt-get install {package})")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started, by its PID: terminate, then kill."""
    process.terminate()
    try:
        _ = process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        _ = process.wait(5)


class Admin(Protocol):
    """The commands the tests send with redis-py's (loosely typed) synchronous client."""

    def set(self, name: str, value: str) -> object: ...
    def sadd(self, name: str, *values: str) -> object: ...
    def flushall(self) -> object: ...
    def ping(self) -> object: ...
    def close(self) -> None: ...


@attrs.frozen
class RedisServer:
    """A redis-server of our own on 127.0.0.1, with a user ``watcher`` that only reads."""

    port: int
    admin: Admin
    password: str = "watcher-secret-5e1d"  # made up; tests check it never shows

    @property
    def url(self) -> str:
        """The URL a stores file holds: the user, never the password."""
        return f"redis://watcher@127.0.0.1:{self.port}/0"

    def seed(self, prefix: str, *, synchronized_on: int | None = None) -> None:
        """Write what LaunchDarkly writes: synchronizedOn and one membership set."""
        _ = self.admin.set(
            f"{prefix}:{SYNCED}", str(now_ms() if synchronized_on is None else synchronized_on)
        )
        _ = self.admin.sadd(f"{prefix}:big_segment_include:abc=", "segment.g1")


@contextlib.contextmanager
def redis_server(directory: Path) -> Generator[RedisServer, None, None]:
    """Start redis-server (no persistence) on a free port; stop it by PID at the end."""
    program = require("redis-server", "redis-server")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own redis-server, fixed arguments
        [
            program,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=STARTUP)
    admin = cast("Admin", client)
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            try:
                _ = admin.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        server = RedisServer(port, admin)
        _ = client.acl_setuser(  # pyright: ignore[reportUnknownMemberType]  # redis types **kwargs loosely
            "watcher",
            enabled=True,
            passwords=[f"+{server.password}"],
            keys=["~*"],
            commands=["+@read", "+ping"],
        )
        yield server
    finally:
        admin.close()
        stop(process)


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


def ldstore_executable() -> str:
    beside = Path(sys.executable).parent / "ldstore"
    return str(beside) if beside.exists() else shutil.which("ldstore") or "ldstore"


def cli_environment(**extra: str) -> dict[str, str]:
    """This process's environment without ldstore settings or a config file, plus ``extra``."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LD_", "LDSTORE_", "XDG_CONFIG_HOME"))
    }
    environment["XDG_CONFIG_HOME"] = str(Path(__file__).parent / "no-such-config-home")
    environment.update(extra)
    return environment


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
