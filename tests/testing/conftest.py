"""Fixtures for the fake's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from ldstore.testing import FakeLaunchDarkly

from .fakeclient import TIMEOUT, FakeClient


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session with a timeout."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield session


@pytest.fixture
def client(fake: FakeLaunchDarkly, session: aiohttp.ClientSession) -> FakeClient:
    """Raw HTTP to the `fake` fixture."""
    return FakeClient(fake, session)
