"""The contenders: one way each of making the same HTTP exchanges.

Each lives in its own module and the worker imports only the one it measures, so that
its import time and memory are not counted against another: ``floor`` (plain aiohttp),
``sdk`` (ldstore's funcs and facade) and ``official`` (``launchdarkly-api``).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from typing import ClassVar, NamedTuple

__all__ = ["CONTENDERS", "RESOURCE", "Contender", "Target", "make_contender"]

RESOURCE = "/api/v2/integration-capabilities/big-segment-store"
CONTENDERS = ("ldstore-funcs", "ldstore-client", "aiohttp-floor", "launchdarkly-api")


class Target(NamedTuple):
    """One integration to get by ID."""

    project_key: str
    environment_key: str
    integration_key: str
    integration_id: str


class Contender(abc.ABC):
    """One way of talking to the API; every method fails loudly on an unexpected answer."""

    name: ClassVar[str]

    @abc.abstractmethod
    async def get(self, target: Target) -> object:
        """Get one integration by ID and decode it."""

    async def get_many(self, targets: Sequence[Target], concurrency: int) -> None:
        """Get every target with ``concurrency`` calls in flight."""
        pending = iter(targets)

        async def lane() -> None:
            for target in pending:
                _ = await self.get(target)

        _ = await asyncio.gather(*(lane() for _ in range(concurrency)))

    @abc.abstractmethod
    async def list_all(self) -> int:
        """List every integration, decoded; the number of items."""

    @abc.abstractmethod
    def decode_list(self, body: bytes) -> int:
        """Decode a list body fetched beforehand; the number of items."""

    @abc.abstractmethod
    async def create(self, project_key: str, environment_key: str, name: str) -> str:
        """Create a Redis store integration; its ID."""

    @abc.abstractmethod
    async def delete(self, project_key: str, environment_key: str, integration_id: str) -> None:
        """Delete a Redis store integration."""

    async def aclose(self) -> None:  # noqa: B027 (a hook; most contenders need it)
        """Release connections."""


def make_contender(name: str, url: str, token: str) -> Contender:
    """The contender called ``name``, importing only what it needs."""
    # Imports inside: a worker must not pay for (or hold in memory) another contender's.
    if name == "ldstore-funcs":
        from benchmarks.contenders.sdk import LdstoreFuncs  # noqa: PLC0415

        return LdstoreFuncs(url, token)
    if name == "ldstore-client":
        from benchmarks.contenders.sdk import LdstoreClient  # noqa: PLC0415

        return LdstoreClient(url, token)
    if name == "aiohttp-floor":
        from benchmarks.contenders.floor import AiohttpFloor  # noqa: PLC0415

        return AiohttpFloor(url, token)
    if name == "launchdarkly-api":
        from benchmarks.contenders.official import OfficialClient  # noqa: PLC0415

        return OfficialClient(url, token)
    msg = f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}"
    raise ValueError(msg)
