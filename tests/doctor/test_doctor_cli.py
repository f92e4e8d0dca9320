"""``ldstore doctor`` as users run it: the installed command, in a subprocess, on real stores."""

from __future__ import annotations

import asyncio
import io
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

from .resp import bulk, error, resp_server, scan_reply, simple
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
    prefix = fake.client_side_id("default", "production")
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms() - 3_600_000)
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
    prefix = fake.client_side_id("default", "production")
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=synchronized_on)
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
        prefix,
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


async def test_json_output_of_an_unreachable_store_names_its_kind(invoke: Invoke) -> None:
    """Point 6: --output json of an unreachable store is a StoreUnreachableError object, exit 3."""
    done = await invoke("doctor", "redis", "--url", "redis://127.0.0.1:1/0", "--output", "json")

    assert done.code == 3
    assert done.stdout == ""
    error = json.loads(done.stderr)["error"]
    assert error["kind"] == "StoreUnreachableError"
    assert "redis://127.0.0.1:1/0" in error["message"]


@pytest.mark.parametrize(("status", "token"), [(404, "fake"), (401, "api-wrong-token")])
async def test_a_failed_cross_check_is_one_failed_line(
    redis_store: RedisServer, invoke: Invoke, fake: FakeLaunchDarkly, status: int, token: str
) -> None:
    """Point 6: a 404 or 401 from the API is a failed line under the store's checks, not the end."""
    prefix = fake.client_side_id("default", "production")
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms())

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
        "no-such-id",
        LD_BASE_URI=fake.url,
        LD_ACCESS_TOKEN=fake.token if token == "fake" else token,
    )

    assert done.code == 4, done.output
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok    metadata") for line in lines)
    failed = [line for line in lines if line.startswith("FAIL")]
    # A wrong token fails the environment's read (the prefix) as well as the status's.
    names = ["prefix", "api status"] if status == 401 else ["api status"]
    assert [line.split("  ")[1].strip() for line in failed] == names
    assert all(str(status) in line for line in failed)
    assert lines[-1] == f"unhealthy: {len(names)} check(s) failed"
    assert done.stderr == ""


async def test_an_unset_password_variable_exits_2_naming_it(
    redis_store: RedisServer, invoke: Invoke
) -> None:
    """Point 1: --password-env NAME with NAME unset is a usage error that names NAME; store unread."""
    _ = redis_store.admin.config_resetstat()

    done = await invoke(
        "doctor", "redis", "--url", redis_store.url, "--password-env", "LDSTORE_NO_SUCH_PASSWORD"
    )

    assert done.code == 2
    assert "LDSTORE_NO_SUCH_PASSWORD" in done.stderr
    assert "is not set" in done.stderr
    stats: dict[str, Any] = redis_store.admin.info("commandstats")
    assert "cmdstat_ping" not in stats


@pytest.mark.parametrize("source", ["env", "prompt"])
async def test_the_password_comes_from_the_environment_or_a_prompt(
    redis_store: RedisServer,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    """Point 1: an ACL user's password from --password-env or --password-prompt, never printed."""
    seed_redis(redis_store.admin, synchronized_on=now_ms())
    url = f"redis://doctor@127.0.0.1:{redis_store.port}/0"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{READER_PASSWORD}\n"))
    flags = ["--password-env", "REDIS_PASSWORD"] if source == "env" else ["--password-prompt"]

    done = await invoke(
        "doctor", "redis", "--url", url, *flags, "--debug", REDIS_PASSWORD=READER_PASSWORD
    )

    assert done.code == 0, done.output
    assert done.stdout.splitlines()[0].startswith(f"Redis store {url}, prefix")
    assert READER_PASSWORD not in done.output


async def test_a_wrong_password_from_the_environment_exits_3_unprinted(
    redis_store: RedisServer, invoke: Invoke
) -> None:
    """A refused password from --password-env: exit 3, the password nowhere in the output."""
    url = f"redis://doctor@127.0.0.1:{redis_store.port}/0"

    done = await invoke(
        "doctor", "redis", "--url", url, "--password-env", "P", "-o", "json", P="wrong-pass-123"
    )

    assert done.code == 3
    assert json.loads(done.stderr)["error"]["kind"] == "StoreUnreachableError"
    assert "wrong-pass-123" not in done.output


async def test_server_data_is_escaped_in_the_human_report(invoke: Invoke) -> None:
    """Class 5: a prefix holding escape sequences prints escaped; --output json keeps it exact."""
    evil = "ev\x1b[2Jil\x1b]52;c;aGk=\x07\u202e\x9b"
    key = f"{evil}:big_segments_synchronized_on"

    def answer(command: list[bytes]) -> bytes | None:
        args = [part.decode() for part in command[1:]]
        name = command[0].upper()
        if name == b"SCAN" and "*:big_segments_synchronized_on" in args:
            return scan_reply(0, [key])
        if name == b"TYPE" and args[0] == key:
            return simple("string")
        if name == b"GET" and args[0] == key:
            return bulk(str(now_ms()))
        return None

    async with resp_server(answer) as server:
        human = await invoke("doctor", "redis", "--url", server.url, "--debug")
        machine = await invoke("doctor", "redis", "--url", server.url, "--output", "json")

    assert human.code == 0, human.output
    assert f"TYPE {evil.encode('unicode_escape').decode()[:6]}" in human.stderr  # --debug logs it
    for char in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert char not in human.output  # stdout and the --debug log on stderr
    assert "\\x1b[2J" in human.stdout
    assert machine.json()["prefix"] == evil


async def test_a_percent_encoded_password_never_prints_decoded(invoke: Invoke) -> None:
    """Class 7: p%40ss%3Aw0rd echoed decoded by the server: masked in errors, JSON and --debug."""

    def answer(command: list[bytes]) -> bytes | None:
        if command[0].upper() == b"AUTH":
            return error(f"WRONGPASS {command[-1].decode()} / p%40ss%3Aw0rd is not allowed")
        return None

    async with resp_server(answer) as server:
        url = f"redis://ld:p%40ss%3Aw0rd@127.0.0.1:{server.port}/0"
        human = await invoke("doctor", "redis", "--url", url, "--debug")
        machine = await invoke("doctor", "redis", "--url", url, "--debug", "--output", "json")

    assert human.code == machine.code == 3
    for done in (human, machine):
        for form in ("p@ss:w0rd", "p%40ss%3Aw0rd", "p%40ss%3aw0rd", "p@ss", "w0rd"):
            assert form not in done.output
    assert "ld:[REDACTED]@127.0.0.1" in human.stderr
    message = json.loads(machine.stderr.splitlines()[-1])["error"]["message"]
    assert "[REDACTED]" in message


async def test_help_says_one_thing_about_timeout_quiet_and_output(invoke: Invoke) -> None:
    """Point 6: the doctor's help gives the store's --timeout default and what -q and -o json do."""
    done = await invoke("doctor", "redis", "--help")

    text = " ".join(done.stdout.split())
    assert done.code == 0
    assert "give up on one store call after this long (default: 5)" in text
    assert "print only the checks that are not ok" in text
    assert "integration IDs" not in text
    assert "json: the report as JSON" in text
    assert "--password-env NAME" in text
    assert "other users can see a process's flags" in text
