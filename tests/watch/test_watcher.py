"""The Watcher and its server: metrics exactly as the issue names them, bad days, negotiation."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ldstore import Core, RetryConfig
from ldstore.testing import FakeLaunchDarkly, RateLimited
from ldstore.watch import (
    Filters,
    PollOptions,
    RedisStore,
    RequestCounter,
    Watcher,
    render,
    serving,
)

from .support import WatchedRedis, free_port, silent_server
from .test_poll import LIST, seed, store_for

TIMEOUT = aiohttp.ClientTimeout(total=5)
KEYS = frozenset({"project", "environment", "kind", "id"})


def samples(watcher: Watcher) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The page's samples by name, as prometheus-client's own parser reads them."""
    body, _ = render(watcher)
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield session


async def test_every_metric_has_the_issues_name_and_labels(
    fake: FakeLaunchDarkly, core: Core, redis_store: WatchedRedis
) -> None:
    """Names and label sets exactly as issue 23 lists them; each check's three states, one of them 1."""
    item = seed(fake)
    _ = seed(fake, name="Unmapped", on=False)
    fake.set_status(item["_id"], errors=[{"statusCode": 500, "message": "boom", "timestamp": 1}])
    redis_store.seed("client-side-id")
    watcher = Watcher(core, [store_for(redis_store)])

    _ = await watcher.poll()
    found = samples(watcher)

    label_sets = {
        name: {frozenset(labels) for labels, _ in values} for name, values in found.items()
    }
    assert label_sets["ldstore_integration_info"] == {KEYS | {"name"}}
    for name in (
        "ldstore_integration_on",
        "ldstore_integration_available",
        "ldstore_integration_potentially_stale",
        "ldstore_integration_last_sync_timestamp_seconds",
        "ldstore_integration_status_errors",
        "ldstore_store_reachable",
        "ldstore_store_healthy",
        "ldstore_store_synchronized_timestamp_seconds",
    ):
        assert label_sets[name] == {KEYS}, name
    assert label_sets["ldstore_store_check"] == {KEYS | {"check", "state"}}
    assert label_sets["ldstore_api_requests_total"] == {frozenset({"status"})}
    assert found["ldstore_watch_api_up"] == [({}, 1.0)]
    assert found["ldstore_watch_last_success_timestamp_seconds"][0][1] == pytest.approx(
        time.time(), abs=30
    )
    assert found["ldstore_watch_poll_duration_seconds_count"] == [({}, 1.0)]
    assert len(found["ldstore_integration_on"]) == 2  # both integrations
    assert len(found["ldstore_store_reachable"]) == 1  # the mapped one only
    errors = {labels["id"]: value for labels, value in found["ldstore_integration_status_errors"]}
    assert errors[item["_id"]] == 1
    by_check: dict[str, dict[str, float]] = {}
    for labels, value in found["ldstore_store_check"]:
        by_check.setdefault(labels["check"], {})[labels["state"]] = value
    assert "freshness" in by_check
    for check, states in by_check.items():
        assert set(states) == {"ok", "warning", "failure"}, check
        assert sorted(states.values()) == [0.0, 0.0, 1.0], check
    synced = found["ldstore_store_synchronized_timestamp_seconds"][0][1]
    assert synced == pytest.approx(time.time(), abs=30)  # a timestamp, not an age


async def test_an_integration_that_disappears_stops_being_exported(
    fake: FakeLaunchDarkly, core: Core
) -> None:
    """Deleted between two polls: none of its series remain."""
    gone = seed(fake, name="Soon gone")
    kept = seed(fake, name="Kept")
    watcher = Watcher(core)
    _ = await watcher.poll()
    assert gone["_id"] in render(watcher)[0].decode()

    fake.reset()
    _ = fake.seed_integration("default", "production", "redis", name="Kept", config={"host": "h"})
    _ = await watcher.poll()

    page = render(watcher)[0].decode()
    assert gone["_id"] not in page
    assert kept["_id"] not in page  # the re-seeded one has a new ID
    assert page.count("ldstore_integration_info{") == 1


async def test_a_429_skips_the_poll_counts_it_and_the_next_poll_waits(
    fake: FakeLaunchDarkly,
) -> None:
    """Bound: with --interval 0.1 s and Retry-After 1.5 s, no second list call for 1.5 s."""
    _ = seed(fake)
    fake.schedule(RateLimited(retry_after=1.5), operation=LIST)
    counter = RequestCounter()
    async with Core(
        fake.token,
        server_url=fake.url,
        retry_config=RetryConfig(max_elapsed_time=0.5),  # shorter than the wait: give up at once
        hooks=counter.hooks(),
    ) as core:
        watcher = Watcher(core, interval=0.1, requests=counter)
        stop = asyncio.Event()
        running = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.5)
        skipped_page = samples(watcher)
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(running, 2)

    lists = [request for request in fake.requests if request.operation_id == LIST]
    assert [request.status for request in lists[:2]] == [429, 200]
    assert lists[1].time - lists[0].time >= 1.4
    assert skipped_page["ldstore_api_requests_total"] == [({"status": "429"}, 1.0)]
    assert skipped_page["ldstore_watch_api_up"] == [({}, 1.0)]
    assert "ldstore_integration_info" not in skipped_page
    assert watcher.polls["rate_limited"] == 1
    assert watcher.snapshot is not None


async def test_an_unreachable_api_keeps_the_last_values_and_api_up_goes_to_0(
    core: Core, fake: FakeLaunchDarkly
) -> None:
    """Bound: the failed poll ends within the call's own timeout; last values stay on the page."""
    item = seed(fake)
    watcher = Watcher(core)
    _ = await watcher.poll()
    before = watcher.snapshot
    async with Core(
        fake.token,
        server_url=f"http://127.0.0.1:{free_port()}",
        retry_config=RetryConfig.none(),
        timeout=2,
    ) as closed:
        watcher.core = closed
        started = time.monotonic()
        _ = await watcher.poll()
        elapsed = time.monotonic() - started

    assert elapsed < 2
    assert watcher.snapshot is before
    found = samples(watcher)
    assert found["ldstore_watch_api_up"] == [({}, 0.0)]
    assert [labels["id"] for labels, _ in found["ldstore_integration_info"]] == [item["_id"]]
    assert ({"status": "network"}, 1.0) in found["ldstore_api_requests_total"]
    assert ({"outcome": "error"}, 1.0) in found["ldstore_watch_polls_total"]


async def test_the_server_negotiates_openmetrics_and_is_ready_after_a_poll(
    fake: FakeLaunchDarkly, core: Core, http: aiohttp.ClientSession
) -> None:
    """/readyz 503 then 200; /healthz 200; /metrics in text 0.0.4 or OpenMetrics as Accept asks."""
    _ = seed(fake)
    watcher = Watcher(core)
    async with serving(watcher, "127.0.0.1", 0) as (host, port):
        base = f"http://{host}:{port}"
        async with http.get(f"{base}/readyz") as before:
            not_ready = before.status
        async with http.get(f"{base}/healthz") as alive:
            healthz = alive.status
        _ = await watcher.poll()
        async with http.get(f"{base}/readyz") as after:
            ready = after.status
        async with http.get(f"{base}/metrics") as plain:
            plain_type, plain_body = plain.headers["Content-Type"], await plain.text()
        openmetrics_accept = (
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
        )
        async with http.get(f"{base}/metrics", headers={"Accept": openmetrics_accept}) as om:
            om_type, om_body = om.headers["Content-Type"], await om.text()
        async with http.post(f"{base}/metrics") as post:
            post_status = post.status

    assert (not_ready, healthz, ready) == (503, 200, 200)
    assert plain_type.startswith("text/plain; version=0.0.4")
    assert 'ldstore_api_requests_total{status="200"} 1.0' in plain_body
    assert om_type.startswith("application/openmetrics-text; version=1.0.0")
    assert om_body.endswith("# EOF\n")
    assert re.search(r"^ldstore_api_requests_total\{status=\"200\"\} 1\.0$", om_body, re.MULTILINE)
    assert post_status == 405


async def test_a_hung_store_does_not_delay_the_page(
    fake: FakeLaunchDarkly, core: Core, http: aiohttp.ClientSession
) -> None:
    """Bound: while a poll waits on a silent store, /metrics answers in under 0.5 s."""
    _ = seed(fake, name="Hung")
    async with silent_server() as port:
        store = store_for_url(f"redis://127.0.0.1:{port}/0")
        watcher = Watcher(core, [store], options=PollOptions(store_timeout=1.5))
        async with serving(watcher, "127.0.0.1", 0) as (host, bound):
            polling = asyncio.create_task(watcher.poll())
            await asyncio.sleep(0.2)
            started = time.monotonic()
            async with http.get(f"http://{host}:{bound}/metrics") as page:
                _ = await page.read()
            elapsed = time.monotonic() - started
            _ = await polling

    assert elapsed < 0.5


def store_for_url(url: str) -> RedisStore:
    return RedisStore(project="default", environment="production", name="Hung", url=url, prefix="p")


async def test_filters_reach_the_page(fake: FakeLaunchDarkly, core: Core) -> None:
    """Only integrations passing the filters are exported."""
    _ = seed(fake, tags=["a"])
    _ = seed(fake, name="B", tags=["b"])
    watcher = Watcher(core, filters=Filters(tags=("b",)))

    _ = await watcher.poll()

    assert [labels["name"] for labels, _ in samples(watcher)["ldstore_integration_info"]] == ["B"]


async def test_an_entry_naming_no_integration_is_logged_once_and_counted(
    fake: FakeLaunchDarkly, core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    """A typo in the stores file: one warning (its name escaped) over two polls, and a gauge."""
    _ = seed(fake)
    typo = RedisStore(
        project="default", environment="production", name="Prod\nRedis", url="redis://h/0", line=7
    )
    watcher = Watcher(core, [typo])

    with caplog.at_level("WARNING", logger="ldstore"):
        _ = await watcher.poll()
        _ = await watcher.poll()

    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        "stores file line 7: default/production/redis/'Prod\\nRedis' names no integration the API lists"
    ]
    assert samples(watcher)["ldstore_watch_stores_unmatched"] == [({}, 1.0)]
