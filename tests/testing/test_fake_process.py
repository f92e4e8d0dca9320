"""Running the fake: as a process, with serve_forever, through pytest and aiohttp_server."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import sys
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from ldstore.testing import FakeLaunchDarkly, make_app, serve_forever
from ldstore.testing.__main__ import main

from .fakeclient import BASE, FakeClient

START_TIMEOUT = 15


async def get_list(session: aiohttp.ClientSession, url: str, token: str) -> tuple[int, Any, str]:
    """GET the list at base `url`: status, JSON body and the global rate-limit header."""
    headers = {"Authorization": token, "LD-API-Version": "beta"}
    async with session.get(url + BASE, headers=headers) as response:
        remaining = response.headers.get("X-Ratelimit-Global-Remaining", "")
        return response.status, await response.json(), remaining


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_command_line_serves_until_signalled(
    session: aiohttp.ClientSession, signum: signal.Signals
) -> None:
    """`python -m ldstore.testing --port 0` prints its URL first, serves, exits 0 on a signal."""
    options = ["--port", "0", "--token", "api-cli", "--seed", "3", "--rate-limit", "50"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ldstore.testing",
        *options,
        "--list-includes-config",
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        second = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        url = first.decode().removeprefix("listening on ").strip()

        status, listing, remaining = await get_list(session, url, "api-cli")

        process.send_signal(signum)
        rest, _ = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            _ = await process.wait()

    assert first.decode().startswith("listening on http://127.0.0.1:")
    assert second.decode().strip() == "token: api-cli"
    assert status == 200
    assert len(listing["items"]) == 3
    assert all("config" in item for item in listing["items"])
    assert remaining == "49"
    assert rest == b""
    assert process.returncode == 0


class Announced(io.StringIO):
    """A text buffer that tells when something was written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = asyncio.Event()

    def write(self, s: str, /) -> int:
        self.written.set()
        return super().write(s)


async def test_serve_forever_stops_on_its_event(session: aiohttp.ClientSession) -> None:
    """serve_forever announces the URL on `out` and returns once `stop` is set."""
    out = Announced()
    stop = asyncio.Event()
    fake = FakeLaunchDarkly("api-serve")
    serving = asyncio.create_task(serve_forever(fake, seed=2, out=out, stop=stop))
    _ = await asyncio.wait_for(out.written.wait(), START_TIMEOUT)

    status, listing, _ = await get_list(session, fake.url, "api-serve")
    stop.set()
    await asyncio.wait_for(serving, START_TIMEOUT)

    assert out.getvalue() == f"listening on {fake.url}\ntoken: api-serve\n"
    assert status == 200
    assert [item["integrationKey"] for item in listing["items"]] == ["redis", "dynamodb"]


def test_command_line_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    """main(["--help"]) documents every option."""
    with pytest.raises(SystemExit) as exited:
        _ = main(["--help"])

    assert exited.value.code == 0
    text = capsys.readouterr().out
    for option in ("--host", "--port", "--token", "--seed", "--sync-delay", "--rate-limit",
                   "--rate-limit-window", "--list-includes-config", "--latency"):  # fmt: skip
        assert option in text


async def test_ld_fake_fixture_is_a_running_fake(
    ld_fake: FakeLaunchDarkly, session: aiohttp.ClientSession
) -> None:
    """The pytest plugin's ld_fake fixture (entry point pytest11) serves the API."""
    answer = await FakeClient(ld_fake, session).send("GET")

    assert answer.status == 200
    assert isinstance(ld_fake, FakeLaunchDarkly)


def test_plugin_import_leaves_the_fake_unloaded() -> None:
    """Importing the plugin (as pytest does in every run) loads neither the fake nor jsonpatch."""
    code = (
        "import sys, ldstore.testing.pytest_plugin\n"
        "print(sorted(m for m in ('jsonpatch', 'ldstore.testing._server') if m in sys.modules))\n"
        "from ldstore.testing import FakeLaunchDarkly\n"
        "print('jsonpatch' in sys.modules)\n"
    )

    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=START_TIMEOUT
    )

    assert done.stdout.decode().split() == ["[]", "True"]


def test_plugin_works_in_strict_asyncio_mode(pytester: pytest.Pytester) -> None:
    """A user's suite in pytest-asyncio's strict mode gets a working ld_fake."""
    _ = pytester.makepyfile(
        """
        import aiohttp
        import pytest

        @pytest.mark.asyncio
        async def test_uses_fake(ld_fake):
            headers = {"Authorization": ld_fake.token, "LD-API-Version": "beta"}
            url = ld_fake.url + "/api/v2/integration-capabilities/big-segment-store"
            async with aiohttp.ClientSession() as session:
                async with session.get(url, headers=headers) as response:
                    assert response.status == 200
        """
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=strict")

    result.assert_outcomes(passed=1)


async def test_make_app_serves_with_aiohttp_server(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    """make_app(fake) is an aiohttp Application that pytest-aiohttp can serve."""
    fake = FakeLaunchDarkly("api-test")
    server = await aiohttp_server(make_app(fake))
    _ = fake.seed_integration("default", "test", "redis", name="r", config={"host": "h"})

    status, listing, _ = await get_list(session, str(server.make_url("")).rstrip("/"), "api-test")

    assert status == 200
    assert len(listing["items"]) == 1
    assert make_app() is not make_app()


def test_url_needs_a_running_fake() -> None:
    """fake.url before the fake is started is an error that says how to start it."""
    with pytest.raises(RuntimeError, match="async with"):
        _ = FakeLaunchDarkly().url
