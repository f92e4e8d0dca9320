"""``ldstore mcp --http``: streamable HTTP at /mcp behind the operator's bearer token.

One server process (``ldstore mcp --http 127.0.0.1:PORT``) serves the module; it is
stopped by its PID.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, Literal

import aiohttp
import httpx2
import mcp
import pytest
import pytest_asyncio
from ldstore_process import ldstore_executable
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult
from mcp_support import (
    ENVIRONMENT,
    KEYS,
    PROJECT,
    TOKEN,
    answering,
    dumped,
    error_of,
    server_environment,
    structured,
)

from ldstore.cli._errors import EXIT_INTERRUPTED
from ldstore.testing import FakeLaunchDarkly

pytestmark = pytest.mark.asyncio(loop_scope="module")

BEARER = "mcp-http-bearer-5e4d3c2b1a09"  # what the operator gives clients
START_TIMEOUT = 30.0  # seconds for the server to listen; it takes one or two


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncGenerator[FakeLaunchDarkly, None]:
    """One fake for the module, with a long token so that redaction applies."""
    async with FakeLaunchDarkly(TOKEN, sync_delay=0.05) as served:
        yield served


@pytest.fixture(autouse=True)
def fresh_fake(fake: FakeLaunchDarkly) -> None:
    """Each test starts from an empty fake."""
    fake.reset()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def url(fake: FakeLaunchDarkly) -> AsyncGenerator[str, None]:
    """``ldstore mcp --http`` on a free loopback port; its /mcp URL. Stopped by PID."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        ldstore_executable(),
        "mcp",
        "--http",
        f"127.0.0.1:{port}",
        "--http-token-env",
        "LDSTORE_MCP_BEARER",
        env=server_environment(fake, LDSTORE_MCP_BEARER=BEARER),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _listening(process, port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        # Ctrl-C, as an operator stops it: uvicorn shuts down, ldstore says "interrupted"
        # (and coverage, measuring the child, writes its data on the way out).
        process.send_signal(signal.SIGINT)
        try:
            code = await asyncio.wait_for(process.wait(), START_TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
        assert code == EXIT_INTERRUPTED


async def _listening(process: asyncio.subprocess.Process, port: int) -> None:
    """Return once ``process`` accepts connections on ``port`` (START_TIMEOUT at most)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        assert process.returncode is None, "ldstore mcp --http exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            assert loop.time() < deadline, "ldstore mcp --http did not listen in time"
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


@asynccontextmanager
async def http_session(url: str, bearer: str = BEARER) -> AsyncGenerator[ClientSession, None]:
    """mcp's ClientSession over streamable HTTP, sending ``bearer``; its user says yes."""
    accept, _ = answering("accept")
    headers = {"Authorization": f"Bearer {bearer}"}
    http = httpx2.AsyncClient(headers=headers)
    async with (
        http,
        streamable_http_client(url, http_client=http) as (read, write, *_),
        ClientSession(read, write, elicitation_callback=accept) as session,
    ):
        _ = await session.initialize()
        yield session


@pytest.mark.parametrize("action", ["decline", "accept"])
async def test_a_2026_client_confirms_over_http(
    url: str, fake: FakeLaunchDarkly, action: Literal["decline", "accept"]
) -> None:
    """mcp.Client (the 2026-07-28 protocol: stateless, a question is answered by calling
    again) is asked before a delete; declined, nothing reaches the API."""
    integration_id = seed(fake)
    callback, asked = answering(action)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {BEARER}"})

    async with (
        http,
        mcp.Client(
            streamable_http_client(url, http_client=http), elicitation_callback=callback
        ) as client,
    ):
        result = await client.call_tool(
            "delete_big_segment_store_integration", {**KEYS, "integration_id": integration_id}
        )
        version = client.session.protocol_version

    assert version == "2026-07-28"
    assert len(asked) == 1
    if action == "decline":
        assert structured(result)["changed"] is False
        assert fake.requests == []
    else:
        assert structured(result)["deleted"] is True
        assert [request.method for request in fake.requests] == ["DELETE"]


def seed(fake: FakeLaunchDarkly) -> str:
    """Plant a Redis integration in default/production and return its ID."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Seeded", config={"host": "redis.internal"}
    )
    return str(stored["_id"])


_INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0000000000", f"Bearer {TOKEN}", BEARER, f"bearer {BEARER}x"],
)
async def test_a_request_without_the_bearer_token_is_refused(
    url: str, fake: FakeLaunchDarkly, authorization: str | None
) -> None:
    """No token, a wrong one, the LaunchDarkly token, the token without "Bearer": 401 with
    WWW-Authenticate, before the MCP server sees it; nothing reaches the API."""
    headers = {"Accept": "application/json, text/event-stream"}
    if authorization is not None:
        headers["Authorization"] = authorization
    call: dict[str, Any] = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "list_big_segment_store_integrations", "arguments": {}},
    }

    async with aiohttp.ClientSession() as http:
        answers = [await http.post(url, json=body, headers=headers) for body in (_INITIALIZE, call)]
        bodies = [await answer.read() for answer in answers]

    assert [answer.status for answer in answers] == [401, 401]
    assert all(answer.headers["WWW-Authenticate"].startswith("Bearer") for answer in answers)
    assert all("error" in json.loads(body) for body in bodies)
    assert fake.requests == []


async def test_the_python_client_over_http(url: str, fake: FakeLaunchDarkly) -> None:
    """With the bearer token: list, a 404, and a confirmed delete, over streamable HTTP;
    the LaunchDarkly token never comes back."""
    integration_id = seed(fake)
    by_id = {**KEYS, "integration_id": integration_id}

    async with http_session(url) as session:
        listed = await session.call_tool("list_big_segment_store_integrations", {})
        missing = await session.call_tool(
            "get_big_segment_store_integration", {**by_id, "integration_id": "nope"}
        )
        deleted = await session.call_tool("delete_big_segment_store_integration", by_id)

    assert [item["_id"] for item in structured(listed)["items"]] == [integration_id]
    assert error_of(missing)["kind"] == "NotFoundError"
    assert structured(deleted)["deleted"] is True
    assert fake.integrations == []
    results: tuple[CallToolResult, ...] = (listed, missing, deleted)
    assert all(TOKEN not in dumped(result) for result in results)


async def test_sigterm_stops_the_http_server_with_exit_0(fake: FakeLaunchDarkly) -> None:
    """A service manager's stop (SIGTERM): a graceful shutdown, then exit 0, not death by
    the signal uvicorn raises again."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        ldstore_executable(),
        "mcp",
        "--http",
        f"127.0.0.1:{port}",
        "--http-token-env",
        "LDSTORE_MCP_BEARER",
        env=server_environment(fake, LDSTORE_MCP_BEARER=BEARER),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _listening(process, port)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), START_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            _ = await process.wait()
    assert process.stderr is not None
    stderr = (await process.stderr.read()).decode()

    assert code == 0, stderr
    assert "Traceback" not in stderr
