"""diagnose_dynamodb against moto's DynamoDB server, reached through aiobotocore over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import attrs
import pytest
from aiobotocore.session import AioSession
from ldclient.integrations import DynamoDB as LDDynamoDB

from ldstore.core import Core, RetryConfig
from ldstore.doctor import (
    Check,
    CheckStatus,
    StoreReport,
    StoreUnreachableError,
    context_hash,
    cross_check,
    diagnose_dynamodb,
)
from ldstore.errors import InputValidationError, NotFoundError
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.result import Err, Ok
from ldstore.testing import FakeLaunchDarkly

from .support import Members, new_table, now_ms, sdk_view, seed_dynamodb

BOUND = 30.0  # seconds any diagnosis may take here, far above what one takes
Diagnose = Callable[..., Awaitable[StoreReport]]


@pytest.fixture
def diagnose(moto_endpoint: str, aws_session: AioSession) -> Diagnose:
    """diagnose_dynamodb on moto, with the session's aiobotocore session."""

    async def run(table: str, **options: Any) -> StoreReport:
        result = await asyncio.wait_for(
            diagnose_dynamodb(
                table,
                region="us-east-1",
                endpoint_url=moto_endpoint,
                session=aws_session,
                **options,
            ),
            BOUND,
        )
        assert isinstance(result, Ok), result
        return result.value

    return run


def check(report: StoreReport, name: str) -> Check:
    (found,) = [item for item in report.checks if item.name == name]
    return found


def failures(report: StoreReport) -> list[str]:
    return [item.name for item in report.checks if item.status is CheckStatus.FAILURE]


@pytest.fixture
def table(dynamodb: Any) -> str:
    """A fresh, empty table keyed namespace/key."""
    return new_table(dynamodb)


async def test_a_freshly_synced_store_is_healthy(
    diagnose: Diagnose, dynamodb: Any, table: str
) -> None:
    """Fresh metadata, the right key schema, string sets: every check passes."""
    seed_dynamodb(
        dynamodb,
        table,
        prefix="env-1",
        synchronized_on=now_ms() - 1_000,
        members={"user-1": (["beta.g1"], ["vip.g2"])},
    )

    report = await diagnose(table, prefix="env-1", context_keys=["user-1", "u2"])

    assert report.healthy, report.checks
    assert report.stale is False
    assert report.memberships == {"user-1": {"beta.g1": True, "vip.g2": False}, "u2": {}}
    assert [item.name for item in report.checks] == [
        "reachable",
        "key schema",
        "read capacity",
        "metadata",
        "freshness",
        "clock skew",
        "member key types",
        "member values",
        "context 'user-1'",
        "context 'u2'",
    ]


async def test_an_old_sync_is_stale(diagnose: Diagnose, dynamodb: Any, table: str) -> None:
    """synchronizedOn 10 minutes ago: stale and unhealthy."""
    seed_dynamodb(dynamodb, table, synchronized_on=now_ms() - 600_000)

    report = await diagnose(table, prefix="")

    assert report.stale is True
    assert failures(report) == ["freshness"]


async def test_missing_metadata_fails(diagnose: Diagnose, dynamodb: Any, table: str) -> None:
    """No metadata item: metadata and freshness fail; stale as SDKs say."""
    seed_dynamodb(dynamodb, table, members={"user-1": (["beta.g1"], [])})

    report = await diagnose(table, prefix="env-1")

    assert failures(report) == ["metadata", "freshness"]
    assert report.stale is True
    assert report.synchronized_on is None


@pytest.mark.parametrize(
    "value",
    [{"S": "1764000000000"}, {"N": "1764000000000.5"}, {"BOOL": True}],
)
async def test_metadata_that_is_not_an_integer_number_fails(
    diagnose: Diagnose, dynamodb: Any, table: str, value: dict[str, Any]
) -> None:
    """synchronizedOn must be an N holding an integer, or SDKs cannot use it."""
    seed_dynamodb(dynamodb, table, synchronized_on=value)

    report = await diagnose(table, prefix=None)

    assert failures(report)[:2] == ["metadata", "freshness"]
    assert "not an integer" in check(report, "metadata").detail


async def test_a_timestamp_in_the_future_is_clock_skew(
    diagnose: Diagnose, dynamodb: Any, table: str
) -> None:
    """An hour ahead: not stale, but the skew check fails."""
    seed_dynamodb(dynamodb, table, synchronized_on=now_ms() + 3_600_000)

    report = await diagnose(table)

    assert report.stale is False
    assert failures(report) == ["clock skew"]


async def test_membership_attributes_of_the_wrong_type_fail(
    diagnose: Diagnose, dynamodb: Any, table: str
) -> None:
    """`included` as a list rather than a string set: SDKs ignore it, the doctor fails it."""
    seed_dynamodb(dynamodb, table, synchronized_on=now_ms())
    _ = dynamodb.put_item(
        TableName=table,
        Item={
            "namespace": {"S": "big_segments_user"},
            "key": {"S": context_hash("user-1")},
            "included": {"L": [{"S": "beta.g1"}]},
        },
    )

    report = await diagnose(table, context_keys=["user-1"])

    assert failures(report) == ["member key types", "context 'user-1'"]
    assert "is L" in check(report, "member key types").detail


async def test_member_values_that_are_not_segment_refs_fail(
    diagnose: Diagnose, dynamodb: Any, table: str
) -> None:
    """String-set values must look like <segmentKey>.g<generation>."""
    seed_dynamodb(
        dynamodb, table, synchronized_on=now_ms(), members={"user-1": (["beta"], ["vip.g1"])}
    )

    report = await diagnose(table, context_keys=["user-1"])

    assert failures(report) == ["member values", "context 'user-1'"]


async def test_an_include_wins_over_an_exclude(
    diagnose: Diagnose, dynamodb: Any, table: str
) -> None:
    """A segment in both sets: the context is in it, with a warning."""
    seed_dynamodb(
        dynamodb,
        table,
        synchronized_on=now_ms(),
        members={"user-1": (["beta.g1"], ["beta.g1", "vip.g2"])},
    )

    report = await diagnose(table, context_keys=["user-1"])

    assert report.memberships == {"user-1": {"beta.g1": True, "vip.g2": False}}
    assert check(report, "context 'user-1'").status is CheckStatus.WARNING
    assert report.healthy


async def test_a_wrong_key_schema_fails(diagnose: Diagnose, dynamodb: Any) -> None:
    """A table keyed pk/sk cannot hold the SDKs' items: the key schema check fails."""
    table = new_table(dynamodb, key_schema=("pk", "sk"))

    report = await diagnose(table, prefix="env-1")

    assert check(report, "key schema").status is CheckStatus.FAILURE
    assert "pk HASH (S), sk RANGE (S)" in check(report, "key schema").detail
    assert not report.healthy


async def test_a_missing_table_fails_and_stops(diagnose: Diagnose) -> None:
    """DynamoDB answered but has no such table: an Ok report with a failed table check."""
    report = await diagnose("no-such-table")

    assert [(item.name, item.status) for item in report.checks] == [
        ("reachable", CheckStatus.OK),
        ("table", CheckStatus.FAILURE),
    ]
    assert report.stale is True


async def test_discovery_reports_every_prefix(
    diagnose: Diagnose, dynamodb: Any, table: str
) -> None:
    """Without a prefix, a bounded Scan finds each metadata item, the unprefixed one too."""
    for prefix in (None, "client-side-id-1", "client-side-id-2"):
        seed_dynamodb(dynamodb, table, prefix=prefix, synchronized_on=now_ms())
    seed_dynamodb(dynamodb, table, members={"user-1": (["beta.g1"], [])})

    report = await diagnose(table)

    assert report.prefixes == ("", "client-side-id-1", "client-side-id-2")
    assert report.prefix is None
    assert report.healthy
    discovery = check(report, "prefix discovery")
    assert discovery.status is CheckStatus.WARNING
    assert "'client-side-id-1', 'client-side-id-2', (no prefix)" in discovery.detail


async def test_discovery_is_bounded(diagnose: Diagnose, dynamodb: Any, table: str) -> None:
    """Bound: scan_limit=20 over 60 items reads at most 20 and says there may be more."""
    seed_dynamodb(
        dynamodb,
        table,
        members={f"user-{index}": ([f"s{index}.g1"], []) for index in range(60)},
    )
    seed_dynamodb(dynamodb, table, prefix="env-1", synchronized_on=now_ms())

    report = await diagnose(table, scan_limit=20)

    detail = check(report, "prefix discovery").detail
    assert "stopped after 20 items" in detail
    assert "there may be more" in detail


async def test_an_unreachable_endpoint_is_an_err(aws_environment: dict[str, str]) -> None:
    """Nothing listening: Err(StoreUnreachableError) naming the operation."""
    result = await asyncio.wait_for(
        diagnose_dynamodb("t", region="us-east-1", endpoint_url="http://127.0.0.1:1"), BOUND
    )

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert result.error.method == "DescribeTable"
    assert "http://127.0.0.1:1" in str(result.error)


async def test_a_silent_endpoint_times_out(aws_environment: dict[str, str]) -> None:
    """Bound: an endpoint that accepts but never answers costs one timeout (0.3 s), then Err."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await asyncio.wait_for(
            diagnose_dynamodb(
                "t", region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}", timeout=0.3
            ),
            BOUND,
        )
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)


async def test_credentials_in_the_endpoint_are_masked(aws_environment: dict[str, str]) -> None:
    """An endpoint URL with user info never shows its password."""
    result = await diagnose_dynamodb(
        "t", region="us-east-1", endpoint_url="http://me:endpoint-secret@127.0.0.1:1"
    )

    assert isinstance(result, Err)
    assert "endpoint-secret" not in f"{result.error} {result.error!r}"


async def test_no_region_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a region anywhere: InputValidationError before any request."""
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")

    result = await diagnose_dynamodb("t", endpoint_url="http://127.0.0.1:1")

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)


@pytest.mark.parametrize("age_ms", [1_000, 130_000])
async def test_the_sdk_reads_what_the_doctor_reports(
    diagnose: Diagnose, moto_endpoint: str, dynamodb: Any, table: str, age_ms: int
) -> None:
    """LaunchDarkly's Python SDK store reads the same memberships and staleness."""
    synchronized_on = now_ms() - age_ms
    members: Members = {
        "user-1": (["beta.g1", "vip.g4"], ["beta.g1", "old.g2"]),
        "user-2": ([], ["beta.g1"]),
    }
    seed_dynamodb(dynamodb, table, prefix="env-1", synchronized_on=synchronized_on, members=members)
    sdk_store = LDDynamoDB.new_big_segment_store(
        table,
        prefix="env-1",
        dynamodb_opts={"endpoint_url": moto_endpoint, "region_name": "us-east-1"},
    )

    report = await diagnose(table, prefix="env-1", context_keys=[*members, "u3"])
    sdk = await sdk_view(sdk_store, [*members, "u3"])

    assert sdk.synchronized_on == synchronized_on
    assert sdk.stale == report.stale
    assert sdk.memberships == report.memberships
    assert report.memberships["user-1"] == {"beta.g1": True, "vip.g4": True, "old.g2": False}


async def test_the_doctor_only_reads(
    diagnose: Diagnose, moto_endpoint: str, dynamodb: Any, table: str
) -> None:
    """moto's request recorder sees DescribeTable, Scan, GetItem and Query, nothing else."""
    seed_dynamodb(dynamodb, table, synchronized_on=now_ms(), members={"user-1": (["beta.g1"], [])})
    recorder = f"{moto_endpoint}/moto-api/recorder"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=BOUND)) as http:
        for step in ("reset-recording", "start-recording"):
            async with http.post(f"{recorder}/{step}") as response:
                assert response.status == 200

        report = await diagnose(table, context_keys=["user-1"])

        async with http.post(f"{recorder}/stop-recording") as response:
            assert response.status == 200
        async with http.get(f"{recorder}/download-recording") as response:
            recording = await response.text()

    assert report.healthy
    targets = {
        json.loads(line)["headers"].get("X-Amz-Target", "")
        for line in recording.splitlines()
        if line
    }
    assert targets == {
        f"DynamoDB_20120810.{operation}"
        for operation in ("DescribeTable", "Scan", "GetItem", "Query")
    }


@pytest.mark.parametrize(
    ("table", "options"),
    [("", {}), ("t", {"stale_after": -1}), ("t", {"timeout": 0}), ("t", {"scan_limit": 0})],
)
async def test_bad_input_is_refused_before_connecting(table: str, options: dict[str, Any]) -> None:
    """An empty table name or a bound that is not positive: InputValidationError, nothing sent."""
    result = await diagnose_dynamodb(
        table, region="us-east-1", endpoint_url="http://127.0.0.1:1", **options
    )

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)


async def test_the_cross_check_finds_a_disagreement(
    diagnose: Diagnose, dynamodb: Any, table: str, fake: FakeLaunchDarkly
) -> None:
    """LaunchDarkly says available and synced now; the DynamoDB store is an hour old."""
    seed_dynamodb(dynamodb, table, synchronized_on=now_ms() - 3_600_000)
    stored = fake.seed_integration(
        "default", "production", "dynamodb", name="Prod", config={"tableName": table}, on=True
    )
    fake.set_status(stored["_id"], available=True, potentially_stale=False, last_sync=now_ms())
    request = GetBigSegmentStoreIntegrationRequest(
        project_key="default",
        environment_key="production",
        integration_key="dynamodb",
        integration_id=stored["_id"],
    )
    report = await diagnose(table)

    async with Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as core:
        checked = await cross_check(core, request, report)
        unknown = await cross_check(core, attrs.evolve(request, integration_id="nope"), report)

    assert isinstance(checked, Ok)
    agree = checked.value.checks[-1]
    assert agree.name == "api agrees with store"
    assert agree.status is CheckStatus.FAILURE
    assert "apart" in agree.detail
    assert not checked.value.healthy
    assert isinstance(unknown, Err)
    assert isinstance(unknown.error, NotFoundError)
