"""`ldstore apply --verify` end to end: the syncing fake writes into a real redis-server."""

from __future__ import annotations

import argparse
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import run_against
from conftest import ServeFake
from doctor.support import RedisServer, redis_server

from ldstore.cli._workflows import duration
from ldstore.testing import FakeLaunchDarkly


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server on 127.0.0.1 at a free port, stopped by PID."""
    with redis_server(tmp_path_factory.mktemp("verify-redis")) as server:
        yield server


@pytest.fixture
async def syncing(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A fake that syncs every 0.1 s into the stores its integrations name."""
    return await serve_fake(FakeLaunchDarkly(sync=True, sync_interval=0.1))


def _file(tmp_path: Path, port: int) -> Path:
    file = tmp_path / "stores.json"
    item = {
        "project": "default",
        "environment": "production",
        "store": "redis",
        "name": f"Redis {port}",
        "on": True,
        "config": {"host": "127.0.0.1", "port": port},
    }
    _ = file.write_text(json.dumps([item]))
    return file


async def test_a_good_store_verifies(
    syncing: FakeLaunchDarkly, redis: RedisServer, tmp_path: Path
) -> None:
    """apply --verify creates the integration, the fake syncs into redis-server, and the
    command exits 0 once the API says available (within 10 s)."""
    started = time.monotonic()

    done = await run_against(
        syncing,
        "apply",
        "-f",
        str(_file(tmp_path, redis.port)),
        "--verify",
        "--verify-timeout",
        "20s",
    )

    assert done.code == 0, done.stderr
    assert "verified redis default/production" in done.stdout
    assert "Verified: 1 of 1 available." in done.stdout
    assert time.monotonic() - started < 10


async def test_a_store_on_a_closed_port_fails_verify_with_its_error(
    syncing: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A config naming a closed port: created, then exit 4 at the verify timeout (2 s),
    naming the integration and the store's error from _status.errors."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])

    done = await run_against(
        syncing, "apply", "-f", str(_file(tmp_path, port)), "--verify", "--verify-timeout", "2"
    )

    assert done.code == 4, (done.stdout, done.stderr)
    assert "created redis default/production" in done.stdout
    assert "not verified" in done.stdout
    assert "the store reports errors" in done.stdout
    assert "connect" in done.stdout.lower()
    done.assert_one_error_line("did not verify", f"'Redis {port}'")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("2.5", 2.5), ("0", 0.0)]
)
def test_durations_read_as_seconds(text: str, seconds: float) -> None:
    """--verify-timeout takes 30s, 5m, 1h or plain seconds."""
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "five", "-1s", "infm", "nan", "1d"])
def test_bad_durations_are_refused(text: str) -> None:
    """Anything else is an argparse error naming the value."""
    with pytest.raises(argparse.ArgumentTypeError, match="duration"):
        _ = duration(text)


def _stores(tmp_path: Path, redis: RedisServer, *, prefix: str | None = None) -> Path:
    file = tmp_path / "watch.toml"
    lines = [
        "[[store]]",
        'project = "default"',
        'environment = "production"',
        'kind = "redis"',
        f'name = "Redis {redis.port}"',
        f'url = "redis://127.0.0.1:{redis.port}/0"',
    ]
    if prefix is not None:
        lines.append(f'prefix = "{prefix}"')
    _ = file.write_text("\n".join(lines) + "\n")
    return file


async def test_with_a_stores_file_the_store_itself_must_read_healthy(
    syncing: FakeLaunchDarkly, redis: RedisServer, tmp_path: Path
) -> None:
    """--stores: verified once the API says available and the doctor reads the store the
    file maps as healthy (under the environment's client-side ID)."""
    _ = redis.admin.flushall()

    done = await run_against(
        syncing,
        "apply",
        "-f",
        str(_file(tmp_path, redis.port)),
        "--verify",
        "--verify-timeout",
        "20s",
        "--stores",
        str(_stores(tmp_path, redis)),
    )

    assert done.code == 0, (done.stdout, done.stderr)
    assert "available, and its store reads healthy" in done.stdout


async def test_a_store_read_under_the_wrong_prefix_fails_verify_naming_the_check(
    syncing: FakeLaunchDarkly, redis: RedisServer, tmp_path: Path
) -> None:
    """The API says available, but the store the file maps (another prefix: where an SDK
    configured so would look) holds nothing: exit 4 naming the doctor's failed check."""
    _ = redis.admin.flushall()

    done = await run_against(
        syncing,
        "apply",
        "-f",
        str(_file(tmp_path, redis.port)),
        "--verify",
        "--verify-timeout",
        "3",
        "--stores",
        str(_stores(tmp_path, redis, prefix="not-the-client-side-id")),
    )

    assert done.code == 4, (done.stdout, done.stderr)
    assert "available, but its store is not healthy" in done.stdout
    done.assert_one_error_line("did not verify", "(store:")


async def test_a_bad_stores_file_is_refused_before_anything_is_sent(
    syncing: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A stores file with a password in it: exit 2, one error line, no request at all."""
    bad = tmp_path / "watch.toml"
    _ = bad.write_text('[[store]]\nproject = "default"\npassword = "hunter2"\n')

    done = await run_against(
        syncing, "apply", "-f", str(_file(tmp_path, 6379)), "--verify", "--stores", str(bad)
    )

    assert done.code == 2, done.stderr
    assert "hunter2" not in done.stderr
    assert syncing.requests == []
