"""Issue 22 point 4: what the syncing fake writes, LaunchDarkly's own server SDK reads.

An integration is created through ldstore's SDK, the fake syncs into a real redis-server
and moto's DynamoDB, and `ldclient` evaluates a flag whose rule targets the big segment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import aiohttp
import pytest
from doctor.support import RedisServer, new_table
from ldclient import Context
from ldclient.client import LDClient
from ldclient.config import BigSegmentsConfig, Config
from ldclient.integrations import DynamoDB, Files, Redis
from ldclient.interfaces import BigSegmentStore

from ldstore import Core, Ok, RetryConfig
from ldstore.doctor import diagnose_dynamodb, diagnose_redis
from ldstore.funcs import create_big_segment_store_integration, patch_big_segment_store_integration
from ldstore.models import DynamoDBConfig, IntegrationDeliveryConfigurationPost, RedisConfig
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import set_on
from ldstore.testing import FakeLaunchDarkly
from ldstore.workflows import wait_until_available

ServeFake = Any  # tests/conftest.py's serve_fake fixture
STALE_AFTER = 1.0  # seconds, in the SDK's BigSegmentsConfig and the doctor
SEGMENT = "beta-testers"


def flag_data(generation: int) -> dict[str, Any]:
    """A flag serving true to members of SEGMENT, and the big segment as LaunchDarkly sends it."""
    return {
        "flags": {
            "new-ui": {
                "key": "new-ui",
                "version": 1,
                "on": True,
                "variations": [False, True],
                "offVariation": 0,
                "fallthrough": {"variation": 0},
                "salt": "salt",
                "rules": [
                    {
                        "id": "in-segment",
                        "variation": 1,
                        "clauses": [
                            {"attribute": "key", "op": "segmentMatch", "values": [SEGMENT]}
                        ],
                    }
                ],
            }
        },
        "segments": {
            SEGMENT: {
                "key": SEGMENT,
                "version": 1,
                "unbounded": True,
                "unboundedContextKind": "user",
                "generation": generation,
                "salt": "salt",
                "included": [],
                "excluded": [],
                "rules": [],
            }
        },
    }


@pytest.fixture
def sdk_client(tmp_path: Path) -> Iterator[Any]:
    """Builds an LDClient over a file data source and a big segment store; closes it after."""
    clients: list[LDClient] = []

    def build(store: BigSegmentStore, generation: int) -> LDClient:
        data = tmp_path / f"flags-{len(clients)}.json"
        _ = data.write_text(json.dumps(flag_data(generation)), encoding="utf-8")
        config = Config(
            sdk_key="sdk-fake-not-a-secret",
            update_processor_class=Files.new_data_source(paths=[str(data)]),
            send_events=False,
            diagnostic_opt_out=True,
            big_segments=BigSegmentsConfig(
                store=store,
                stale_after=STALE_AFTER,
                status_poll_interval=0.1,
                context_cache_time=0.05,
            ),
        )
        client = LDClient(config=config, start_wait=5)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()  # type: ignore[no-untyped-call]  # ldclient leaves close() unannotated


@pytest.fixture
async def core(serve_fake: ServeFake) -> AsyncIterator[tuple[FakeLaunchDarkly, Core]]:
    """A syncing fake (every 0.2 s) and an ldstore Core pointed at it."""
    fake: FakeLaunchDarkly = await serve_fake(
        FakeLaunchDarkly(sync=True, sync_interval=0.2, dynamodb_endpoint=None)
    )
    async with Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as core:
        yield fake, core


async def seed_segment(fake: FakeLaunchDarkly) -> int:
    """Create SEGMENT and its members over HTTP, as against LaunchDarkly; its generation."""
    headers = {"Authorization": fake.token}
    base = f"{fake.url}/api/v2/segments/default/production"
    body = {"key": SEGMENT, "name": "Beta testers", "unbounded": True}
    targets = {"included": {"add": ["alice", "zoë 🚀"]}, "excluded": {"add": ["bob"]}}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(base, json=body) as answer:
            assert answer.status == 201
            generation: int = (await answer.json())["generation"]
        async with session.post(f"{base}/{quote(SEGMENT)}/contexts", json=targets) as answer:
            assert answer.status == 204
    return generation


async def create_and_wait(
    core: Core, integration_key: str, config: RedisConfig | DynamoDBConfig
) -> GetBigSegmentStoreIntegrationRequest:
    """Create the integration, on, through ldstore's SDK and wait until the fake synced it."""
    post = IntegrationDeliveryConfigurationPost(config=config, on=True, name="synced")
    created = await create_big_segment_store_integration(
        core,
        CreateBigSegmentStoreIntegrationRequest("default", "production", integration_key, post),
    )
    assert isinstance(created, Ok), created
    request = GetBigSegmentStoreIntegrationRequest(
        "default", "production", integration_key, created.value.id
    )
    ready = await wait_until_available(core, request, timeout=10, poll_interval=0.1)
    assert isinstance(ready, Ok), ready
    return request


async def turn_off(core: Core, request: GetBigSegmentStoreIntegrationRequest) -> None:
    patched = await patch_big_segment_store_integration(
        core,
        PatchBigSegmentStoreIntegrationRequest(
            request.project_key,
            request.environment_key,
            request.integration_key,
            request.integration_id,
            [set_on(False)],
        ),
    )
    assert isinstance(patched, Ok), patched


def evaluate(client: LDClient, key: str) -> tuple[object, str | None]:
    detail = client.variation_detail("new-ui", Context.create(key), default=False)
    reason = cast("dict[str, object]", detail.reason or {})  # pyright: ignore[reportUnknownMemberType]  # ldclient types it as a bare dict
    status = reason.get("bigSegmentsStatus")
    return detail.value, None if status is None else str(status)


async def assert_sdk_reads_memberships(client: LDClient) -> None:
    """Included contexts match (any Unicode key), excluded and unknown do not; status healthy."""
    results = {
        key: await asyncio.to_thread(evaluate, client, key)
        for key in ("alice", "zoë 🚀", "bob", "carol")
    }

    assert results == {
        "alice": (True, "HEALTHY"),
        "zoë 🚀": (True, "HEALTHY"),
        "bob": (False, "HEALTHY"),
        "carol": (False, "HEALTHY"),
    }
    status = client.big_segment_store_status_provider.status
    assert status.available
    assert not status.stale


async def wait_stale(client: LDClient) -> None:
    """Poll the SDK's own status until it says stale (bounded: 10 s)."""
    for _ in range(100):
        if client.big_segment_store_status_provider.status.stale:
            return
        await asyncio.sleep(0.1)
    pytest.fail("the SDK never reported the store stale")


@pytest.mark.timeout(60)
async def test_the_sdk_reads_a_redis_store_the_fake_syncs(
    core: tuple[FakeLaunchDarkly, Core], redis_store: RedisServer, sdk_client: Any
) -> None:
    """Redis: memberships and freshness as ldclient reads them; off, then STALE after staleAfter."""
    fake, ld = core
    generation = await seed_segment(fake)
    prefix = fake.client_side_id("default", "production")
    request = await create_and_wait(
        ld, "redis", RedisConfig(host="127.0.0.1", port=redis_store.port)
    )
    url = f"redis://127.0.0.1:{redis_store.port}/0"
    client = sdk_client(Redis.new_big_segment_store(url=url, prefix=prefix), generation)

    await assert_sdk_reads_memberships(client)
    healthy = await diagnose_redis(url, prefix=prefix, stale_after=STALE_AFTER)

    await turn_off(ld, request)
    await wait_stale(client)
    frozen = fake.get_integration(request.integration_id)
    stale = await diagnose_redis(url, prefix=prefix, stale_after=STALE_AFTER)

    assert await asyncio.to_thread(evaluate, client, "alice") == (True, "STALE")
    assert isinstance(healthy, Ok)
    assert healthy.value.healthy
    assert not healthy.value.stale
    assert isinstance(stale, Ok)
    assert stale.value.stale
    assert not stale.value.healthy
    assert frozen is not None
    status = frozen["_status"]
    assert status["available"] is False
    assert status["potentiallyStale"] is True
    await asyncio.sleep(0.5)  # two more sync intervals: lastSync stays where it was
    after = fake.get_integration(request.integration_id)
    assert after is not None
    assert after["_status"]["lastSync"] == status["lastSync"]


@pytest.mark.timeout(60)
async def test_the_sdk_reads_a_dynamodb_store_the_fake_syncs(
    serve_fake: ServeFake, moto_endpoint: str, dynamodb: Any, sdk_client: Any
) -> None:
    """DynamoDB on moto: the same memberships through ldclient's DynamoDB store, then STALE."""
    fake: FakeLaunchDarkly = await serve_fake(
        FakeLaunchDarkly(sync=True, sync_interval=0.2, dynamodb_endpoint=moto_endpoint)
    )
    table = new_table(dynamodb)
    generation = await seed_segment(fake)
    prefix = fake.client_side_id("default", "production")
    config = DynamoDBConfig(
        table_name=table,
        region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/ld",
        external_id="ext",
    )
    async with Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as ld:
        request = await create_and_wait(ld, "dynamodb", config)
        options = {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}
        client = sdk_client(DynamoDB.new_big_segment_store(table, prefix, options), generation)

        await assert_sdk_reads_memberships(client)
        healthy = await diagnose_dynamodb(
            table,
            region="us-east-1",
            endpoint_url=moto_endpoint,
            prefix=prefix,
            stale_after=STALE_AFTER,
        )
        await turn_off(ld, request)
        await wait_stale(client)
        stale = await diagnose_dynamodb(
            table,
            region="us-east-1",
            endpoint_url=moto_endpoint,
            prefix=prefix,
            stale_after=STALE_AFTER,
        )

    assert await asyncio.to_thread(evaluate, client, "alice") == (True, "STALE")
    assert isinstance(healthy, Ok)
    assert healthy.value.healthy
    assert isinstance(stale, Ok)
    assert stale.value.stale
