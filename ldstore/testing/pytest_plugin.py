"""The `ld_fake` fixture: a running fake LaunchDarkly API for one test.

pytest loads this module in every run of everyone who installed ldstore, so it imports
only pytest; the fake (aiohttp, jsonpatch) loads when a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ldstore.testing import FakeLaunchDarkly

    async_fixture = pytest.fixture
else:
    try:  # pytest-asyncio's strict mode only runs async fixtures it decorated
        from pytest_asyncio import fixture as async_fixture
    except ImportError:  # another async plugin (anyio, ...) takes plain fixtures
        async_fixture = pytest.fixture


@async_fixture
async def ld_fake() -> AsyncIterator[FakeLaunchDarkly]:
    """A `ldstore.testing.FakeLaunchDarkly` serving on 127.0.0.1 at a free port."""
    from ldstore.testing import FakeLaunchDarkly  # noqa: PLC0415 - see the module docstring

    async with FakeLaunchDarkly() as fake:
        yield fake
