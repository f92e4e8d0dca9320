"""The practical floor: plain aiohttp making the same exchanges, ``json.loads``, no models."""

from __future__ import annotations

import json

import aiohttp

from benchmarks.contenders import RESOURCE, Contender, Target

__all__ = ["AiohttpFloor"]


class AiohttpFloor(Contender):
    """The practical floor: one ``aiohttp.ClientSession``, the same headers, ``json.loads``."""

    name = "aiohttp-floor"

    def __init__(self, url: str, token: str) -> None:
        self.base = url.rstrip("/") + RESOURCE
        self.headers = {
            "Authorization": token,
            "LD-API-Version": "beta",
            "Accept": "application/json",
        }
        self.json_headers = {**self.headers, "Content-Type": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        # Created inside the running loop, as aiohttp wants.
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def get(self, target: Target) -> object:
        project, environment, key, integration_id = target
        url = f"{self.base}/{project}/{environment}/{key}/{integration_id}"
        async with self.session().get(url, headers=self.headers) as response:
            body = await response.read()
            if response.status != 200:  # noqa: PLR2004 (HTTP 200 OK)
                raise RuntimeError(response.status, body[:200])
            return json.loads(body)

    async def list_all(self) -> int:
        async with self.session().get(self.base, headers=self.headers) as response:
            body = await response.read()
            if response.status != 200:  # noqa: PLR2004
                raise RuntimeError(response.status, body[:200])
            return len(json.loads(body)["items"])

    def decode_list(self, body: bytes) -> int:
        return len(json.loads(body)["items"])

    async def create(self, project_key: str, environment_key: str, name: str) -> str:
        payload = {
            "config": {"host": "redis.bench.internal", "port": "6379", "tlsEnabled": False},
            "name": name,
            "tags": ["bench"],
        }
        url = f"{self.base}/{project_key}/{environment_key}/redis"
        data = json.dumps(payload, separators=(",", ":")).encode()
        async with self.session().post(url, headers=self.json_headers, data=data) as response:
            body = await response.read()
            if response.status != 201:  # noqa: PLR2004 (HTTP 201 Created)
                raise RuntimeError(response.status, body[:200])
            created: dict[str, object] = json.loads(body)
            return str(created["_id"])

    async def delete(self, project_key: str, environment_key: str, integration_id: str) -> None:
        url = f"{self.base}/{project_key}/{environment_key}/redis/{integration_id}"
        async with self.session().delete(url, headers=self.headers) as response:
            body = await response.read()
            if response.status != 204:  # noqa: PLR2004 (HTTP 204 No Content)
                raise RuntimeError(response.status, body[:200])

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
