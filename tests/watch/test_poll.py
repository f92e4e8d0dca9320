"""ldstore.watch.poll: one list call, each mapped store read through the doctor, a Snapshot."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from doctor.support import new_table, seed_dynamodb

from ldstore import Core, RetryConfig
from ldstore.doctor import CheckStatus
from ldstore.errors import LDStoreError, NetworkError
from ldstore.result import Err, Ok, Result
from ldstore.testing import FakeLaunchDarkly
from ldstore.text import secret_forms
from ldstore.watch import (
    DynamoDBStore,
    Filters,
    PollCache,
    PollOptions,
    RedisStore,
    Snapshot,
    poll,
)

from .support import WatchedRedis, now_ms, silent_server

LIST = "getBigSegmentStoreIntegrations"
ServeFake = Callable[[FakeLaunchDarkly], Awaitable[FakeLaunchDarkly]]  # tests/conftest.py's fixture


def seed(fake: FakeLaunchDarkly, name: str = "Prod Redis", **fields: Any) -> dict[str, Any]:
    """An integration that LaunchDarkly calls available, synced a second ago."""
    fields.setdefault("on", True)
    item = fake.seed_integration(
        fields.pop("project", "default"),
        fields.pop("environment", "production"),
        "redis",
        name=name,
        config={"host": "127.0.0.1"},
        **fields,
    )
    fake.set_status(item["_id"], available=True, potentially_stale=False, last_sync=now_ms() - 1000)
    return item


def store_for(redis: WatchedRedis, name: str = "Prod Redis", **fields: Any) -> RedisStore:
    fields.setdefault("prefix", "client-side-id")
    return RedisStore(
        project=fields.pop("project", "default"),
        environment=fields.pop("environment", "production"),
        name=name,
        url=redis.url,
        password_env="WATCH_REDIS_PASSWORD",
        **fields,
    )


def snapshot_of(result: Result[Snapshot, LDStoreError]) -> Snapshot:
    assert isinstance(result, Ok), result
    return result.value


async def test_a_healthy_store_and_the_apis_status_in_one_list_call(
    fake: FakeLaunchDarkly, core: Core, redis_store: WatchedRedis
) -> None:
    """The list call is the only API request; the store reads healthy and agrees with the API."""
    item = seed(fake, tags=["team-a"])
    redis_store.seed("client-side-id")

    snapshot = snapshot_of(await poll(core, [store_for(redis_store)]))

    assert [request.operation_id for request in fake.requests] == [LIST]
    (state,) = snapshot.integrations
    assert state.integration.id == item["_id"]
    assert state.store is not None
    assert state.store.reachable
    assert state.store.healthy
    assert state.store.prefix == "client-side-id"
    checks = {check.name: check.status for check in state.store.checks}
    assert checks["freshness"] is CheckStatus.OK
    assert checks["api agrees with store"] is CheckStatus.OK
    assert snapshot.healthy


async def test_the_json_document_has_the_issues_exact_shape(
    fake: FakeLaunchDarkly, core: Core, redis_store: WatchedRedis
) -> None:
    """{healthy, api_up, integrations: [{project ... store: {reachable, healthy, synchronized_on, checks}}]}."""
    _ = seed(fake)
    _ = seed(fake, name="Unmapped")
    redis_store.seed("client-side-id", synchronized_on=1_700_000_000_000)

    document = snapshot_of(await poll(core, [store_for(redis_store)])).to_json()

    assert list(document) == ["healthy", "api_up", "integrations"]
    assert document["healthy"] is False
    assert document["api_up"] is True
    mapped, unmapped = document["integrations"]
    assert list(mapped) == [
        "project", "environment", "kind", "id", "name", "on", "available",
        "potentially_stale", "last_sync", "status_errors", "store",
    ]  # fmt: skip
    assert list(mapped["store"]) == ["reachable", "healthy", "synchronized_on", "checks"]
    assert mapped["store"]["synchronized_on"] == "2023-11-14T22:13:20.000Z"
    assert mapped["store"]["healthy"] is False
    checks = {check["name"]: check["status"] for check in mapped["store"]["checks"]}
    assert checks["freshness"] == "failure"
    assert (mapped["kind"], mapped["on"], mapped["available"], mapped["status_errors"]) == (
        "redis",
        True,
        True,
        0,
    )
    assert unmapped["store"] is None
    assert json.loads(json.dumps(document)) == document


async def test_a_store_that_never_answers_times_out_alone(
    fake: FakeLaunchDarkly, core: Core, redis_store: WatchedRedis
) -> None:
    """Bound: two silent stores and a good one, 0.5 s each, at most 2 at once: under 1.5 s."""
    _ = seed(fake)
    _ = seed(fake, name="Hung 1")
    _ = seed(fake, name="Hung 2")
    redis_store.seed("client-side-id")
    async with silent_server() as port:
        hung = [
            RedisStore(
                project="default",
                environment="production",
                name=f"Hung {n}",
                url=f"redis://127.0.0.1:{port}/0",
                prefix="p",
            )
            for n in (1, 2)
        ]
        started = time.monotonic()

        snapshot = snapshot_of(
            await poll(
                core,
                [store_for(redis_store), *hung],
                options=PollOptions(store_timeout=0.5, concurrency=2),
            )
        )
        elapsed = time.monotonic() - started

    assert elapsed < 1.5
    good, *silent = (state.store for state in snapshot.integrations)
    assert good is not None
    assert good.healthy
    for state in silent:
        assert state is not None
        assert not state.reachable
        assert not state.healthy
        assert state.synchronized_on is None
        assert state.checks[0].name == "reachable"
        assert state.checks[0].status is CheckStatus.FAILURE
        assert isinstance(state.error, NetworkError)


async def test_a_refused_password_never_shows(
    fake: FakeLaunchDarkly, core: Core, redis_store: WatchedRedis, monkeypatch: Any
) -> None:
    """A wrong password from password_env: unreachable, and no form of it in the findings."""
    secret = "wrong-p@ss/word-8c1f"
    monkeypatch.setenv("WATCH_REDIS_PASSWORD", secret)
    _ = seed(fake)

    snapshot = snapshot_of(await poll(core, [store_for(redis_store)]))

    (state,) = snapshot.integrations
    assert state.store is not None
    assert not state.store.reachable
    text = json.dumps(snapshot.to_json()) + repr(snapshot) + str(state.store.error)
    assert not any(form in text for form in secret_forms(secret))


async def test_an_unset_password_variable_is_the_stores_error(
    fake: FakeLaunchDarkly, core: Core, redis_store: WatchedRedis, monkeypatch: Any
) -> None:
    """password_env unset: the store is not tried, and its check says which variable."""
    monkeypatch.delenv("WATCH_REDIS_PASSWORD")
    _ = seed(fake)

    snapshot = snapshot_of(await poll(core, [store_for(redis_store)]))

    store = snapshot.integrations[0].store
    assert store is not None
    assert "WATCH_REDIS_PASSWORD" in store.checks[0].detail


async def test_filters_keep_what_list_would_and_entries_naming_nothing_are_reported(
    fake: FakeLaunchDarkly, core: Core, redis_store: WatchedRedis
) -> None:
    """--project/--environment/--tag: every one given must match; unmatched entries are listed."""
    _ = seed(fake, tags=["team-a", "prod"])
    _ = seed(fake, name="Other team", tags=["team-b"])
    _ = seed(fake, name="Staging", environment="staging", tags=["team-a"])
    typo = store_for(redis_store, name="Prod Rediss")
    redis_store.seed("client-side-id")

    snapshot = snapshot_of(
        await poll(
            core,
            [store_for(redis_store), typo],
            filters=Filters(project="default", environment="production", tags=("team-a",)),
        )
    )

    assert [state.integration.name for state in snapshot.integrations] == ["Prod Redis"]
    assert snapshot.unmatched == (typo,)


async def test_the_client_side_id_is_read_once_per_environment_and_cached(
    fake: FakeLaunchDarkly, core: Core, redis_store: WatchedRedis
) -> None:
    """Default prefix: one lookup per environment, reused for ten minutes, kept when a refresh fails."""
    _ = seed(fake)
    _ = seed(fake, name="Second store")
    redis_store.seed("env-id-1")
    clock = [1000.0]
    asked: list[tuple[str, str]] = []
    answers: list[Result[str, LDStoreError]] = [Ok("env-id-1")]

    async def lookup(_core: Core, project: str, environment: str) -> Result[str, LDStoreError]:
        asked.append((project, environment))
        return answers[-1]

    cache = PollCache(clock=lambda: clock[0], lookup=lookup)
    stores = [
        store_for(redis_store, prefix=None),
        store_for(redis_store, "Second store", prefix=None),
    ]

    first = snapshot_of(await poll(core, stores, cache=cache))
    clock[0] += 599
    _ = await poll(core, stores, cache=cache)
    clock[0] += 1
    answers.append(Err(NetworkError(message="down", method="GET", url="u")))
    third = snapshot_of(await poll(core, stores, cache=cache))

    assert asked == [("default", "production"), ("default", "production")]
    for snapshot in (first, third):
        for state in snapshot.integrations:
            assert state.store is not None
            assert state.store.prefix == "env-id-1"
            assert state.store.healthy
    assert [request.operation_id for request in fake.requests] == [LIST] * 3


async def test_a_failed_list_call_is_the_polls_error(fake: FakeLaunchDarkly) -> None:
    """Nothing listed, nothing read: the list call's Err comes back as it is."""
    async with Core("not-the-token", server_url=fake.url) as core:
        result = await poll(core)

    assert isinstance(result, Err)
    assert getattr(result.error, "status_code", None) == 401


async def test_concurrency_bounds_the_stores_read_at_once(
    fake: FakeLaunchDarkly, core: Core
) -> None:
    """Bound: three silent stores, 0.3 s each, one at a time: the poll takes at least 0.9 s."""
    for n in range(3):
        _ = seed(fake, name=f"Hung {n}")
    async with silent_server() as port:
        hung = [
            RedisStore(
                project="default",
                environment="production",
                name=f"Hung {n}",
                url=f"redis://127.0.0.1:{port}/0",
                prefix="p",
            )
            for n in range(3)
        ]
        started = time.monotonic()
        _ = await poll(core, hung, options=PollOptions(store_timeout=0.3, concurrency=1))
        serial = time.monotonic() - started
        started = time.monotonic()
        _ = await asyncio.wait_for(
            poll(core, hung, options=PollOptions(store_timeout=0.3, concurrency=3)), 5
        )
        parallel = time.monotonic() - started

    assert serial >= 0.9
    assert parallel < 0.8


async def test_the_default_prefix_is_the_environments_client_side_id_from_the_api(
    serve_fake: ServeFake, redis_store: WatchedRedis
) -> None:
    """No prefix: the syncing fake's client-side ID is read once (getEnvironment), then only the list."""
    fake = await serve_fake(FakeLaunchDarkly(sync=True, sync_interval=0.3))
    item = fake.seed_integration(
        "default", "production", "redis", name="Prod Redis", on=True,
        config={"host": "127.0.0.1", "port": str(redis_store.port)},
    )  # fmt: skip
    store = store_for(redis_store, prefix=None)
    cache = PollCache()
    async with Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as core:
        for _ in range(50):  # the first sync writes the store
            if fake.get_integration(item["_id"]) and redis_store_synced(redis_store, fake):
                break
            await asyncio.sleep(0.1)
        first = snapshot_of(await poll(core, [store], cache=cache))
        second = snapshot_of(await poll(core, [store], cache=cache))

    operations = [request.operation_id for request in fake.requests]
    assert operations == [LIST, "getEnvironment", LIST]
    for snapshot in (first, second):
        state = snapshot.integrations[0].store
        assert state is not None
        assert state.prefix == fake.client_side_id("default", "production")
        assert state.healthy, state.checks


def redis_store_synced(redis: WatchedRedis, fake: FakeLaunchDarkly) -> bool:
    synced = f"{fake.client_side_id('default', 'production')}:big_segments_synchronized_on"
    return bool(redis.server.admin.exists(synced))


async def test_a_dynamodb_store_is_read_through_the_doctor(
    fake: FakeLaunchDarkly, core: Core, moto_endpoint: str, dynamodb: Any
) -> None:
    """A DynamoDB entry (table, region, endpoint): its metadata item read, fresh and healthy."""
    item = fake.seed_integration(
        "default", "production", "dynamodb", name="Prod DynamoDB", on=True,
        config={"tableName": "ld-big-segments", "region": "us-east-1", "roleArn": "arn:aws:iam::1:role/r", "externalId": "x"},
    )  # fmt: skip
    fake.set_status(item["_id"], available=True, potentially_stale=False, last_sync=now_ms())
    table = new_table(dynamodb)
    seed_dynamodb(dynamodb, table, prefix="client-side-id", synchronized_on=now_ms())
    store = DynamoDBStore(
        project="default", environment="production", id=item["_id"], table=table,
        region="us-east-1", endpoint_url=moto_endpoint, prefix="client-side-id",
    )  # fmt: skip

    snapshot = snapshot_of(await poll(core, [store], options=PollOptions(store_timeout=10)))

    state = snapshot.integrations[0].store
    assert state is not None
    assert state.reachable
    assert state.healthy, state.checks
    assert state.synchronized_on is not None
