"""The right prefix and canary memberships: the fake's segment and environment routes against
a real redis-server, seeded by hand for the faults a syncer never makes, and by the syncing
fake for the agreement LaunchDarkly's own SDK reads too."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest
from ldclient.integrations import Redis as LDRedis

from ldstore.cli import main
from ldstore.core import Core, RetryConfig
from ldstore.doctor import (
    Canary,
    CheckStatus,
    MemberSets,
    StoreReport,
    canary_check,
    check_canaries,
    client_side_id,
    diagnose_redis,
)
from ldstore.models import BigSegmentMembership, Segment
from ldstore.result import Ok
from ldstore.testing import FakeLaunchDarkly
from ldstore.wire import from_wire

from .support import Members, RedisServer, now_ms, sdk_view, seed_redis

BOUND = 30.0  # seconds for one command, far above what one takes
SEGMENT = "beta"


async def run_json(
    fake: FakeLaunchDarkly, url: str, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[int, dict[str, Any]]:
    """``ldstore doctor redis ... -o json`` against ``fake``, in-process (in a thread)."""
    args = ["doctor", "redis", "--url", url, "--project", "default", "--environment", "production"]
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("LD_")]:
            patch.delenv(name)
        patch.setenv("LD_ACCESS_TOKEN", fake.token)
        patch.setenv("LD_BASE_URI", fake.url)
        _ = capsys.readouterr()
        code = await asyncio.wait_for(asyncio.to_thread(main, [*args, *flags, "-o", "json"]), BOUND)
    out = capsys.readouterr().out
    return code, json.loads(out) if out else {}


def checks(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {item["name"]: item for item in document["checks"]}


async def test_data_under_the_client_side_id_passes_the_prefix_check(
    redis_store: RedisServer, fake: FakeLaunchDarkly, capsys: pytest.CaptureFixture[str]
) -> None:
    """Point 4: --project/--environment and a token, no integration ID: the prefix is checked."""
    prefix = fake.client_side_id("default", "production")
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms())

    code, document = await run_json(fake, redis_store.reader_url, capsys)

    assert code == 0, document
    assert document["prefix"] == prefix
    assert checks(document)["prefix"]["status"] == "ok"


async def test_data_under_another_prefix_is_named(
    redis_store: RedisServer, fake: FakeLaunchDarkly, capsys: pytest.CaptureFixture[str]
) -> None:
    """Point 4: data under another prefix: a failure naming it, and that SDKs will read nothing."""
    seed_redis(redis_store.admin, prefix="old-prefix", synchronized_on=now_ms())

    code, document = await run_json(fake, redis_store.reader_url, capsys)

    assert code == 4
    prefix = checks(document)["prefix"]
    assert prefix["status"] == "failure"
    assert "'old-prefix'" in prefix["detail"]
    assert "SDKs configured with the client-side ID read nothing" in prefix["detail"]
    assert document["prefix"] == fake.client_side_id("default", "production")


async def test_a_canary_needs_the_api_flags(
    redis_store: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Point 5: --canary without --project/--environment is a usage error (exit 2), store unread."""
    _ = capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["doctor", "redis", "--url", redis_store.reader_url, "--canary", "beta:alice"]
    )

    assert code == 2
    assert "--canary needs --project and --environment" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["beta", ":alice", "beta:"])
def test_a_canary_is_segment_colon_context(text: str) -> None:
    """SEGMENT_KEY:CONTEXT_KEY, both non-empty (a context key may hold more colons)."""
    with pytest.raises(ValueError, match="SEGMENT_KEY:CONTEXT_KEY"):
        _ = Canary.parse(text)
    assert Canary.parse("beta:user:42") == Canary("beta", "user:42")


# The four faults, each seeded by hand (stores a syncer would not write), plus agreement.
FAULTS: list[tuple[str, Members, str, str]] = [
    ("alice", {"alice": (["beta.g1"], [])}, "ok", "agree: included"),
    ("bob", {"bob": ([], ["beta.g1"])}, "ok", "agree: excluded"),
    ("carol", {}, "ok", "agree: in neither set"),
    ("alice", {}, "failure", "missing include"),
    ("alice", {"alice": (["beta.g0"], [])}, "failure", "stale generation"),
    ("bob", {"bob": (["beta.g1"], [])}, "failure", "include where the API says excluded"),
    ("alice", {"alice": (["beta.g1"], ["beta.g1"])}, "failure", "ref in both sets"),
]


@pytest.mark.parametrize(("context", "members", "status", "named"), FAULTS)
async def test_each_canary_fault_is_named(  # noqa: PLR0913, PLR0917 - fixtures and the case
    redis_store: RedisServer,
    fake: FakeLaunchDarkly,
    capsys: pytest.CaptureFixture[str],
    context: str,
    members: Members,
    status: str,
    named: str,
) -> None:
    """Point 5: API (generation, included/excluded) against the store's sets: agree or the fault."""
    created = fake.add_big_segment(
        "default", "production", SEGMENT, included=["alice"], excluded=["bob"]
    )
    assert created["generation"] == 1
    prefix = fake.client_side_id("default", "production")
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms(), members=members)

    code, document = await run_json(
        fake, redis_store.reader_url, capsys, "--canary", f"{SEGMENT}:{context}"
    )

    canary = checks(document)[f"canary {SEGMENT}:{context}"]
    assert canary["status"] == status
    assert named in canary["detail"]
    assert code == (0 if status == "ok" else 4)


async def test_a_deleted_and_recreated_segment_is_a_stale_generation(
    redis_store: RedisServer, fake: FakeLaunchDarkly, capsys: pytest.CaptureFixture[str]
) -> None:
    """Point 5: the store still holds .g1 of a segment the API has re-created as .g2."""
    _ = fake.add_big_segment("default", "production", SEGMENT, included=["alice"])
    fake.delete_segment("default", "production", SEGMENT)
    recreated = fake.add_big_segment("default", "production", SEGMENT, included=["alice"])
    prefix = fake.client_side_id("default", "production")
    seed_redis(
        redis_store.admin,
        prefix=prefix,
        synchronized_on=now_ms(),
        members={"alice": (["beta.g1"], [])},
    )

    code, document = await run_json(fake, redis_store.reader_url, capsys, "--canary", "beta:alice")

    assert recreated["generation"] == 2
    assert code == 4
    detail = checks(document)["canary beta:alice"]["detail"]
    assert detail.startswith("stale generation: the API says included in beta.g2")
    assert "'beta.g1'" in detail


async def test_an_unknown_segment_is_that_canarys_failure(
    redis_store: RedisServer, fake: FakeLaunchDarkly, capsys: pytest.CaptureFixture[str]
) -> None:
    """A segment the API does not know: one failed canary line (404), the report goes on."""
    prefix = fake.client_side_id("default", "production")
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms())

    code, document = await run_json(fake, redis_store.reader_url, capsys, "--canary", "nope:alice")

    assert code == 4
    canary = checks(document)["canary nope:alice"]
    assert canary["status"] == "failure"
    assert "NotFoundError" in canary["detail"]
    assert checks(document)["metadata"]["status"] == "ok"


def test_the_verdict_is_a_pure_function_of_api_and_store() -> None:
    """canary_check: the fault named first, whatever else the sets hold."""
    segment = from_wire(
        {
            "key": "beta",
            "name": "Beta",
            "generation": 3,
            "version": 1,
            "creationDate": 0,
            "_links": {},
            "unbounded": True,
        },
        Segment,
    )
    included = BigSegmentMembership(user_key="a", included=True, excluded=False)

    ok = canary_check(
        "c", segment, included, MemberSets(included=frozenset({"beta.g3", "other.g1"}))
    )
    stale = canary_check("c", segment, included, MemberSets(included=frozenset({"beta.g2"})))
    missing = canary_check("c", segment, included, MemberSets(included=frozenset({"betamax.g2"})))

    assert ok.status is CheckStatus.OK
    assert stale.detail.startswith("stale generation")
    assert missing.detail.startswith("missing include")


async def test_the_syncing_fake_and_the_sdk_agree_with_the_canary(redis_store: RedisServer) -> None:
    """Point 5: the fake syncs the segment into Redis; the doctor's canaries agree, and so does
    LaunchDarkly's SDK reading the same store (ldclient's get_membership)."""
    async with FakeLaunchDarkly(sync=True, sync_interval=0.1) as fake:
        created = fake.add_big_segment(
            "default", "production", SEGMENT, included=["alice"], excluded=["bob"]
        )
        _ = fake.seed_integration(
            "default",
            "production",
            "redis",
            name="synced",
            config={"host": "127.0.0.1", "port": str(redis_store.port), "tlsEnabled": False},
            on=True,
        )
        prefix = fake.client_side_id("default", "production")
        report = await wait_for_sync(redis_store, prefix)
        async with Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as core:
            identifier = await client_side_id(core, "default", "production")
            checked = await check_canaries(
                core,
                "default",
                "production",
                [Canary(SEGMENT, "alice"), Canary(SEGMENT, "bob")],
                report,
            )

    assert identifier == Ok(prefix)
    verdicts = {item.name: item for item in checked.checks if item.name.startswith("canary")}
    assert {name: item.status for name, item in verdicts.items()} == {
        "canary beta:alice": CheckStatus.OK,
        "canary beta:bob": CheckStatus.OK,
    }
    ref = f"{SEGMENT}.g{created['generation']}"
    sdk = await sdk_view(
        LDRedis.new_big_segment_store(url=redis_store.url, prefix=prefix), ["alice", "bob"]
    )
    assert sdk.memberships == {"alice": {ref: True}, "bob": {ref: False}}
    assert checked.memberships == sdk.memberships


async def wait_for_sync(redis_store: RedisServer, prefix: str) -> StoreReport:
    """The doctor's report once the syncing fake has written the store (5 s at most)."""
    for _attempt in range(50):
        result = await diagnose_redis(redis_store.url, prefix=prefix, context_keys=["alice", "bob"])
        assert isinstance(result, Ok), result
        if result.value.healthy and result.value.memberships.get("alice"):
            return result.value
        await asyncio.sleep(0.1)
    pytest.fail("the syncing fake never wrote the store")
