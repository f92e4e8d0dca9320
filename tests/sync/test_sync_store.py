"""Issue 22 point 3: what the syncing fake writes into a real redis-server, and what `_status` says.

Each test states its bound: how long the status may take to show an error, how long an
API answer may take while a store hangs.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import aiohttp
import pytest
from doctor.support import READER_PASSWORD, RedisServer
from hypothesis import given
from hypothesis import strategies as st

from ldstore.testing import FakeLaunchDarkly
from ldstore.testing._sync import Members, context_hash, diff
from ldstore.text import secret_forms

ServeFake = Any
INTERVAL = 0.1


def redis_config(server: RedisServer, **extra: str) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": str(server.port), **extra}


async def until(condition: Any, *, within: float, what: str) -> float:
    """Poll `condition()` until true; fail after `within` seconds. Returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            pytest.fail(f"{what}: not within {within} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


def members(server: RedisServer, prefix: str, kind: str, context_key: str) -> set[str]:
    client: Any = server.admin
    found: set[bytes] = client.smembers(f"{prefix}:big_segment_{kind}:{context_hash(context_key)}")
    return {ref.decode() for ref in found}


def synchronized_on(server: RedisServer, prefix: str) -> int | None:
    client: Any = server.admin
    value: bytes | None = client.get(f"{prefix}:big_segments_synchronized_on")
    return None if value is None else int(value)


def status(fake: FakeLaunchDarkly, item: Mapping[str, Any]) -> dict[str, Any]:
    found = fake.get_integration(item["_id"])
    assert found is not None
    result: dict[str, Any] = found["_status"]
    return result


@pytest.fixture
async def fake(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A fake syncing every INTERVAL seconds (its exchanges are checked against the spec)."""
    started: FakeLaunchDarkly = await serve_fake(
        FakeLaunchDarkly(sync=True, sync_interval=INTERVAL)
    )
    return started


async def test_membership_changes_and_generations_reach_the_store(
    fake: FakeLaunchDarkly, redis_store: RedisServer
) -> None:
    """Changes are written on the next sync; a re-created segment moves to its next generation."""
    prefix = fake.client_side_id("default", "production")
    _ = fake.add_big_segment("default", "production", "vip", included=["a", "b"], excluded=["x"])
    item = fake.seed_integration(
        "default", "production", "redis", name="r", config=redis_config(redis_store), on=True
    )
    _ = await until(lambda: status(fake, item)["available"], within=5, what="first sync")
    first = (
        members(redis_store, prefix, "include", "a"),
        members(redis_store, prefix, "exclude", "x"),
    )

    fake.update_big_segment("default", "production", "vip", uninclude=["a"], include=["c"])
    _ = await until(
        lambda: members(redis_store, prefix, "include", "c") == {"vip.g1"},
        within=5,
        what="membership change",
    )
    removed = members(redis_store, prefix, "include", "a")
    fake.delete_segment("default", "production", "vip")
    _ = fake.add_big_segment("default", "production", "vip", included=["b"])
    _ = await until(
        lambda: members(redis_store, prefix, "include", "b") == {"vip.g2"},
        within=5,
        what="new generation",
    )

    assert first == ({"vip.g1"}, {"vip.g1"})
    assert removed == set()
    assert members(redis_store, prefix, "exclude", "x") == set()  # g1 is gone entirely
    assert members(redis_store, prefix, "include", "c") == set()


async def test_synchronized_on_moves_while_on_and_freezes_when_deleted(
    fake: FakeLaunchDarkly, redis_store: RedisServer, session: aiohttp.ClientSession
) -> None:
    """synchronizedOn is refreshed every interval; a deleted integration's store is left stale."""
    prefix = fake.client_side_id("default", "production")
    item = fake.seed_integration(
        "default", "production", "redis", name="r", config=redis_config(redis_store), on=True
    )
    _ = await until(lambda: synchronized_on(redis_store, prefix) is not None, within=5, what="sync")
    first = synchronized_on(redis_store, prefix)
    _ = await until(
        lambda: synchronized_on(redis_store, prefix) != first, within=5, what="a refresh"
    )

    where = (
        f"{fake.url}/api/v2/integration-capabilities/big-segment-store/default/production/redis/"
        + item["_id"]
    )
    headers = {"Authorization": fake.token, "LD-API-Version": "beta"}
    async with session.delete(where, headers=headers) as answer:
        assert answer.status == 204
    await asyncio.sleep(INTERVAL)  # a sync already under way may still finish
    frozen = synchronized_on(redis_store, prefix)
    await asyncio.sleep(5 * INTERVAL)

    assert synchronized_on(redis_store, prefix) == frozen


async def test_a_refused_connection_shows_in_the_status_within_seconds(
    fake: FakeLaunchDarkly,
) -> None:
    """Nothing listening: available false and the store's error in `errors`, within 5 s."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    item = fake.seed_integration(
        "default",
        "production",
        "redis",
        name="r",
        config={"host": "127.0.0.1", "port": str(port)},
        on=True,
    )

    took = await until(lambda: "errors" in status(fake, item), within=5, what="the error")

    shown = status(fake, item)
    assert took < 5
    assert shown["available"] is False
    assert shown["potentiallyStale"] is False  # never synced: nothing to be stale
    assert "lastSync" not in shown
    assert "connect" in shown["errors"][-1]["message"].lower()
    assert shown["errors"][-1]["statusCode"] == 503


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung store)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.timeout(40)
async def test_a_hanging_store_fails_within_30_s_and_never_slows_the_api(
    fake: FakeLaunchDarkly,
    hanging_port: int,
    redis_store: RedisServer,
    session: aiohttp.ClientSession,
) -> None:
    """A store that never answers: an error within 30 s; meanwhile every API answer < 0.5 s
    and another integration keeps syncing."""
    hung = fake.seed_integration(
        "default",
        "production",
        "redis",
        name="hung",
        config={"host": "127.0.0.1", "port": str(hanging_port)},
        on=True,
    )
    healthy = fake.seed_integration(
        "default", "test", "redis", name="ok", config=redis_config(redis_store), on=True
    )
    slowest = 0.0
    start = time.monotonic()
    while "errors" not in status(fake, hung) and time.monotonic() - start < 30:
        began = time.monotonic()
        async with session.get(
            f"{fake.url}/api/v2/integration-capabilities/big-segment-store",
            headers={"Authorization": fake.token, "LD-API-Version": "beta"},
        ) as answer:
            assert answer.status == 200
        slowest = max(slowest, time.monotonic() - began)
        await asyncio.sleep(0.05)
    took = time.monotonic() - start

    assert took < 30
    assert status(fake, hung)["available"] is False
    assert status(fake, healthy)["available"] is True
    assert slowest < 0.5


@pytest.fixture
async def echoing_port() -> AsyncIterator[int]:
    """A Redis-speaking server that answers any command with an error quoting it (password too)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = await reader.read(4096)
        quoted = received.decode(errors="replace").replace("\r", " ").replace("\n", " ")
        writer.write(f"-ERR you sent {quoted}\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("user", ["ping-only", "nobody", "echo"])
async def test_the_store_password_is_used_but_never_shown(  # noqa: PLR0913, PLR0917 - fixtures
    fake: FakeLaunchDarkly,
    redis_store: RedisServer,
    echoing_port: int,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    user: str,
) -> None:
    """Refused (NOPERM, WRONGPASS) or echoed back by the store: the password in no form, anywhere."""
    caplog.set_level(logging.DEBUG)
    config = redis_config(redis_store, username=user, password=READER_PASSWORD)
    if user == "echo":
        config["port"] = str(echoing_port)
    item = fake.seed_integration("default", "production", "redis", name="r", config=config, on=True)

    _ = await until(lambda: "errors" in status(fake, item), within=5, what="the refusal")
    where = (
        f"{fake.url}/api/v2/integration-capabilities/big-segment-store/default/production/redis/"
        + item["_id"]
    )
    async with session.get(
        where, headers={"Authorization": fake.token, "LD-API-Version": "beta"}
    ) as answer:
        shown = await answer.text()

    everything = shown + caplog.text + repr(fake.requests)
    assert "errors" in shown
    assert any(word in shown for word in ("NoPermission", "AuthenticationError", "you sent"))
    for form in secret_forms(READER_PASSWORD):
        assert form not in everything


async def test_dynamodb_without_an_endpoint_says_so(fake: FakeLaunchDarkly) -> None:
    """A DynamoDB integration on a fake with no dynamodb_endpoint: an error naming the option."""
    item = fake.seed_integration(
        "default",
        "production",
        "dynamodb",
        name="d",
        config={"tableName": "t", "region": "us-east-1", "roleArn": "arn:x", "externalId": "e"},
        on=True,
    )

    _ = await until(lambda: "errors" in status(fake, item), within=5, what="the error")

    assert "dynamodb_endpoint" in status(fake, item)["errors"][-1]["message"]


async def test_without_sync_nothing_is_written(
    serve_fake: ServeFake, redis_store: RedisServer
) -> None:
    """Syncing is opt-in: a default fake never touches a store its config names."""
    plain: FakeLaunchDarkly = await serve_fake(FakeLaunchDarkly(sync_delay=0.0))
    _ = plain.add_big_segment("default", "production", "vip", included=["a"])
    item = plain.seed_integration(
        "default", "production", "redis", name="r", config=redis_config(redis_store), on=True
    )

    await asyncio.sleep(0.5)

    client: Any = redis_store.admin
    assert client.keys("*") == []
    assert status(plain, item)["available"] is True  # the simulated status, as before


async def test_twenty_thousand_members_sync_in_full(
    fake: FakeLaunchDarkly, redis_store: RedisServer
) -> None:
    """A big segment of 20,000 contexts: one set per context, every one holding the ref."""
    prefix = fake.client_side_id("default", "production")
    keys = [f"user-{number}" for number in range(20_000)]
    _ = fake.add_big_segment("default", "production", "many", included=keys)
    item = fake.seed_integration(
        "default", "production", "redis", name="r", config=redis_config(redis_store), on=True
    )

    _ = await until(lambda: status(fake, item)["available"], within=20, what="the sync")

    client: Any = redis_store.admin
    assert client.dbsize() == 20_001  # the sets and synchronizedOn
    assert members(redis_store, prefix, "include", "user-19999") == {"many.g1"}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


snapshots = st.dictionaries(
    st.sampled_from(["a.g1", "a.g2", "b.g1"]),
    st.tuples(
        st.frozensets(st.sampled_from(["k1", "k2", "k3", "ü", ""])),
        st.frozensets(st.sampled_from(["k1", "k2", "k3", "ü", ""])),
    ),
)


def store_of(snapshot: Mapping[str, Members]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Context hash -> (included refs, excluded refs), as the layout stores them."""
    keys = {key for included, excluded in snapshot.values() for key in included | excluded}
    return {
        context_hash(key): (
            frozenset(ref for ref, (inc, _) in snapshot.items() if key in inc),
            frozenset(ref for ref, (_, exc) in snapshot.items() if key in exc),
        )
        for key in keys
    }


@given(before=snapshots, after=snapshots)
def test_the_diff_turns_one_store_into_the_other(
    before: Mapping[str, Members], after: Mapping[str, Members]
) -> None:
    """Applying the diff's changes to the store of `before` gives exactly the store of `after`."""
    store = store_of(before)

    for change in asyncio.run(diff(before, after)):
        assert store.get(change.context_hash, (frozenset(), frozenset())) == (
            change.included_before,
            change.excluded_before,
        )
        store[change.context_hash] = (change.included, change.excluded)

    expected = store_of(after)
    assert {h: refs for h, refs in store.items() if refs != (frozenset(), frozenset())} == expected
