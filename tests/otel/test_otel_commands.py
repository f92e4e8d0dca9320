"""`ldstore watch` and `ldstore mcp --http` export over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is
set: the commands' calls reach a local OTLP/HTTP receiver; without it, OpenTelemetry is never
imported."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import httpx2
import pytest
import test_otel_export
from conftest import ServeFake
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from sdk import seed
from test_otel_export import Receiver

from ldstore.testing import FakeLaunchDarkly

receiver = test_otel_export.receiver  # the OTLP/HTTP receiver fixture, shared

TOKEN = "api-otlp-command-secret-77"  # the fake's token: never exported
BEARER = "mcp-otlp-bearer-0a1b2c3d4e5f"  # the MCP clients' token
TIMEOUT = 60.0  # seconds for a process: the exporter's own timeout is 10 s


def ldstore() -> str:
    return str(Path(sys.executable).parent / "ldstore")


def environment(fake: FakeLaunchDarkly, tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without ldstore's or OpenTelemetry's settings, naming ``fake``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "LDSTORE_", "OTEL_"))}
    return {
        **clean,
        "LD_BASE_URI": fake.url,
        "LD_ACCESS_TOKEN": fake.token,
        "XDG_CONFIG_HOME": str(tmp_path / "no-config"),
        **extra,
    }


def span_names(receiver: Receiver) -> list[str]:
    """ldstore's spans (the mcp package traces its own requests too, once a provider is set)."""
    return sorted(
        span.name
        for export in receiver.traces
        for resource in export.resource_spans
        for scoped in resource.scope_spans
        if scoped.scope.name == "ldstore"
        for span in scoped.spans
    )


def metric_names(receiver: Receiver) -> set[str]:
    return {
        metric.name
        for export in receiver.metrics
        for resource in export.resource_metrics
        for scoped in resource.scope_metrics
        for metric in scoped.metrics
    }


async def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        ldstore(), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_watch_once_exports_its_calls(
    serve_fake: ServeFake, receiver: Receiver, tmp_path: Path
) -> None:
    """`ldstore watch --once` with OTEL_EXPORTER_OTLP_ENDPOINT: its list call arrives as an
    operation span and an attempt span, with ldstore's metrics; the token never does."""
    fake = await serve_fake(FakeLaunchDarkly(TOKEN))
    _ = seed(fake)
    env = environment(fake, tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)

    code, stdout, stderr = await run("watch", "--once", "--output", "json", env=env)

    assert code == 0, stderr
    assert json.loads(stdout)["api_up"] is True
    assert span_names(receiver) == ["GET", "getBigSegmentStoreIntegrations"]
    assert "http.client.request.duration" in metric_names(receiver)
    assert not any(TOKEN.encode() in body for body in receiver.raw)


async def test_watch_once_without_the_variable_loads_no_opentelemetry(
    serve_fake: ServeFake, receiver: Receiver, tmp_path: Path
) -> None:
    """Without OTEL_EXPORTER_OTLP_ENDPOINT the command imports no OpenTelemetry module (its
    start-up does not pay for it) and nothing reaches the receiver."""
    fake = await serve_fake(FakeLaunchDarkly(TOKEN))
    env = environment(fake, tmp_path)
    program = (
        "import sys\nfrom ldstore.cli import main\n"
        "code = main(['watch', '--once', '--output', 'json'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'ldstore.otel')))\n"
        "print(loaded, file=sys.stderr)\nsys.exit(code)\n"
    )

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", program, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)

    assert process.returncode == 0, stderr
    assert stderr.decode().strip().splitlines()[-1] == "[]"
    assert receiver.raw == []


async def test_watch_without_the_export_extra_says_what_to_install(
    serve_fake: ServeFake, tmp_path: Path
) -> None:
    """Bound: the variable set but the SDK unimportable: exit 2, one line naming the extra,
    and no request reaches the API."""
    fake = await serve_fake(FakeLaunchDarkly(TOKEN))
    shadow = tmp_path / "shadow" / "opentelemetry" / "sdk"
    shadow.mkdir(parents=True)
    _ = (shadow / "__init__.py").write_text("raise ImportError(name='opentelemetry.sdk')\n")
    env = environment(
        fake,
        tmp_path,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        PYTHONPATH=str(tmp_path / "shadow"),
    )

    code, _, stderr = await run("watch", "--once", "--output", "json", env=env)

    assert code == 2, stderr
    assert "otel-export" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert fake.requests == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _listening(process: asyncio.subprocess.Process, port: int) -> None:
    for _ in range(int(TIMEOUT / 0.05)):
        assert process.returncode is None, "ldstore mcp --http exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    pytest.fail("ldstore mcp --http did not listen in time")


@pytest.mark.timeout(90)
async def test_mcp_http_exports_its_calls(
    serve_fake: ServeFake, receiver: Receiver, tmp_path: Path
) -> None:
    """`ldstore mcp --http` with OTEL_EXPORTER_OTLP_ENDPOINT: a tool call's API call arrives
    at the receiver once the server stops (SIGTERM, exit 0); the tokens never do."""
    fake = await serve_fake(FakeLaunchDarkly(TOKEN))
    _ = seed(fake)
    port = _free_port()
    env = environment(
        fake, tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, LDSTORE_MCP_BEARER=BEARER
    )
    process = await asyncio.create_subprocess_exec(
        ldstore(), "mcp", "--http", f"127.0.0.1:{port}", "--http-token-env", "LDSTORE_MCP_BEARER",
        env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await _listening(process, port)
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {BEARER}"})
        async with (
            http,
            streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as (
                read,
                write,
                *_,
            ),
            ClientSession(read, write) as session,
        ):
            _ = await session.initialize()
            listed = await session.call_tool("list_big_segment_store_integrations", {})
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            _ = await process.wait()
    assert process.stderr is not None
    stderr = (await process.stderr.read()).decode()

    assert code == 0, stderr
    assert listed.is_error is not True
    assert span_names(receiver) == ["GET", "getBigSegmentStoreIntegrations"]
    assert not any(TOKEN.encode() in body or BEARER.encode() in body for body in receiver.raw)
