"""Store hygiene: eviction policy and evicted keys (from INFO), TTLs, DynamoDB read capacity."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis
from aiobotocore.session import AioSession
from redis.exceptions import NoPermissionError

from ldstore.cli import main
from ldstore.doctor import (
    Check,
    CheckStatus,
    StoreReport,
    context_hash,
    diagnose_dynamodb,
    diagnose_redis,
)
from ldstore.doctor._report import SAMPLE_KEYS
from ldstore.result import Ok

from .support import RedisServer, new_table, now_ms, redis_server, seed_dynamodb, seed_redis

BOUND = 20.0  # seconds for one diagnosis, far above what one takes


def check(report: StoreReport, name: str) -> Check:
    (found,) = [item for item in report.checks if item.name == name]
    return found


async def diagnose(url: str, **options: Any) -> StoreReport:
    result = await asyncio.wait_for(diagnose_redis(url, **options), BOUND)
    assert isinstance(result, Ok), result
    return result.value


@pytest.fixture(scope="module")
def evicting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of 2 MB with allkeys-lru that has evicted keys already."""
    with redis_server(
        tmp_path_factory.mktemp("evicting"),
        "--maxmemory",
        "2mb",
        "--maxmemory-policy",
        "allkeys-lru",
    ) as server:
        admin = cast("Any", server.admin)
        pipe = admin.pipeline(transaction=False)
        for index in range(400):
            pipe.set(f"filler:{index}", "x" * 10_000)  # 4 MB into 2 MB
        pipe.execute()
        yield server


async def test_allkeys_eviction_with_evicted_keys_is_a_warning(evicting: RedisServer) -> None:
    """Point 3: maxmemory-policy allkeys-lru and evicted_keys > 0: a warning naming both."""
    seed_redis(evicting.admin, synchronized_on=now_ms())
    evicted = int(evicting.admin.info("stats")["evicted_keys"])

    report = await diagnose(evicting.reader_url, prefix="launchdarkly")

    eviction = check(report, "eviction")
    assert evicted > 0
    assert eviction.status is CheckStatus.WARNING
    assert "allkeys-lru: under memory pressure Redis may evict membership sets" in eviction.detail
    assert (
        f"{evicted} keys have been evicted" in eviction.detail
        or "keys have been evicted" in eviction.detail
    )


async def test_eviction_is_read_where_config_is_refused(redis_store: RedisServer) -> None:
    """Point 3: the reader may not run CONFIG, yet the policy is read (from INFO): noeviction is ok."""
    seed_redis(redis_store.admin, synchronized_on=now_ms())
    reader = cast("Any", redis.Redis).from_url(redis_store.reader_url)
    try:
        with pytest.raises(NoPermissionError):
            _ = reader.config_get("maxmemory-policy")
    finally:
        reader.close()

    report = await diagnose(redis_store.reader_url, prefix="launchdarkly")

    assert check(report, "eviction").status is CheckStatus.OK
    assert "maxmemory-policy noeviction" in check(report, "eviction").detail


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        ("volatile-lru", CheckStatus.OK),
        ("volatile-ttl", CheckStatus.OK),
        ("allkeys-lru", CheckStatus.WARNING),
        ("allkeys-random", CheckStatus.WARNING),
    ],
)
async def test_an_allkeys_policy_warns_a_volatile_one_does_not(
    redis_store: RedisServer, policy: str, status: CheckStatus
) -> None:
    """allkeys-* may evict membership sets (a warning); volatile-* evicts only keys with a TTL."""
    seed_redis(redis_store.admin, synchronized_on=now_ms())
    admin = cast("Any", redis_store.admin)
    _ = admin.config_set("maxmemory-policy", policy)
    try:
        report = await diagnose(redis_store.reader_url, prefix="launchdarkly")
    finally:
        _ = admin.config_set("maxmemory-policy", "noeviction")

    eviction = check(report, "eviction")
    assert eviction.status is status
    assert f"maxmemory-policy {policy}" in eviction.detail
    assert ("may evict membership sets" in eviction.detail) is (status is CheckStatus.WARNING)


async def test_a_user_with_only_read_rights_keeps_working(redis_store: RedisServer) -> None:
    """Point 1/3: +@read +ping only (no INFO): healthy, the eviction and topology checks say why not."""
    seed_redis(redis_store.admin, synchronized_on=now_ms(), members={"u": (["s.g1"], [])})

    report = await diagnose(redis_store.url_for("no-info"), context_keys=["u"])

    assert report.healthy
    assert report.memberships == {"u": {"s.g1": True}}
    assert check(report, "eviction").status is CheckStatus.WARNING
    assert "INFO refused" in check(report, "eviction").detail


async def test_keys_with_a_ttl_are_found_in_a_bounded_sample(redis_store: RedisServer) -> None:
    """Point 3: membership keys with a TTL warn; bound: PTTL sent for at most 2 x 50 + 1 keys."""
    seed_redis(redis_store.admin, synchronized_on=now_ms())
    admin = cast("Any", redis_store.admin)
    pipe = admin.pipeline(transaction=False)
    for index in range(400):
        key = f"launchdarkly:big_segment_include:{context_hash(str(index))}"
        pipe.sadd(key, "s.g1")
        pipe.expire(key, 3600)
    pipe.execute()
    _ = redis_store.admin.config_resetstat()

    report = await diagnose(redis_store.reader_url, prefix="launchdarkly")

    expiry = check(report, "key expiry")
    assert expiry.status is CheckStatus.WARNING
    assert f"{SAMPLE_KEYS} of {SAMPLE_KEYS + 1} sampled keys have a TTL" in expiry.detail
    calls = int(redis_store.admin.info("commandstats")["cmdstat_pttl"]["calls"])
    assert calls <= 2 * SAMPLE_KEYS + 1


async def test_no_ttl_is_ok(redis_store: RedisServer) -> None:
    """LaunchDarkly writes no TTL: the metadata and the members are kept."""
    seed_redis(redis_store.admin, synchronized_on=now_ms(), members={"u": (["s.g1"], ["t.g2"])})

    report = await diagnose(redis_store.reader_url, prefix="launchdarkly")

    assert check(report, "key expiry").status is CheckStatus.OK
    assert "none of 3 sampled keys has a TTL" in check(report, "key expiry").detail


@pytest.mark.parametrize(
    ("read_units", "instances", "status"),
    [
        (None, 50, CheckStatus.OK),
        (1, 1, CheckStatus.OK),
        (1, 5, CheckStatus.OK),
        (1, 6, CheckStatus.FAILURE),
        (1, 10, CheckStatus.FAILURE),
    ],
)
async def test_dynamodb_read_capacity_against_the_sdks(  # noqa: PLR0913, PLR0917 - fixtures and parameters
    dynamodb: Any,
    moto_endpoint: str,
    aws_session: AioSession,
    read_units: int | None,
    instances: int,
    status: CheckStatus,
) -> None:
    """Point 3: on-demand is fine; 1 RCU carries 5 SDK instances' metadata polls (0.2 RCU/s each), not 6."""
    table = new_table(dynamodb, read_units=read_units)
    seed_dynamodb(dynamodb, table, synchronized_on=now_ms())

    result = await asyncio.wait_for(
        diagnose_dynamodb(
            table,
            region="us-east-1",
            endpoint_url=moto_endpoint,
            session=aws_session,
            sdk_instances=instances,
        ),
        BOUND,
    )

    assert isinstance(result, Ok), result
    capacity = check(result.value, "read capacity")
    assert capacity.status is status
    assert ("on-demand" in capacity.detail) is (read_units is None)
    if read_units is not None:
        assert f"provisioned {read_units} RCU; {instances} SDK instance(s)" in capacity.detail


async def test_sdk_instances_on_the_command_line(
    dynamodb: Any, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--sdk-instances 10`` against 1 RCU: exit 4 with the read capacity line; 5 fit: exit 0."""
    table = new_table(dynamodb, read_units=1)
    seed_dynamodb(dynamodb, table, synchronized_on=now_ms())
    base = ["doctor", "dynamodb", "--table", table, "--region", "us-east-1"]

    _ = capsys.readouterr()
    crowded = await asyncio.to_thread(
        main, [*base, "--endpoint-url", moto_endpoint, "--sdk-instances", "10"]
    )
    crowded_out = capsys.readouterr().out
    fitting = await asyncio.to_thread(
        main, [*base, "--endpoint-url", moto_endpoint, "--sdk-instances", "5"]
    )

    assert crowded == 4
    assert "FAIL  read capacity" in crowded_out
    assert "provisioned 1 RCU; 10 SDK instance(s)" in crowded_out
    assert fitting == 0
