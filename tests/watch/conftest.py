"""One redis-server for the watcher's tests (emptied for each), and a Core on the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ldstore import Core, RetryConfig
from ldstore.testing import FakeLaunchDarkly

from .support import RedisServer, redis_server


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server for the session, on 127.0.0.1 at a free port."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_store(redis_session: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    """The session's redis-server, emptied; its reader's password in WATCH_REDIS_PASSWORD."""
    _ = redis_session.admin.flushall()
    monkeypatch.setenv("WATCH_REDIS_PASSWORD", redis_session.password)
    return redis_session


@pytest.fixture
async def core(fake: FakeLaunchDarkly) -> AsyncIterator[Core]:
    """A Core on the fake that makes one attempt per call (a test never sleeps in retries)."""
    async with Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as core:
        yield core
