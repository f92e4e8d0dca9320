"""``ldstore watch`` as users run it: --once and its exit codes, bad files, signals, secrets."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from ldstore_process import clean_environment

from ldstore.testing import FakeLaunchDarkly
from ldstore.text import secret_forms
from ldstore.watch import alert_rules

from .support import WatchedRedis, free_port, run_cli, silent_server, watching
from .test_poll import seed

ServeFake = Callable[[FakeLaunchDarkly], Awaitable[FakeLaunchDarkly]]  # tests/conftest.py's fixture
TOKEN = "api-watch-secret-token-3b7c9d"  # made up; tests check it never shows
TIMEOUT = aiohttp.ClientTimeout(total=5)


@pytest.fixture
async def token_fake(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A running fake whose token is TOKEN (its exchanges checked against the spec)."""
    return await serve_fake(FakeLaunchDarkly(TOKEN))


def stores_file(
    tmp_path: Path, redis: WatchedRedis, *, name: str = "Prod Redis", url: str | None = None
) -> Path:
    path = tmp_path / "stores.toml"
    _ = path.write_text(
        f"""\
[[store]]
project = "default"
environment = "production"
kind = "redis"
name = "{name}"
url = "{url or redis.url}"
password_env = "WATCH_REDIS_PASSWORD"
prefix = "client-side-id"
""",
        encoding="utf-8",
    )
    return path


def environment(fake: FakeLaunchDarkly, redis: WatchedRedis) -> dict[str, str]:
    return clean_environment(
        LD_ACCESS_TOKEN=fake.token, LD_BASE_URI=fake.url, WATCH_REDIS_PASSWORD=redis.password
    )


async def test_once_json_exits_0_when_every_store_is_healthy_and_4_when_one_is_not(
    token_fake: FakeLaunchDarkly, redis_store: WatchedRedis, tmp_path: Path
) -> None:
    """--once --output json prints the findings; the exit code says healthy (0) or not (4)."""
    _ = seed(token_fake)
    redis_store.seed("client-side-id")
    path = stores_file(tmp_path, redis_store)
    env = environment(token_fake, redis_store)

    healthy = await run_cli(
        "watch", "--stores", str(path), "--once", "--output", "json", environment=env
    )
    redis_store.seed("client-side-id", synchronized_on=1_700_000_000_000)
    stale = await run_cli(
        "watch", "--stores", str(path), "--once", "--output", "json", environment=env
    )

    assert healthy.code == 0, healthy.stderr
    document = json.loads(healthy.stdout)
    assert (document["healthy"], document["api_up"]) == (True, True)
    assert document["integrations"][0]["store"]["healthy"] is True
    assert stale.code == 4, stale.stderr
    assert (
        json.loads(stale.stdout)["integrations"][0]["store"]["synchronized_on"]
        == "2023-11-14T22:13:20.000Z"
    )


async def test_once_prints_the_metrics_page(
    token_fake: FakeLaunchDarkly, redis_store: WatchedRedis, tmp_path: Path
) -> None:
    """--once without --output json: the Prometheus text page on stdout."""
    _ = seed(token_fake)
    redis_store.seed("client-side-id")

    done = await run_cli(
        "watch", "--stores", str(stores_file(tmp_path, redis_store)), "--once",
        environment=environment(token_fake, redis_store),
    )  # fmt: skip

    assert done.code == 0, done.stderr
    assert "ldstore_watch_api_up 1.0" in done.stdout
    assert 'ldstore_store_healthy{environment="production"' in done.stdout


@pytest.mark.parametrize("budget", [["--retry-budget", "0"], []])
async def test_once_exits_3_when_the_api_cannot_be_reached(budget: list[str]) -> None:
    """Bound: a closed port, with --retry-budget 0 or the CLI's first-contact budget: exit 3 in 10 s."""
    env = clean_environment(LD_ACCESS_TOKEN=TOKEN)
    started = time.monotonic()

    done = await run_cli(
        "watch", "--once", "--output", "json", *budget,
        "--base-uri", f"http://127.0.0.1:{free_port()}", environment=env,
    )  # fmt: skip

    assert done.code == 3, done.stderr
    assert time.monotonic() - started < 10
    assert json.loads(done.stdout) == {"healthy": False, "api_up": False, "integrations": []}
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('password = "hunter2-inline"', "an inline password is refused"),
        ('url = "redis://w:hunter2-inline@127.0.0.1:1/0"', "url holds a password"),
    ],
)
async def test_a_bad_stores_file_is_one_line_exit_2_and_nothing_served(
    tmp_path: Path, line: str, problem: str
) -> None:
    """Refused before anything is served: exit 2, one stderr line naming file:line, no value."""
    path = tmp_path / "stores.toml"
    _ = path.write_text(
        f'[[store]]\nproject = "p"\nenvironment = "e"\nkind = "redis"\nname = "n"\n{line}\n'
        + ('url = "redis://127.0.0.1:1/0"\n' if line.startswith("password") else ""),
        encoding="utf-8",
    )
    port = free_port()

    done = await run_cli(
        "watch", "--stores", str(path), "--listen", f"127.0.0.1:{port}",
        environment=clean_environment(LD_ACCESS_TOKEN=TOKEN),
    )  # fmt: skip

    assert done.code == 2
    assert done.stdout == ""
    (error,) = done.stderr.splitlines()
    assert error.startswith(f"ldstore: error: {path}:6: store[0]: {problem}")
    assert "hunter2" not in done.stderr


async def test_an_unset_password_variable_is_exit_2_naming_it(
    tmp_path: Path, redis_store: WatchedRedis
) -> None:
    """password_env names a variable that is not set: exit 2 before serving."""
    env = clean_environment(LD_ACCESS_TOKEN=TOKEN)
    del env["WATCH_REDIS_PASSWORD"]  # set in this process by the redis_store fixture

    done = await run_cli(
        "watch", "--stores", str(stores_file(tmp_path, redis_store)), "--listen", "127.0.0.1:0",
        environment=env,
    )  # fmt: skip

    assert done.code == 2
    assert "WATCH_REDIS_PASSWORD (its password_env) is not set" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_it_with_exit_0_within_2_s_even_mid_poll(
    token_fake: FakeLaunchDarkly, redis_store: WatchedRedis, tmp_path: Path, signum: signal.Signals
) -> None:
    """Bound: SIGTERM or SIGINT while a store read hangs (30 s timeout): exit 0 within 2 s."""
    _ = seed(token_fake)
    async with silent_server() as port:
        path = stores_file(tmp_path, redis_store, url=f"redis://127.0.0.1:{port}/0")
        async with watching(
            "--stores",
            str(path),
            "--store-timeout",
            "30",
            environment=environment(token_fake, redis_store),
        ) as running:
            await asyncio.sleep(0.5)  # the poll is now waiting on the silent store
            assert running.process.returncode is None
            started = time.monotonic()
            running.process.send_signal(signum)
            code = await asyncio.wait_for(running.process.wait(), 5)
            elapsed = time.monotonic() - started

    assert code == 0
    assert elapsed < 2, elapsed


async def test_served_pages_and_logs_never_show_the_token_or_password(
    token_fake: FakeLaunchDarkly, redis_store: WatchedRedis, tmp_path: Path
) -> None:
    """With --debug and a store refusing a wrong password: no form of either secret anywhere."""
    _ = seed(token_fake)
    wrong = "wrong-p@ss-6a2e9f"
    env = environment(token_fake, redis_store) | {"WATCH_REDIS_PASSWORD": wrong}
    pages: list[str] = []
    async with watching(
        "--stores",
        str(stores_file(tmp_path, redis_store)),
        "--interval",
        "0.2",
        "--debug",
        environment=env,
    ) as running:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            for _ in range(50):
                async with http.get(f"{running.base}/readyz") as ready:
                    if ready.status == 200:
                        break
                await asyncio.sleep(0.1)
            for path in ("/metrics", "/healthz", "/readyz"):
                async with http.get(f"{running.base}{path}") as page:
                    pages.append(await page.text())
            accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
            async with http.get(f"{running.base}/metrics", headers=accept) as page:
                pages.append(await page.text())
        running.process.terminate()
        assert await asyncio.wait_for(running.process.wait(), 5) == 0
        assert running.process.stderr is not None
        rest = (await running.process.stderr.read()).decode()

    everything = "".join(pages) + "".join(running.stderr) + rest
    assert 'ldstore_store_reachable{environment="production"' in pages[0]
    assert "ldstore: " in everything
    for secret in (TOKEN, wrong, redis_store.password):
        assert not any(form in everything for form in secret_forms(secret)), secret


async def test_alert_rules_prints_the_shipped_rules(tmp_path: Path) -> None:
    """--alert-rules: the YAML shipped in the package, byte for byte, without a token."""
    done = await run_cli("watch", "--alert-rules", environment=clean_environment())

    assert done.code == 0
    assert done.stdout == alert_rules()
    assert "alert: BigSegmentStoreStale" in done.stdout


async def test_the_parser_loads_without_aiohttp_or_prometheus_client() -> None:
    """Start-up: building every command's parser imports neither."""
    code = (
        "import sys; from ldstore.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('aiohttp', 'prometheus_client', 'redis') if m in sys.modules))"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 30)

    assert stdout.decode().strip() == "[]"


async def test_a_listen_address_in_use_is_exit_2(
    token_fake: FakeLaunchDarkly, redis_store: WatchedRedis
) -> None:
    """Another process holds the port: one line, exit 2."""
    server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        done = await run_cli(
            "watch",
            "--listen",
            f"127.0.0.1:{port}",
            environment=environment(token_fake, redis_store),
        )
    finally:
        server.close()
        await server.wait_closed()

    assert done.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


@pytest.mark.parametrize("listen", ["9464", "host:99999"])
async def test_a_bad_listen_address_is_a_usage_error(listen: str) -> None:
    """--listen must be HOST:PORT."""
    done = await run_cli(
        "watch", "--listen", listen, environment=clean_environment(LD_ACCESS_TOKEN=TOKEN)
    )

    assert done.code == 2
    assert "--listen must be HOST:PORT" in done.stderr


async def test_served_an_api_gone_away_keeps_the_last_values_and_api_up_goes_to_0(
    redis_store: WatchedRedis,
) -> None:
    """Bound: --interval 0.3 --retry-budget 0 --timeout 1: api_up 0 within 3 s, values kept, still serving."""
    fake = FakeLaunchDarkly(TOKEN)
    async with fake:
        item = seed(fake)
        env = environment(fake, redis_store)
        async with (
            watching(
                "--interval", "0.3", "--retry-budget", "0", "--timeout", "1", environment=env
            ) as running,
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
        ):

            async def page() -> str:
                async with http.get(f"{running.base}/metrics") as answer:
                    return await answer.text()

            for _ in range(50):
                if "ldstore_watch_api_up 1.0" in await page():
                    break
                await asyncio.sleep(0.1)
            await fake.__aexit__(None, None, None)  # the API goes away
            gone = time.monotonic()
            while "ldstore_watch_api_up 0.0" not in (text := await page()):
                assert time.monotonic() - gone < 3, text
                await asyncio.sleep(0.1)
            assert running.process.returncode is None

    assert f'id="{item["_id"]}"' in text
    assert 'ldstore_api_requests_total{status="network"}' in text
