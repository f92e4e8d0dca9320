"""diagnose_redis against a real redis-server, read by a user that may only read."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ldclient.integrations import Redis as LDRedis

from ldstore.doctor import (
    Check,
    CheckStatus,
    StoreReport,
    StoreUnreachableError,
    context_hash,
    diagnose_redis,
)
from ldstore.errors import InputValidationError
from ldstore.result import Err, Ok

from .support import (
    READER_PASSWORD,
    Members,
    RedisServer,
    fill_redis,
    now_ms,
    sdk_view,
    seed_redis,
)

BOUND = 20.0  # seconds any diagnosis may take here, far above what one takes


async def diagnose(server: RedisServer, **options: Any) -> StoreReport:
    result = await asyncio.wait_for(diagnose_redis(server.reader_url, **options), BOUND)
    assert isinstance(result, Ok), result
    return result.value


def check(report: StoreReport, name: str) -> Check:
    (found,) = [item for item in report.checks if item.name == name]
    return found


def failures(report: StoreReport) -> list[str]:
    return [item.name for item in report.checks if item.status is CheckStatus.FAILURE]


async def test_a_freshly_synced_store_is_healthy(redis_store: RedisServer) -> None:
    """Fresh metadata and well-formed sets: every check passes and memberships are read."""
    seed_redis(
        redis_store.admin,
        synchronized_on=now_ms() - 2_000,
        members={"user-1": (["beta.g1", "vip.g12"], [])},
    )

    report = await diagnose(redis_store, prefix="launchdarkly", context_keys=["user-1", "user-2"])

    assert report.healthy
    assert failures(report) == []
    assert report.stale is False
    assert report.age_seconds is not None
    assert 0 <= report.age_seconds < 120
    assert report.memberships == {"user-1": {"beta.g1": True, "vip.g12": True}, "user-2": {}}
    assert [item.name for item in report.checks] == [
        "reachable",
        "topology",
        "eviction",
        "metadata",
        "freshness",
        "clock skew",
        "member key types",
        "member values",
        "key expiry",
        "context 'user-1'",
        "context 'user-2'",
    ]
    assert report.to_json()["synchronized_on"].endswith("Z")


async def test_an_old_sync_is_stale(redis_store: RedisServer) -> None:
    """synchronizedOn older than stale_after: stale, a failed freshness check, unhealthy."""
    seed_redis(redis_store.admin, synchronized_on=now_ms() - 600_000)

    report = await diagnose(redis_store, prefix="launchdarkly", stale_after=120)

    assert report.stale is True
    assert not report.healthy
    assert failures(report) == ["freshness"]
    assert "stale" in check(report, "freshness").detail


async def test_stale_after_moves_the_line(redis_store: RedisServer) -> None:
    """A 10-minute-old sync is fresh for a 1-hour stale_after."""
    seed_redis(redis_store.admin, synchronized_on=now_ms() - 600_000)

    report = await diagnose(redis_store, prefix="launchdarkly", stale_after=3600)

    assert report.healthy
    assert report.stale is False


async def test_missing_metadata_fails(redis_store: RedisServer) -> None:
    """No synchronizedOn key: metadata and freshness fail, stale as SDKs say, no timestamp."""
    report = await diagnose(redis_store, prefix="launchdarkly")

    assert failures(report) == ["metadata", "freshness"]
    assert report.stale is True
    assert report.synchronized_on is None
    assert report.age_seconds is None
    assert "missing" in check(report, "metadata").detail


@pytest.mark.parametrize(
    "value", ["soon", "1.7e12", " 1764000000000", "-5", "", "12345678901234567"]
)
async def test_metadata_that_is_not_an_integer_fails(redis_store: RedisServer, value: str) -> None:
    """Anything but plain decimal digits (at most 16) is refused, as SDKs fail to parse it."""
    seed_redis(redis_store.admin, synchronized_on=value)

    report = await diagnose(redis_store, prefix="launchdarkly")

    assert failures(report) == ["metadata", "freshness"]
    assert "not an integer" in check(report, "metadata").detail


async def test_metadata_of_the_wrong_type_fails(redis_store: RedisServer) -> None:
    """A set where the synchronizedOn string belongs: metadata fails, naming the type."""
    _ = redis_store.admin.sadd("launchdarkly:big_segments_synchronized_on", "1")

    report = await diagnose(redis_store, prefix="launchdarkly")

    assert failures(report) == ["metadata", "freshness"]
    assert "is a set" in check(report, "metadata").detail


async def test_a_timestamp_in_the_future_is_clock_skew(redis_store: RedisServer) -> None:
    """An hour ahead: not stale for SDKs, but the skew check fails the store."""
    seed_redis(redis_store.admin, synchronized_on=now_ms() + 3_600_000)

    report = await diagnose(redis_store, prefix="launchdarkly")

    assert report.stale is False
    assert failures(report) == ["clock skew"]
    assert "in the future" in check(report, "clock skew").detail


async def test_a_little_skew_is_a_warning(redis_store: RedisServer) -> None:
    """A minute ahead (less than stale_after): a warning, still healthy."""
    seed_redis(redis_store.admin, synchronized_on=now_ms() + 60_000)

    report = await diagnose(redis_store, prefix="launchdarkly")

    assert report.healthy
    assert check(report, "clock skew").status is CheckStatus.WARNING


async def test_membership_keys_of_the_wrong_type_fail(redis_store: RedisServer) -> None:
    """A string where a membership set belongs fails both the sample and that context."""
    seed_redis(redis_store.admin, synchronized_on=now_ms())
    digest = context_hash("user-1")
    _ = redis_store.admin.set(f"launchdarkly:big_segment_include:{digest}", "beta.g1")

    report = await diagnose(redis_store, prefix="launchdarkly", context_keys=["user-1"])

    assert failures(report) == ["member key types", "context 'user-1'"]
    assert "not sets" in check(report, "member key types").detail
    assert "is a string" in check(report, "context 'user-1'").detail


async def test_member_values_that_are_not_segment_refs_fail(redis_store: RedisServer) -> None:
    """Set members must look like <segmentKey>.g<generation>."""
    seed_redis(
        redis_store.admin,
        synchronized_on=now_ms(),
        members={"user-1": (["beta", "vip.g2"], ["x.gen3"])},
    )

    report = await diagnose(redis_store, prefix="launchdarkly", context_keys=["user-1"])

    assert failures(report) == ["member values", "context 'user-1'"]
    assert "'beta'" in check(report, "member values").detail
    assert "'x.gen3'" in check(report, "member values").detail


async def test_an_include_wins_over_an_exclude(redis_store: RedisServer) -> None:
    """A context in both sets of one segment is in it (a warning says so); exclusions stay."""
    seed_redis(
        redis_store.admin,
        synchronized_on=now_ms(),
        members={"user-1": (["beta.g1"], ["beta.g1", "vip.g3"])},
    )

    report = await diagnose(redis_store, prefix="launchdarkly", context_keys=["user-1"])

    assert report.memberships == {"user-1": {"beta.g1": True, "vip.g3": False}}
    membership = check(report, "context 'user-1'")
    assert membership.status is CheckStatus.WARNING
    assert "include wins" in membership.detail
    assert report.healthy


async def test_discovery_reports_every_prefix(redis_store: RedisServer) -> None:
    """Without a prefix, the SCAN finds each prefix with metadata and the default is diagnosed."""
    for prefix in ("launchdarkly", "client-side-id-1", "client-side-id-2"):
        seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms())
    _ = redis_store.admin.set("unrelated:key", "x")

    report = await diagnose(redis_store)

    assert report.prefixes == ("client-side-id-1", "client-side-id-2", "launchdarkly")
    assert report.prefix == "launchdarkly"
    discovery = check(report, "prefix discovery")
    assert discovery.status is CheckStatus.WARNING
    assert "'client-side-id-1', 'client-side-id-2', 'launchdarkly'" in discovery.detail


async def test_discovery_of_one_prefix_diagnoses_it(redis_store: RedisServer) -> None:
    """One prefix found (not the default): that one is diagnosed, and discovery is ok."""
    seed_redis(redis_store.admin, prefix="env-abc", synchronized_on=now_ms())

    report = await diagnose(redis_store)

    assert report.prefix == "env-abc"
    assert report.healthy
    assert check(report, "prefix discovery").status is CheckStatus.OK


async def test_discovery_without_metadata_diagnoses_the_default(redis_store: RedisServer) -> None:
    """Nothing found: the SDKs' default prefix is diagnosed (and fails for want of metadata)."""
    report = await diagnose(redis_store)

    assert report.prefix == "launchdarkly"
    assert report.prefixes == ()
    assert check(report, "prefix discovery").status is CheckStatus.WARNING
    assert "metadata" in failures(report)


def _scan_calls(server: RedisServer) -> int:
    stats: dict[str, Any] = server.admin.info("commandstats")
    return int(stats.get("cmdstat_scan", {}).get("calls", 0))


async def test_discovery_is_bounded(redis_store: RedisServer) -> None:
    """Bound: with scan_limit=200 over 5000 keys, discovery sends at most one SCAN per 200 keys."""
    fill_redis(redis_store.admin, 5000)
    _ = redis_store.admin.config_resetstat()

    report = await diagnose(redis_store, scan_limit=200)

    discovery = check(report, "prefix discovery")
    assert "there may be more" in discovery.detail
    # Discovery: 1 SCAN of COUNT 200; the member sample: one more per kind (its COUNT is 1000).
    assert _scan_calls(redis_store) <= 1 + 2


async def test_an_unreachable_store_is_an_err(redis_store: RedisServer) -> None:
    """Nothing listening: Err(StoreUnreachableError) naming the command, password masked."""
    url = f"redis://doctor:{READER_PASSWORD}@127.0.0.1:1/0"

    result = await asyncio.wait_for(diagnose_redis(url), BOUND)

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert result.error.method == "PING"
    for text in (str(result.error), repr(result.error), result.error.url):
        assert READER_PASSWORD not in text
    assert "doctor:[REDACTED]@127.0.0.1:1" in str(result.error)


async def test_a_refused_password_is_an_err(redis_store: RedisServer) -> None:
    """A wrong password: Err(StoreUnreachableError), the password never in it."""
    url = f"redis://doctor:wrong-{READER_PASSWORD}@127.0.0.1:{redis_store.port}/0"

    result = await asyncio.wait_for(diagnose_redis(url), BOUND)

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert READER_PASSWORD not in f"{result.error} {result.error!r}"


async def test_a_silent_server_times_out(redis_store: RedisServer) -> None:
    """Bound: a server that accepts but never answers costs one timeout (0.2 s), then Err."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await asyncio.wait_for(
            diagnose_redis(f"redis://127.0.0.1:{port}/0", timeout=0.2), BOUND
        )
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("http://127.0.0.1:6379/0", {}),
        ("redis://127.0.0.1:6379/0", {"stale_after": 0}),
        ("redis://127.0.0.1:6379/0", {"timeout": -1}),
        ("redis://127.0.0.1:6379/0", {"scan_limit": 0}),
    ],
)
async def test_bad_input_is_refused_before_connecting(url: str, options: dict[str, Any]) -> None:
    """A URL that is not Redis's, or a bound that is not positive: InputValidationError."""
    result = await diagnose_redis(url, **options)

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)


async def test_the_doctor_only_reads(redis_store: RedisServer) -> None:
    """A user allowed only reading commands gets the full report, and no key changes."""
    seed_redis(
        redis_store.admin,
        synchronized_on=now_ms(),
        members={"user-1": (["beta.g1"], ["vip.g2"])},
    )
    before = {key: redis_store.admin.dump(key) for key in redis_store.admin.keys("*")}
    _ = redis_store.admin.config_resetstat()

    report = await diagnose(redis_store, context_keys=["user-1"])

    assert report.healthy
    assert {key: redis_store.admin.dump(key) for key in redis_store.admin.keys("*")} == before
    stats: dict[str, Any] = redis_store.admin.info("commandstats")
    sent = {name.removeprefix("cmdstat_") for name in stats} - {
        "keys",
        "dump",
        "info",
        "config|resetstat",
    }
    handshake = {"hello", "auth", "client|setinfo", "select"}
    assert sent - handshake <= {
        "ping",
        "type",
        "get",
        "pttl",
        "dbsize",
        "scan",
        "sscan",
        "srandmember",
    }


@pytest.mark.parametrize("age_ms", [1_000, 90_000, 150_000, 3_600_000])
async def test_the_sdk_reads_what_the_doctor_reports(redis_store: RedisServer, age_ms: int) -> None:
    """LaunchDarkly's Python SDK store reads the same memberships and staleness."""
    synchronized_on = now_ms() - age_ms
    members: Members = {
        "user-1": (["beta.g1", "vip.g4"], ["beta.g1", "old.g2"]),
        "user-2": ([], ["beta.g1"]),
    }
    seed_redis(redis_store.admin, prefix="env-1", synchronized_on=synchronized_on, members=members)
    sdk_store = LDRedis.new_big_segment_store(url=redis_store.reader_url, prefix="env-1")

    report = await diagnose(redis_store, prefix="env-1", context_keys=[*members, "user-3"])
    sdk = await sdk_view(sdk_store, [*members, "user-3"])

    assert sdk.synchronized_on == synchronized_on
    assert report.synchronized_on is not None
    assert sdk.stale == report.stale
    assert sdk.memberships == report.memberships
    assert report.memberships["user-1"] == {"beta.g1": True, "vip.g4": True, "old.g2": False}


async def test_a_user_who_may_not_scan_gets_a_warning(redis_store: RedisServer) -> None:
    """SDKs never SCAN: a refused discovery is a warning, and the default prefix is read."""
    seed_redis(redis_store.admin, synchronized_on=now_ms())

    result = await diagnose_redis(redis_store.url_for("no-scan"))

    assert isinstance(result, Ok)
    assert result.value.healthy
    assert check(result.value, "prefix discovery").status is CheckStatus.WARNING
    assert "SCAN refused" in check(result.value, "prefix discovery").detail


async def test_a_user_who_may_not_read_is_an_err(redis_store: RedisServer) -> None:
    """PING works but TYPE is refused (NOPERM): Err(StoreUnreachableError) saying so."""
    result = await diagnose_redis(redis_store.url_for("ping-only"), prefix="launchdarkly")

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert result.error.method.startswith("TYPE ")
    assert "refused" in str(result.error)
    assert READER_PASSWORD not in str(result.error)
