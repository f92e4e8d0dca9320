"""``python -m benchmarks.watch``: ``ldstore watch`` at scale, against the fake and real Redis.

1,000 integrations on the fake (served by a separate process, so its CPU is not counted),
50 of them mapped to stores in one real ``redis-server`` (a prefix each, with metadata
and membership sets). The watcher polls ``--polls`` times and serves its page; printed:
API requests per poll (the target is exactly one), poll wall time (target < 5 s), CPU
time per poll, scrape latency over HTTP (target < 0.5 s) and the page's size, and resident
memory. Needs ``redis-server`` on the PATH and the ``watch`` and ``redis`` extras.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import redis

from ldstore import Core, RetryConfig
from ldstore.testing import FakeLaunchDarkly
from ldstore.watch import PollOptions, RedisStore, RequestCounter, Watcher, serving

INTEGRATIONS = 1000
STORES = 50
CONTEXTS = 200  # membership sets per store
PROJECTS = 10
ENVIRONMENTS = 5
# What Prometheus 2.42 sends when it scrapes.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
TOKEN = "api-bench-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _scope(index: int) -> tuple[str, str]:
    return f"project-{index % PROJECTS}", f"env-{index // PROJECTS % ENVIRONMENTS}"


def _serve_fake(port: int, integrations: int) -> None:
    """The child process: the fake with ``integrations`` integrations, until terminated."""

    async def serve() -> None:
        async with FakeLaunchDarkly(TOKEN, port=port) as fake:
            now = time.time_ns() // 1_000_000
            for index in range(integrations):
                project, environment = _scope(index)
                item = fake.seed_integration(
                    project,
                    environment,
                    "redis",
                    name=f"store-{index:04d}",
                    config={"host": "127.0.0.1"},
                    on=True,
                    tags=["bench"],
                )
                fake.set_status(item["_id"], available=True, potentially_stale=False, last_sync=now)
            _ = await asyncio.Event().wait()

    asyncio.run(serve())


def _seed_redis(port: int, stores: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    pipe: Any = client.pipeline(transaction=False)  # pyright: ignore[reportUnknownMemberType]  # redis types it loosely
    now = str(time.time_ns() // 1_000_000)  # fresh for 120 s, longer than a run
    for store in range(stores):
        prefix = f"prefix-{store}"
        pipe.set(f"{prefix}:big_segments_synchronized_on", now)
        for context in range(CONTEXTS):
            pipe.sadd(
                f"{prefix}:big_segment_include:context-{context}", f"segment-{context % 7}.g1"
            )
    pipe.execute()
    client.close()


def _wait_for_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    msg = f"nothing listens on port {port}"
    raise RuntimeError(msg)


def _rss_mib() -> float:
    with Path("/proc/self/statm").open() as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


async def _measure(fake_url: str, redis_port: int, polls: int, scrapes: int) -> None:
    stores = [
        RedisStore(
            project=_scope(index)[0],
            environment=_scope(index)[1],
            name=f"store-{index:04d}",
            url=f"redis://127.0.0.1:{redis_port}/0",
            prefix=f"prefix-{store}",
        )
        for store, index in enumerate(range(0, INTEGRATIONS, INTEGRATIONS // STORES))
    ]
    counter = RequestCounter()
    async with Core(
        TOKEN, server_url=fake_url, retry_config=RetryConfig.none(), hooks=counter.hooks()
    ) as core:
        watcher = Watcher(core, stores, options=PollOptions(), requests=counter)
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(polls):
            cpu, wall = time.process_time(), time.perf_counter()
            result = await watcher.poll()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            if not result.ok:
                msg = f"a poll failed: {result.error}"
                raise RuntimeError(msg)
        snapshot = watcher.snapshot
        assert snapshot is not None
        healthy = sum(1 for state in snapshot.integrations if state.store and state.store.healthy)
        async with (
            serving(watcher, "127.0.0.1", 0) as (host, port),
            aiohttp.ClientSession() as http,
        ):
            latencies: list[float] = []
            cached: list[float] = []
            size = 0
            for index in range(scrapes):
                accept = "application/openmetrics-text; version=1.0.0" if index % 2 else ""
                watcher.version += 1  # as if a poll had ended unseen: rendered by the scrape
                for times in (latencies, cached):  # then once more, from the cache
                    started = time.perf_counter()
                    async with http.get(
                        f"http://{host}:{port}/metrics", headers={"Accept": accept}
                    ) as page:
                        size = len(await page.read())
                    times.append(time.perf_counter() - started)
            after_poll: list[float] = []
            for _ in range(4):  # the server's own path: each poll renders the page last served
                if after_poll:
                    _ = await watcher.poll()
                started = time.perf_counter()
                async with http.get(
                    f"http://{host}:{port}/metrics", headers={"Accept": PROMETHEUS_ACCEPT}
                ) as page:
                    _ = await page.read()
                after_poll.append(time.perf_counter() - started)
            after_poll = after_poll[1:]
    requests = sum(counter.counts.values()) / sum(watcher.polls.values())
    print(
        f"integrations {len(snapshot.integrations)}, mapped stores {len(stores)} ({healthy} healthy)"
    )
    print(f"API requests per poll     {requests:.2f} (statuses {counter.counts})")
    print(
        f"poll wall time            median {statistics.median(walls):.3f} s, max {max(walls):.3f} s"
    )
    print(
        f"poll CPU time             median {statistics.median(cpus):.3f} s, max {max(cpus):.3f} s"
    )
    print(
        f"scrape (uncached, HTTP)   median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms, page {size / 1024:.0f} KiB"
    )
    print(f"scrape (cached, HTTP)     median {statistics.median(cached) * 1000:.1f} ms")
    print(
        f"scrape after a poll       max {max(after_poll) * 1000:.1f} ms (rendered when the poll ended)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"resident memory           now {_rss_mib():.1f} MiB, peak {peak:.1f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    _ = parser.add_argument("--polls", type=int, default=10)
    _ = parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    program = shutil.which("redis-server")
    if program is None:
        print("needs redis-server (Debian: apt-get install redis-server)")
        return 2
    redis_port, fake_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(
            [
                program,
                "--bind",
                "127.0.0.1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--dir",
                directory,
            ],
            stdout=subprocess.DEVNULL,
        )
        fake = multiprocessing.get_context("spawn").Process(
            target=_serve_fake, args=(fake_port, INTEGRATIONS), daemon=True
        )
        fake.start()
        try:
            _wait_for_port(redis_port)
            _seed_redis(redis_port, STORES)
            _wait_for_port(fake_port)
            asyncio.run(
                _measure(f"http://127.0.0.1:{fake_port}", redis_port, args.polls, args.scrapes)
            )
        finally:
            fake.terminate()
            fake.join(5)
            server.terminate()
            _ = server.wait(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
