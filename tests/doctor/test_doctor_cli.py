"""``ldstore doctor`` as users run it: the installed command, in a subprocess, on real stores."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import attrs
import pytest

from ldstore.cli import main
from ldstore.testing import FakeLaunchDarkly

from .support import READER_PASSWORD, RedisServer, new_table, now_ms, seed_dynamodb, seed_redis

TIMEOUT = 30.0  # seconds for one command, far above what any takes
JSON_KEYS = [
    "store",
    "prefix",
    "synchronized_on",
    "age_seconds",
    "stale",
    "healthy",
    "checks",
    "memberships",
]


@attrs.frozen
class Completed:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return cast("dict[str, Any]", json.loads(self.stdout))

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def ldstore() -> str:
    return str(Path(sys.executable).parent / "ldstore")


async def run(environment: dict[str, str], *args: str, program: tuple[str, ...] = ()) -> Completed:
    """Run ``ldstore *args`` (or ``program``) with ``environment``; kill it after TIMEOUT."""
    process = await asyncio.create_subprocess_exec(
        *(program or (ldstore(), *args)),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        _ = await process.wait()
        raise
    assert process.returncode is not None
    return Completed(process.returncode, stdout.decode(), stderr.decode())


Invoke = Callable[..., Awaitable[Completed]]


@pytest.fixture
def invoke(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_environment: dict[str, str],
) -> Invoke:
    """Run ``main(args)`` in-process (in a thread: it runs its own event loop), with the
    environment of ``cli_environment`` plus ``extra``; the subprocess tests cover the script."""

    async def call(*args: str, **extra: str) -> Completed:
        for name in [*os.environ]:
            if name not in cli_environment:
                monkeypatch.delenv(name)
        for name, value in {**cli_environment, **extra}.items():
            monkeypatch.setenv(name, value)
        _ = capsys.readouterr()
        code = await asyncio.wait_for(asyncio.to_thread(main, list(args)), TIMEOUT)
        captured = capsys.readouterr()
        return Completed(code, captured.out, captured.err)

    return call


async def test_a_healthy_store_exits_0_with_a_line_per_check(
    redis_store: RedisServer, cli_environment: dict[str, str]
) -> None:
    """Human output: a heading, one marked line per check, a verdict; the password never shows."""
    seed_redis(redis_store.admin, synchronized_on=now_ms(), members={"user-1": (["beta.g1"], [])})

    done = await run(
        cli_environment,
        "doctor",
        "redis",
        "--url",
        redis_store.reader_url,
        "--context-key",
        "user-1",
    )

    assert done.code == 0, done.output
    lines = done.stdout.splitlines()
    assert (
        lines[0]
        == f"Redis store redis://doctor:[REDACTED]@127.0.0.1:{redis_store.port}/0, prefix 'launchdarkly'"
    )
    assert lines[1].split()[:2] == ["ok", "reachable"]
    assert any(line.startswith("ok    context 'user-1'") for line in lines)
    assert lines[-1] == "healthy: server-side SDKs will trust this store"
    assert done.stderr == ""
    assert READER_PASSWORD not in done.output


async def test_json_output_has_the_documented_shape(
    redis_store: RedisServer, invoke: Invoke
) -> None:
    """--output json: exactly the documented keys, ISO 8601 time, memberships by context."""
    synchronized_on = now_ms() - 5_000
    seed_redis(
        redis_store.admin,
        prefix="env-1",
        synchronized_on=synchronized_on,
        members={"user-1": (["beta.g1"], ["vip.g2"])},
    )

    done = await invoke(
        "doctor",
        "redis",
        "--url",
        redis_store.reader_url,
        "--prefix",
        "env-1",
        "--context-key",
        "user-1",
        "--output",
        "json",
    )

    assert done.code == 0, done.output
    document = done.json()
    assert list(document) == JSON_KEYS
    assert document["store"] == "redis"
    assert document["prefix"] == "env-1"
    assert document["synchronized_on"].endswith("Z")
    assert document["stale"] is False
    assert document["healthy"] is True
    assert 0 < document["age_seconds"] < 120
    assert document["memberships"] == {"user-1": {"beta.g1": True, "vip.g2": False}}
    for item in document["checks"]:
        assert list(item) == ["name", "status", "detail"]
        assert item["status"] in {"ok", "warning", "failure"}
    assert READER_PASSWORD not in done.output


async def test_an_unhealthy_store_exits_4(redis_store: RedisServer, invoke: Invoke) -> None:
    """A stale store: exit 4 (as `wait`'s not ready), failures marked, JSON says unhealthy."""
    seed_redis(redis_store.admin, synchronized_on=now_ms() - 600_000)
    url = redis_store.reader_url

    human = await invoke("doctor", "redis", "--url", url)
    quiet = await invoke("doctor", "redis", "--url", url, "--quiet")
    as_json = await invoke("--output", "json", "doctor", "redis", "--url", url)

    assert (human.code, quiet.code, as_json.code) == (4, 4, 4)
    assert any(line.startswith("FAIL  freshness") for line in human.stdout.splitlines())
    assert human.stdout.splitlines()[-1] == "unhealthy: 1 check(s) failed"
    assert all(not line.startswith("ok ") for line in quiet.stdout.splitlines())
    assert as_json.json()["healthy"] is False
    assert as_json.json()["stale"] is True


@pytest.mark.parametrize("debug", [False, True])
async def test_an_unreachable_store_exits_3_without_the_password(
    cli_environment: dict[str, str],
    debug: bool,  # noqa: FBT001 - a parameter
) -> None:
    """Nothing listening: exit 3, one stderr line naming the masked URL; --debug shows no password."""
    url = f"redis://doctor:{READER_PASSWORD}@127.0.0.1:1/0"

    done = await run(
        cli_environment, "doctor", "redis", "--url", url, *(["--debug"] if debug else [])
    )

    assert done.code == 3
    assert done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("ldstore: error:")]
    assert len(errors) == 1
    assert "redis://doctor:[REDACTED]@127.0.0.1:1/0" in errors[0]
    assert READER_PASSWORD not in done.output
    if debug:
        assert "ldstore: debug: redis PING" in done.stderr


async def test_debug_logs_the_commands_never_the_password(
    redis_store: RedisServer, invoke: Invoke
) -> None:
    """--debug lists each store command on stderr; the URL's password appears nowhere."""
    seed_redis(redis_store.admin, synchronized_on=now_ms())

    done = await invoke("doctor", "redis", "--url", redis_store.reader_url, "--debug")

    assert done.code == 0, done.output
    assert "ldstore: debug: redis GET launchdarkly:big_segments_synchronized_on" in done.stderr
    assert READER_PASSWORD not in done.output


@pytest.mark.parametrize(
    "flags",
    [
        ["--project", "default"],
        [
            "--project",
            "default",
            "--environment",
            "production",
            "--integration-id",
            "x",
            "--integration",
            "dynamodb",
        ],
        ["--stale-after", "0"],
        ["--scan-limit", "none"],
        ["--url", "http://127.0.0.1:1/"],
    ],
)
async def test_bad_flags_exit_2(redis_store: RedisServer, invoke: Invoke, flags: list[str]) -> None:
    """Half a cross-check, a mismatched store kind, a bad bound or URL: exit 2, store unread."""
    done = await invoke("doctor", "redis", "--url", redis_store.reader_url, *flags)

    assert done.code == 2, done.output
    assert done.stdout == ""
    assert READER_PASSWORD not in done.output


@pytest.mark.parametrize(
    ("blocked", "store", "flags", "extra"),
    [
        ("redis", "redis", ["--url", "redis://127.0.0.1:1/0"], "ldstore[redis]"),
        ("aiobotocore", "dynamodb", ["--table", "t", "--region", "us-east-1"], "ldstore[dynamodb]"),
    ],
)
async def test_without_the_extra_the_message_names_it(
    cli_environment: dict[str, str], blocked: str, store: str, flags: list[str], extra: str
) -> None:
    """Without the store's client library: exit 2 and the extra to install, no traceback."""
    script = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        "from ldstore.cli import main\n"
        f"raise SystemExit(main(['doctor', {store!r}, *{flags!r}]))\n"
    )

    done = await run(cli_environment, program=(sys.executable, "-c", script))

    assert done.code == 2, done.output
    assert extra in done.stderr
    assert "Traceback" not in done.stderr


async def test_the_cross_check_reports_a_disagreement(
    redis_store: RedisServer, invoke: Invoke, fake: FakeLaunchDarkly
) -> None:
    """LaunchDarkly says available and synced now, the store is stale: exit 4, and why."""
    seed_redis(redis_store.admin, synchronized_on=now_ms() - 3_600_000)
    stored = fake.seed_integration(
        "default", "production", "redis", name="Prod", config={"host": "127.0.0.1"}, on=True
    )
    fake.set_status(stored["_id"], available=True, potentially_stale=False, last_sync=now_ms())

    done = await invoke(
        "doctor",
        "redis",
        "--url",
        redis_store.reader_url,
        "--project",
        "default",
        "--environment",
        "production",
        "--integration-id",
        stored["_id"],
        "--output",
        "json",
        LD_BASE_URI=fake.url,
        LD_ACCESS_TOKEN=fake.token,
    )

    assert done.code == 4, done.output
    checks = {item["name"]: item for item in done.json()["checks"]}
    assert checks["api status"]["status"] == "ok"
    agree = checks["api agrees with store"]
    assert agree["status"] == "failure"
    assert "LaunchDarkly calls it available, but the store is stale" in agree["detail"]
    assert "apart" in agree["detail"]


async def test_the_cross_check_agrees_with_a_fresh_store(
    redis_store: RedisServer, invoke: Invoke, fake: FakeLaunchDarkly
) -> None:
    """LaunchDarkly's last sync matches synchronizedOn and both say fresh: exit 0."""
    synchronized_on = now_ms() - 1_000
    seed_redis(redis_store.admin, prefix="env-1", synchronized_on=synchronized_on)
    stored = fake.seed_integration(
        "default", "production", "redis", name="Prod", config={"host": "127.0.0.1"}, on=True
    )
    fake.set_status(
        stored["_id"], available=True, potentially_stale=False, last_sync=synchronized_on
    )

    done = await invoke(
        "doctor",
        "redis",
        "--url",
        redis_store.reader_url,
        "--prefix",
        "env-1",
        "--project",
        "default",
        "--environment",
        "production",
        "--integration",
        "redis",
        "--integration-id",
        stored["_id"],
        LD_BASE_URI=fake.url,
        LD_ACCESS_TOKEN=fake.token,
    )

    assert done.code == 0, done.output
    assert any(line.startswith("ok    api agrees with store") for line in done.stdout.splitlines())


async def test_the_cross_check_needs_a_token(redis_store: RedisServer, invoke: Invoke) -> None:
    """Cross-check flags without an access token: exit 2 before the store is read."""
    done = await invoke(
        "doctor",
        "redis",
        "--url",
        redis_store.reader_url,
        "--project",
        "default",
        "--environment",
        "production",
        "--integration-id",
        "x",
    )

    assert done.code == 2
    assert "access token" in done.stderr


async def test_dynamodb_from_the_command_line(
    moto_endpoint: str, dynamodb: Any, invoke: Invoke
) -> None:
    """`doctor dynamodb` with --endpoint-url: healthy JSON with discovery; a missing table exits 4."""
    table = new_table(dynamodb)
    seed_dynamodb(
        dynamodb, table, prefix="env-1", synchronized_on=now_ms(), members={"u": (["s.g1"], [])}
    )

    done = await invoke(
        "doctor",
        "dynamodb",
        "--table",
        table,
        "--endpoint-url",
        moto_endpoint,
        "--region",
        "us-east-1",
        "--context-key",
        "u",
        "--output",
        "json",
    )
    missing = await invoke(
        "doctor",
        "dynamodb",
        "--table",
        "no-such-table",
        "--endpoint-url",
        moto_endpoint,
    )

    assert done.code == 0, done.output
    document = done.json()
    assert list(document) == JSON_KEYS
    assert document["store"] == "dynamodb"
    assert document["prefix"] == "env-1"
    assert document["memberships"] == {"u": {"s.g1": True}}
    assert missing.code == 4, missing.output
    assert "FAIL  table" in missing.stdout


async def test_an_unreachable_dynamodb_exits_3(invoke: Invoke) -> None:
    """Nothing at the endpoint: exit 3 and one error line."""
    done = await invoke(
        "doctor",
        "dynamodb",
        "--table",
        "t",
        "--endpoint-url",
        "http://127.0.0.1:1",
    )

    assert done.code == 3, done.output
    assert done.stderr.startswith("ldstore: error: cannot read the store at table 't'")
