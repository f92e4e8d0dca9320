"""Fixtures shared by the suite: fakes of the LaunchDarkly API, checked against the contract."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from contract import validate_exchanges

from ldstore.testing import FakeLaunchDarkly

pytest_plugins = ("pytester", "store_servers")

ServeFake = Callable[[FakeLaunchDarkly], Awaitable[FakeLaunchDarkly]]


@pytest.fixture
async def serve_fake() -> AsyncIterator[ServeFake]:
    """Start fakes built by the test; at teardown, check their every exchange against the spec."""
    fakes: list[FakeLaunchDarkly] = []
    async with AsyncExitStack() as stack:

        async def serve(fake: FakeLaunchDarkly) -> FakeLaunchDarkly:
            fakes.append(await stack.enter_async_context(fake))
            return fake

        yield serve
    for fake in fakes:
        validate_exchanges(fake.requests)


@pytest.fixture
async def fake(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A running fake (sync_delay=0.05) whose exchanges are checked against the spec."""
    return await serve_fake(FakeLaunchDarkly(sync_delay=0.05))
