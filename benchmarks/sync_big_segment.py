"""How long the syncing fake takes to write one big segment into a real store, and what it costs.

    python -m benchmarks.sync_big_segment [--members 100000] [--store redis|dynamodb]

Starts its own redis-server (or moto's DynamoDB server) on 127.0.0.1, seeds one big
segment of --members contexts, switches a store integration on and reports: the first
(full) sync's time, Python's peak traced memory during it, the longest the event loop
was held (the API's worst extra latency), and an incremental sync of 1,000 changes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from ldstore.testing import FakeLaunchDarkly

CHANGES = 1_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _redis() -> Generator[dict[str, Any], None, None]:
    program = shutil.which("redis-server")
    if program is None:
        message = "redis-server is not installed (Debian: apt-get install redis-server)"
        raise SystemExit(message)
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.3)
            yield {"host": "127.0.0.1", "port": str(port)}
        finally:
            process.terminate()
            _ = process.wait(timeout=10)


@contextmanager
def _dynamodb() -> Generator[tuple[dict[str, Any], str], None, None]:
    import boto3  # noqa: PLC0415 - the test extra's

    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        _ = os.environ.setdefault(name, value)
    # moto in its own process: in this one it would share the GIL with the fake it measures.
    program = Path(sys.executable).with_name("moto_server")
    port = _free_port()
    process = subprocess.Popen(
        [str(program), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    table = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        _wait_for_port(port)
        client = cast(
            "Any",
            boto3.client(  # pyright: ignore[reportUnknownMemberType]  # boto3 is untyped
                "dynamodb", endpoint_url=endpoint, region_name="us-east-1"
            ),
        )
        _ = client.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "namespace", "KeyType": "HASH"},
                {"AttributeName": "key", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "namespace", "AttributeType": "S"},
                {"AttributeName": "key", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.close()
        config = {
            "tableName": table,
            "region": "us-east-1",
            "roleArn": "arn:aws:iam::123456789012:role/bench",
            "externalId": "bench",
        }
        yield config, endpoint
    finally:
        process.terminate()
        _ = process.wait(timeout=10)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    message = f"nothing listens on port {port}"
    raise SystemExit(message)


async def _stall_watch(stop: asyncio.Event, worst: list[float]) -> None:
    """The longest gap between two 5 ms sleeps: how long the event loop was held."""
    while not stop.is_set():
        began = time.monotonic()
        await asyncio.sleep(0.005)
        worst[0] = max(worst[0], time.monotonic() - began - 0.005)


async def _until(condition: Callable[[], bool], limit: float) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > limit:
            message = f"no sync within {limit} s"
            raise SystemExit(message)
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def run(store: str, members: int, *, trace: bool = False) -> dict[str, float]:
    """One measurement; seconds and MiB (traced memory only with `trace`, which is slower)."""
    with _redis_config() if store == "redis" else _dynamodb_config() as (config, endpoint):
        fake = FakeLaunchDarkly(sync=True, sync_interval=0.5, dynamodb_endpoint=endpoint)
        async with fake:
            keys = [f"user-{number}" for number in range(members)]
            _ = fake.add_big_segment("default", "production", "big", included=keys)
            stop = asyncio.Event()
            worst = [0.0]
            watcher = asyncio.create_task(_stall_watch(stop, worst))
            if trace:
                tracemalloc.start()
            item = fake.seed_integration(
                "default", "production", store, name="bench", config=config, on=True
            )

            def synced() -> bool:
                found = fake.get_integration(item["_id"])
                return found is not None and bool(found["_status"].get("lastSync"))

            full = await _until(synced, 600)
            _, peak = tracemalloc.get_traced_memory() if trace else (0, 0)
            tracemalloc.stop()
            first = fake.get_integration(item["_id"])
            assert first is not None
            fake.update_big_segment(
                "default",
                "production",
                "big",
                uninclude=keys[:CHANGES],
                include=[f"new-{n}" for n in range(CHANGES)],
            )

            last = f"new-{CHANGES - 1}"
            reader = _reader(store, config, endpoint, fake.client_side_id("default", "production"))
            incremental = await _until(lambda: reader(last), 600)
            stop.set()
            await watcher
    return {
        "full_sync_s": full,
        "peak_traced_mib": peak / 1024**2,  # the sync's allocations, seeding excluded (0: untraced)
        "worst_loop_stall_s": worst[0],
        "incremental_sync_s": incremental,
    }


def _reader(
    store: str, config: dict[str, Any], endpoint: str | None, prefix: str
) -> Callable[[str], bool]:
    """Whether the store holds a context as included (read the way SDKs read it)."""
    from ldstore.doctor import context_hash  # noqa: PLC0415

    if store == "redis":
        import redis  # noqa: PLC0415

        client: Any = redis.Redis(host=config["host"], port=int(config["port"]))
        return lambda key: bool(
            client.sismember(f"{prefix}:big_segment_include:{context_hash(key)}", "big.g1")
        )
    import boto3  # noqa: PLC0415

    dynamodb = cast(
        "Any",
        boto3.client(  # pyright: ignore[reportUnknownMemberType]  # boto3 is untyped
            "dynamodb", endpoint_url=endpoint, region_name="us-east-1"
        ),
    )

    def read(key: str) -> bool:
        item: dict[str, Any] = dynamodb.get_item(
            TableName=config["tableName"],
            Key={
                "namespace": {"S": f"{prefix}:big_segments_user"},
                "key": {"S": context_hash(key)},
            },
            ConsistentRead=True,
        ).get("Item", {})
        included: dict[str, list[str]] = item.get("included", {})
        return "big.g1" in included.get("SS", [])

    return read


@contextmanager
def _dynamodb_config() -> Generator[tuple[dict[str, Any], str], None, None]:
    with _dynamodb() as (config, endpoint):
        yield config, endpoint


@contextmanager
def _redis_config() -> Generator[tuple[dict[str, Any], None], None, None]:
    with _redis() as config:
        yield config, None


def main() -> None:
    parser = argparse.ArgumentParser(description="Time one big segment's sync into a store.")
    _ = parser.add_argument("--members", type=int, default=100_000)
    _ = parser.add_argument("--store", choices=["redis", "dynamodb"], default="redis")
    _ = parser.add_argument(
        "--no-trace", action="store_true", help="skip the run that measures memory"
    )
    args = parser.parse_args()
    figures = asyncio.run(run(args.store, args.members))
    if not args.no_trace:  # a second run: tracing allocations makes it ~3 times slower
        traced = asyncio.run(run(args.store, args.members, trace=True))
        figures["peak_traced_mib"] = traced["peak_traced_mib"]
        figures["full_sync_traced_s"] = traced["full_sync_s"]
    print(f"| {args.store}, {args.members:,} members | value |")
    print("| --- | --- |")
    for name, value in figures.items():
        print(f"| {name} | {value:.3f} |")


if __name__ == "__main__":
    main()
