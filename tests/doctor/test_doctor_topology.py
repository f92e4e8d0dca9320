"""Topologies: a three-node Redis Cluster and a Sentinel watching one master, started here once.

The cluster: three ``redis-server --cluster-enabled yes`` on free ports, slots assigned by
``redis-cli --cluster create ... --cluster-yes`` (package redis-tools). The Sentinel:
Debian's ``redis-sentinel`` (package redis-sentinel) watching a redis-server of its own.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

import attrs
import pytest
import redis
from redis.cluster import RedisCluster

from ldstore.cli import main
from ldstore.doctor import (
    CheckStatus,
    StoreReport,
    StoreUnreachableError,
    context_hash,
    diagnose_redis,
)
from ldstore.result import Err, Ok

from .support import (
    STARTUP,
    RedisServer,
    free_port,
    now_ms,
    redis_server,
    require,
    seed_redis,
    stop,
)

BOUND = 20.0  # seconds for one diagnosis, far above what one takes
PREFIX = "env-cluster"
CONTEXTS = [f"user-{index}" for index in range(12)]  # their keys land on every node


def _start(program: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own servers, fixed arguments
        [program, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait(check: Any, what: str) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.ConnectionError, redis.ResponseError):
            pass
        time.sleep(0.05)
    pytest.fail(f"{what} did not come up")


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) exists too."""
    while True:
        port = free_port()
        if port < 55_000:  # 65535 - 10000, with room
            return port


def _ask(port: int, *command: str) -> object:
    client = cast("Any", redis.Redis(port=port, socket_timeout=STARTUP))
    try:
        answer: object = client.execute_command(*command)
    finally:
        client.close()
    return answer


@attrs.frozen
class Cluster:
    ports: tuple[int, ...]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three cluster nodes with every slot assigned, seeded across nodes; stopped by PID."""
    server, cli = require("redis-server"), require("redis-cli", "redis-tools")
    directory = tmp_path_factory.mktemp("cluster")
    ports = tuple(_cluster_port() for _ in range(3))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node = directory / str(port)
            node.mkdir()
            processes.append(
                _start(
                    server,
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(node / "nodes.conf"),
                    "--dir",
                    str(node),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                )
            )
        for port in ports:
            _wait(lambda port=port: _ask(port, "PING"), f"cluster node {port}")
        created = subprocess.run(  # noqa: S603 - redis-cli with fixed arguments
            [cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports), "--cluster-yes"],
            capture_output=True,
            timeout=STARTUP * 3,
            check=False,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        for port in ports:
            _wait(
                lambda port=port: (
                    b"cluster_state:ok" in cast("bytes", _ask(port, "CLUSTER", "INFO"))
                ),
                "the cluster",
            )
        client = cast("Any", RedisCluster(host="127.0.0.1", port=ports[0]))
        try:
            _ = client.set(f"{PREFIX}:big_segments_synchronized_on", str(now_ms()))
            for context in CONTEXTS:
                _ = client.sadd(f"{PREFIX}:big_segment_include:{context_hash(context)}", "beta.g1")
        finally:
            client.close()
        yield Cluster(ports)
    finally:
        for process in processes:
            stop(process)


async def diagnose(url: str, **options: Any) -> StoreReport:
    result = await asyncio.wait_for(diagnose_redis(url, **options), BOUND)
    assert isinstance(result, Ok), result
    return result.value


def status(report: StoreReport, name: str) -> tuple[CheckStatus, str]:
    (found,) = [item for item in report.checks if item.name == name]
    return found.status, found.detail


async def test_a_cluster_is_read_across_its_nodes(cluster: Cluster) -> None:
    """Point 2: discovery, metadata and memberships read from whichever node holds each key."""
    report = await diagnose(cluster.url, context_keys=CONTEXTS)

    assert report.prefixes == (PREFIX,)
    assert report.healthy, report.checks
    assert report.memberships == {context: {"beta.g1": True} for context in CONTEXTS}
    topology, detail = status(report, "topology")
    assert topology is CheckStatus.WARNING
    assert "Redis Cluster of 3 primaries" in detail
    assert "most server-side SDKs and the Relay Proxy support neither" in detail


async def test_keys_over_many_slots_are_reported_not_crashed_on(cluster: Cluster) -> None:
    """Point 2: one prefix's keys over several slots and nodes: a warning naming MOVED/CROSSSLOT."""
    report = await diagnose(cluster.url, prefix=PREFIX)

    slots, detail = status(report, "hash slots")
    assert slots is CheckStatus.WARNING
    assert "on 3 node(s)" in detail
    assert "CROSSSLOT" in detail


async def test_each_node_is_named_a_cluster_node(cluster: Cluster) -> None:
    """Point 2: whichever node the URL names, the doctor reads the cluster through it."""
    for port in cluster.ports[1:]:
        report = await diagnose(
            f"redis://127.0.0.1:{port}/0", prefix=PREFIX, context_keys=CONTEXTS[:3]
        )

        assert report.memberships == {context: {"beta.g1": True} for context in CONTEXTS[:3]}


@attrs.frozen
class Watched:
    master: RedisServer
    sentinel_port: int


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    """redis-sentinel on a free port watching a redis-server of its own as ``mymaster``."""
    program = require("redis-sentinel")
    directory = tmp_path_factory.mktemp("sentinel")
    with ExitStack() as stack:
        master = stack.enter_context(redis_server(directory))
        port = free_port()
        config = Path(directory) / "sentinel.conf"
        _ = config.write_text(
            f"bind 127.0.0.1\nport {port}\ndir {directory}\n"
            f"sentinel monitor mymaster 127.0.0.1 {master.port} 1\n"
        )
        process = _start(program, str(config))
        _ = stack.callback(stop, process)
        _wait(lambda: _ask(port, "SENTINEL", "MASTER", "mymaster"), "redis-sentinel")
        yield Watched(master, port)


async def test_a_sentinel_names_the_master_the_doctor_reads(sentinel: Watched) -> None:
    """Point 2: --sentinel URL and the master's name as the URL's host: its master is diagnosed."""
    seed_redis(sentinel.master.admin, synchronized_on=now_ms())

    report = await diagnose(
        "redis://mymaster/0", sentinel=f"redis://127.0.0.1:{sentinel.sentinel_port}"
    )

    assert report.healthy, report.checks
    topology, detail = status(report, "topology")
    assert topology is CheckStatus.WARNING
    assert f"names 127.0.0.1:{sentinel.master.port} as master 'mymaster'" in detail
    assert "Sentinel" in report.location


async def test_a_sentinel_given_as_the_store_is_named(sentinel: Watched) -> None:
    """Point 2: the URL of a Sentinel itself: a failed topology check says what it is, no crash."""
    report = await diagnose(f"redis://127.0.0.1:{sentinel.sentinel_port}/0")

    topology, detail = status(report, "topology")
    assert topology is CheckStatus.FAILURE
    assert "this is a Redis Sentinel" in detail


async def test_an_unknown_master_name_is_unreachable(sentinel: Watched) -> None:
    """A master name the Sentinel does not know: StoreUnreachableError naming the question."""
    result = await asyncio.wait_for(
        diagnose_redis(
            "redis://no-such-master/0", sentinel=f"redis://127.0.0.1:{sentinel.sentinel_port}"
        ),
        BOUND,
    )

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert "no-such-master" in str(result.error)


async def test_the_command_line_takes_a_sentinel(
    sentinel: Watched, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--sentinel URL``: the master's report, the topology warning, exit 0 (a warning only)."""
    seed_redis(sentinel.master.admin, synchronized_on=now_ms())
    sentinel_url = f"redis://127.0.0.1:{sentinel.sentinel_port}"
    _ = capsys.readouterr()

    code = await asyncio.to_thread(
        main, ["doctor", "redis", "--url", "redis://mymaster/0", "--sentinel", sentinel_url]
    )

    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0].startswith(
        f"Redis store redis://mymaster/0 via Sentinel {sentinel_url}"
    )
    assert "WARN  topology" in out
