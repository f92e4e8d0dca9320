"""The `ld_fake` fixture: a running fake LaunchDarkly API for one test.

pytest loads this module in every run of everyone who installed ldstore, so it imports
only pytest; the fake (aiohttp, jsonpatch) loads when a test asks for the fixture.

`ld_fake` is async, so an async test runner must run it: pytest-asyncio. A coroutine
test that takes `ld_fake` is marked `asyncio` here, so it runs in pytest-asyncio's
default strict mode with no marker or configuration; a test already marked `asyncio`
(with its own loop scope, say) or `anyio` is left as it is. Without pytest-asyncio such
a test fails at setup with a message saying what to install.
"""

from __future__ import annotations

import inspect
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

FIXTURE = "ld_fake"
NEEDS_ASYNCIO = (
    "the ld_fake fixture is async and needs pytest-asyncio: pip install pytest-asyncio "
    "(no configuration needed: tests that take ld_fake are marked asyncio by ldstore), "
    "or mark the test @pytest.mark.anyio and use anyio's pytest plugin"
)


@async_fixture
async def ld_fake() -> AsyncIterator[FakeLaunchDarkly]:
    """A `ldstore.testing.FakeLaunchDarkly` serving on 127.0.0.1 at a free port."""
    from ldstore.testing import FakeLaunchDarkly  # noqa: PLC0415 - see the module docstring

    async with FakeLaunchDarkly() as fake:
        yield fake


def _takes_the_fake(obj: object) -> bool:
    if not inspect.iscoroutinefunction(obj):
        return False
    try:
        return FIXTURE in inspect.signature(obj).parameters
    except (TypeError, ValueError):  # pragma: no cover - no signature to read
        return False


def _marked(node: pytest.Collector, obj: object) -> bool:
    own = getattr(obj, "pytestmark", [])
    names = {mark.name for mark in own} | {mark.name for mark in node.iter_markers()}
    return bool(names & {"asyncio", "anyio"})


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> None:
    """Mark coroutine tests taking `ld_fake` asyncio before pytest-asyncio looks for it.

    Returning None lets pytest's own implementation build the item, with the mark on.
    """
    if (
        collector.config.pluginmanager.has_plugin("asyncio")
        and collector.funcnamefilter(name)
        and _takes_the_fake(obj)
        and not _marked(collector, obj)
    ):
        _ = pytest.mark.asyncio(obj)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a test taking `ld_fake` with a clear message when nothing can run it."""
    fixtures: list[str] = getattr(item, "fixturenames", [])
    if (
        FIXTURE in fixtures
        and not item.config.pluginmanager.has_plugin("asyncio")
        and item.get_closest_marker("anyio") is None
    ):
        pytest.fail(NEEDS_ASYNCIO, pytrace=False)
