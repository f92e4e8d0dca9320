"""`_status`: the automatic sync after switching on, and pinned statuses."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ldstore.testing import FakeLaunchDarkly

from .fakeclient import REDIS_CONFIG, FakeClient, item_path

SYNC_DELAY = 0.05  # the `fake` fixture's


async def status_of(client: FakeClient, item: dict[str, Any]) -> dict[str, Any]:
    """The `_status` a get by ID shows now."""
    status: dict[str, Any] = (await client.send("GET", item_path(item))).json()["_status"]
    return status


async def test_off_integration_is_not_available(client: FakeClient) -> None:
    """An integration that is off never becomes available."""
    item = await client.created()

    await asyncio.sleep(SYNC_DELAY * 2)

    assert await status_of(client, item) == {"available": False, "potentiallyStale": False}


async def test_on_integration_syncs_after_the_delay(client: FakeClient) -> None:
    """Created on, it is unavailable at first and available sync_delay later, with lastSync."""
    before = time.time()
    item = await client.created(body={"name": "n", "config": {"host": "h"}, "on": True})

    first = item["_status"]
    await asyncio.sleep(SYNC_DELAY * 2)
    later = await status_of(client, item)

    assert first["available"] is False
    assert later["available"] is True
    assert later["potentiallyStale"] is False
    assert (before + SYNC_DELAY) * 1000 - 1 <= later["lastSync"] <= time.time() * 1000


async def test_switching_on_by_patch_starts_the_clock(client: FakeClient) -> None:
    """Patching on to true starts the sync clock; patching it off resets the status."""
    item = await client.created()

    _ = await client.patch(item, [{"op": "replace", "path": "/on", "value": True}])
    await asyncio.sleep(SYNC_DELAY * 2)
    synced = await status_of(client, item)
    _ = await client.patch(item, [{"op": "replace", "path": "/on", "value": False}])
    off = await status_of(client, item)

    assert synced["available"] is True
    assert off == {"available": False, "potentiallyStale": False}


async def test_status_shows_in_list_items(client: FakeClient) -> None:
    """List summaries carry the same _status."""
    _ = await client.created(body={"name": "n", "config": {"host": "h"}, "on": True})

    await asyncio.sleep(SYNC_DELAY * 2)
    listing = (await client.send("GET")).json()

    assert listing["items"][0]["_status"]["available"] is True


async def test_set_status_pins_a_stale_status_with_errors(
    fake: FakeLaunchDarkly, client: FakeClient
) -> None:
    """set_status overrides the given fields, keeps the rest and stops the automatic status."""
    item = await client.created(body={"name": "n", "config": {"host": "h"}, "on": True})
    error = {"statusCode": 500, "message": "redis unreachable", "timestamp": 1714584600000}

    fake.set_status(item["_id"], potentially_stale=True, last_error=1714584600000, errors=[error])
    await asyncio.sleep(SYNC_DELAY * 2)

    assert await status_of(client, item) == {
        "available": False,
        "potentiallyStale": True,
        "lastError": 1714584600000,
        "errors": [error],
    }


async def test_set_status_can_make_available(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Pinning available with a lastSync shows exactly that, even while off."""
    item = await client.created()

    fake.set_status(item["_id"], available=True, last_sync=1717263000000)

    assert await status_of(client, item) == {
        "available": True,
        "potentiallyStale": False,
        "lastSync": 1717263000000,
    }


def test_set_status_of_unknown_id_raises() -> None:
    """Pinning the status of an ID the fake does not have is a KeyError."""
    fake = FakeLaunchDarkly()

    with pytest.raises(KeyError):
        fake.set_status("0" * 24, available=True)


async def test_seeded_on_integration_syncs(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """A seeded integration that is on follows the same clock."""
    seeded = fake.seed_integration(
        "default", "test", "redis", name="s", config=dict(REDIS_CONFIG), on=True
    )

    await asyncio.sleep(SYNC_DELAY * 2)

    assert (await status_of(client, seeded))["available"] is True
