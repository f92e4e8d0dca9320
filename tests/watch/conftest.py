"""The suite's redis-server as the watcher reads it, and a Core on the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from doctor.support import RedisServer

from ldstore import Core, RetryConfig
from ldstore.testing import FakeLaunchDarkly

from .support import WatchedRedis


@pytest.fixture
def redis_store(redis_store: RedisServer, monkeypatch: pytest.MonkeyPatch) -> WatchedRedis:
    """The suite's redis-server, emptied, as the watcher reads it; its reader's password in
    WATCH_REDIS_PASSWORD."""
    watched = WatchedRedis(redis_store)
    monkeypatch.setenv("WATCH_REDIS_PASSWORD", watched.password)
    return watched


@pytest.fixture
async def core(fake: FakeLaunchDarkly) -> AsyncIterator[Core]:
    """A Core on the fake that makes one attempt per call (a test never sleeps in retries)."""
    async with Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as core:
        yield core
