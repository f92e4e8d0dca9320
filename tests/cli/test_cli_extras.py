"""``ldstore fake-server``, Ctrl-C and ``python -m ldstore`` through the installed script."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import aiohttp
from cli_support import spawn
from ldstore_process import clean_environment

from ldstore.testing import FakeLaunchDarkly, Hang


async def test_fake_server_serves_until_sigint() -> None:
    """`ldstore fake-server --port 0` prints its URL first, answers the API, exits 0 on SIGINT."""
    process = await spawn(
        "fake-server",
        "--port",
        "0",
        "--seed",
        "2",
        "--token",
        "api-served-token",
        env=clean_environment(),
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.removeprefix("listening on ").strip()
        headers = {"Authorization": "api-served-token", "LD-API-Version": "beta"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{url}/api/v2/integration-capabilities/big-segment-store", headers=headers
            ) as response,
        ):
            status = response.status
            document = await response.json()

        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        _ = await process.wait()

    assert status == 200
    assert len(document["items"]) == 2
    assert code == 0


async def test_ctrl_c_exits_130_saying_interrupted(fake: FakeLaunchDarkly) -> None:
    """SIGINT while a call is in flight: exit 130, no traceback, one `interrupted` line."""
    fake.schedule(Hang())
    process = await spawn(
        "list",
        env=clean_environment(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN=fake.token),
    )
    try:
        await asyncio.wait_for(_first_request(fake), 10)
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        _ = await process.wait()

    assert (process.returncode, stdout, stderr) == (130, b"", b"ldstore: interrupted\n")


async def test_python_dash_m_ldstore_is_the_cli() -> None:
    """`python -m ldstore --version` runs the same command line."""
    process = await spawn("--version", program=(sys.executable, "-m", "ldstore"))
    stdout, _ = await asyncio.wait_for(process.communicate(), 10)

    assert process.returncode == 0
    assert stdout.decode().startswith("ldstore ")


async def _first_request(fake: FakeLaunchDarkly) -> None:
    while not fake.requests:  # noqa: ASYNC110 - the fake's log has no event to wait on
        await asyncio.sleep(0.02)
