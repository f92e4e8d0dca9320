"""Raw HTTP to the fake for its own tests: plain aiohttp, exact paths, no SDK."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs
import yarl
from multidict import CIMultiDictProxy

from ldstore.testing import FakeLaunchDarkly

BASE = "/api/v2/integration-capabilities/big-segment-store"
TIMEOUT = aiohttp.ClientTimeout(total=5)
REDIS_CONFIG: Mapping[str, Any] = {"host": "redis.internal", "port": "6379", "password": "hunter2"}
DYNAMODB_CONFIG: Mapping[str, Any] = {
    "tableName": "big-segments",
    "region": "eu-west-1",
    "roleArn": "arn:aws:iam::123456789012:role/ld",
    "externalId": "ext-1",
}
_NO_JSON = object()

ServeFake = Callable[[FakeLaunchDarkly], Awaitable[FakeLaunchDarkly]]
"""The type of the `serve_fake` fixture (tests/conftest.py)."""


def path(*keys: str) -> str:
    """BASE followed by each key, percent-encoded as a careful client does."""
    return "/".join((BASE, *(quote(key, safe="") for key in keys)))


@attrs.frozen
class Answer:
    """What came back."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.frozen
class FakeClient:
    """Sends requests with the fake's token and the beta header unless told otherwise."""

    fake: FakeLaunchDarkly
    session: aiohttp.ClientSession

    async def send(  # noqa: PLR0913 - the parts of a request
        self,
        method: str,
        raw_path: str = BASE,
        *,
        json_body: object = _NO_JSON,
        data: bytes | None = None,
        headers: Mapping[str, str | None] | None = None,
        timeout: float | None = None,
    ) -> Answer:
        """`raw_path` goes on the wire as is; a header set to None is left out."""
        wanted: dict[str, str | None] = {
            "Authorization": self.fake.token,
            "LD-API-Version": "beta",
            "User-Agent": "ldstore-fake-tests",
        }
        if json_body is not _NO_JSON:
            data = json.dumps(json_body).encode()
            wanted["Content-Type"] = "application/json"
        wanted.update(headers or {})
        sent = {name: value for name, value in wanted.items() if value is not None}
        url = yarl.URL(self.fake.url + raw_path, encoded=True)
        limit = TIMEOUT if timeout is None else aiohttp.ClientTimeout(total=timeout)
        async with self.session.request(
            method, url, data=data, headers=sent, timeout=limit
        ) as response:
            return Answer(response.status, response.headers, await response.read())

    async def create(
        self,
        integration_key: str = "redis",
        body: object = None,
        *,
        project_key: str = "default",
        environment_key: str = "production",
    ) -> Answer:
        """POST a create; the default body is a valid Redis store named `cache`."""
        if body is None:
            body = {"name": "cache", "config": dict(REDIS_CONFIG)}
        where = path(project_key, environment_key, integration_key)
        return await self.send("POST", where, json_body=body)

    async def created(self, integration_key: str = "redis", body: object = None) -> dict[str, Any]:
        """Create in default/production and return the answer, which must be a 201."""
        answer = await self.create(integration_key, body)
        assert answer.status == 201, answer.body
        created: dict[str, Any] = answer.json()
        return created

    async def patch(self, item: Mapping[str, Any], body: object) -> Answer:
        """PATCH the integration `item` (a representation) with `body`."""
        return await self.send("PATCH", item_path(item), json_body=body)


def item_path(item: Mapping[str, Any]) -> str:
    """The path of an integration, from its representation."""
    return path(item["projectKey"], item["environmentKey"], item["integrationKey"], item["_id"])
