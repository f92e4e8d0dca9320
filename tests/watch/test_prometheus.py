"""A real Prometheus scrapes a running ``ldstore watch`` over a syncing fake and a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ldstore_process import clean_environment

from ldstore import Core, RetryConfig
from ldstore.funcs import patch_big_segment_store_integration
from ldstore.operations import PatchBigSegmentStoreIntegrationRequest
from ldstore.patch import PatchOperation
from ldstore.testing import FakeLaunchDarkly
from ldstore.watch import alert_rules

from .support import WatchedRedis, free_port, require, stop, watching

DEADLINE = 15.0  # seconds any one expectation may take (they take a few)
HTTP = aiohttp.ClientTimeout(total=5)


def short_rules(directory: Path) -> Path:
    """The shipped rules with a short `for` and a 2 s staleness bound (the watcher's too)."""
    text = alert_rules().replace("for: 2m", "for: 1s").replace("for: 5m", "for: 1s")
    text = text.replace(
        "ldstore_store_synchronized_timestamp_seconds > 120",
        "ldstore_store_synchronized_timestamp_seconds > 2",
    )
    assert text.count("for: 1s") == 7
    path = directory / "rules.yml"
    _ = path.write_text(text, encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def prometheus(directory: Path, target: str) -> AsyncGenerator[str, None]:
    """Debian's prometheus on 127.0.0.1, scraping ``target`` every second; stopped by PID."""
    program = require("prometheus", "prometheus")
    rules = short_rules(directory)
    config = directory / "prometheus.yml"
    _ = config.write_text(
        f"""\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{rules}"]
scrape_configs:
  - job_name: ldstore-watch
    static_configs:
      - targets: ["{target}"]
""",
        encoding="utf-8",
    )
    port = free_port()
    process = subprocess.Popen(  # noqa: S603, ASYNC220 - our own prometheus, fixed arguments
        [
            program,
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


async def eventually(check: Callable[[], Coroutine[Any, Any, bool]], what: str) -> float:
    """Seconds until ``check()`` holds; fails after DEADLINE."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > DEADLINE:
            pytest.fail(f"not within {DEADLINE} s: {what}")
        await asyncio.sleep(0.25)
    return time.monotonic() - started


async def test_prometheus_sees_a_store_healthy_then_stale_and_the_alert_fires(
    serve_fake: Callable[[FakeLaunchDarkly], Coroutine[Any, Any, FakeLaunchDarkly]],
    redis_store: WatchedRedis,
    tmp_path: Path,
) -> None:
    """Healthy (1) while the fake syncs; turned off, the store goes stale (0) and the alert fires."""
    fake = await serve_fake(FakeLaunchDarkly(sync=True, sync_interval=0.5))
    item = fake.seed_integration(
        "default", "production", "redis", name="Prod Redis", on=True,
        config={"host": "127.0.0.1", "port": str(redis_store.port)},
    )  # fmt: skip
    _ = fake.add_big_segment("default", "production", "beta-users", included=["user-1"])
    stores = tmp_path / "stores.toml"
    _ = stores.write_text(
        f"""\
[[store]]
project = "default"
environment = "production"
kind = "redis"
id = "{item["_id"]}"
url = "{redis_store.url}"
password_env = "WATCH_REDIS_PASSWORD"
""",
        encoding="utf-8",
    )
    env = clean_environment(
        LD_ACCESS_TOKEN=fake.token, LD_BASE_URI=fake.url, WATCH_REDIS_PASSWORD=redis_store.password
    )
    started = time.monotonic()
    async with (
        watching(
            "--stores", str(stores), "--interval", "0.5", "--stale-after", "2", environment=env
        ) as watcher,
        prometheus(tmp_path, watcher.base.removeprefix("http://")) as server,
        aiohttp.ClientSession(timeout=HTTP) as http,
    ):

        async def value(query: str) -> float | None:
            try:
                async with http.get(f"{server}/api/v1/query", params={"query": query}) as answer:
                    found = (await answer.json())["data"]["result"]
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return None  # not serving yet
            return float(found[0]["value"][1]) if found else None

        async def firing(name: str) -> bool:
            async with http.get(f"{server}/api/v1/alerts") as answer:
                alerts = (await answer.json())["data"]["alerts"]
            return any(a["labels"]["alertname"] == name and a["state"] == "firing" for a in alerts)

        async def healthy_is(wanted: float) -> bool:
            return await value(f'ldstore_store_healthy{{id="{item["_id"]}"}}') == wanted

        _ = await eventually(lambda: healthy_is(1.0), "ldstore_store_healthy 1")
        info = await value(f'ldstore_integration_info{{id="{item["_id"]}",name="Prod Redis"}}')
        async with Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as core:
            request = PatchBigSegmentStoreIntegrationRequest(
                project_key="default",
                environment_key="production",
                integration_key="redis",
                integration_id=item["_id"],
                request_body=[PatchOperation("replace", "/on", value=False)],
            )
            turned_off = await patch_big_segment_store_integration(core, request)
        _ = await eventually(
            lambda: healthy_is(0.0), "ldstore_store_healthy 0 after the integration is off"
        )
        _ = await eventually(lambda: firing("BigSegmentStoreStale"), "BigSegmentStoreStale firing")
        off = await value(f'ldstore_integration_on{{id="{item["_id"]}"}}')
        elapsed = time.monotonic() - started

    assert turned_off.ok
    assert info == 1.0
    assert off == 0.0
    assert elapsed < 25
