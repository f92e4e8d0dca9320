"""Issue 9 points 3-5: nothing a client sends makes a 5xx, poisons state, or skips auth."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from typing import Any

import aiohttp
import pytest

from ldstore.testing import FakeLaunchDarkly
from ldstore.testing._encoding import MAX_BODY

from .fakeclient import BASE, FakeClient, item_path, path

JSON = {"Content-Type": "application/json"}
CREATE = path("default", "production", "redis")
# 100 000 levels: far beyond any recursion limit, about 200 kB (under the 1 MiB body cap).
DEEP = b"[" * 100_000 + b"]" * 100_000


def nested_lists(depth: int) -> list[Any]:
    """`depth` arrays, each holding the next: [[[]]] for 3."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.fixture
async def item(client: FakeClient) -> dict[str, Any]:
    """A Redis integration to patch."""
    return await client.created()


async def assert_still_serving(fake: FakeLaunchDarkly, client: FakeClient, count: int) -> None:
    """The list answers 200 JSON with `count` items: the fake was not poisoned."""
    answer = await client.send("GET")
    assert answer.status == 200
    assert len(answer.json()["items"]) == count
    assert len(fake.integrations) == count


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "\\ud800", "config": {"host": "h"}}',
        b'{"name": "ok", "config": {"host": "\\udfff"}}',
        b'{"name": "ok", "config": {"host": "h"}, "tags": ["\\ud83d"]}',
        b'{"\\udc80": 1, "config": {"host": "h"}}',
    ],
)
async def test_lone_surrogate_in_a_create_is_refused_and_stores_nothing(
    fake: FakeLaunchDarkly, client: FakeClient, raw: bytes
) -> None:
    """A lone-surrogate escape is 400, nothing is stored, and the list still answers 200."""
    answer = await client.send("POST", CREATE, data=raw, headers=JSON)

    assert answer.status == 400
    assert "lone UTF-16 surrogate" in answer.json()["message"]
    await assert_still_serving(fake, client, 0)


async def test_lone_surrogate_in_a_patch_changes_nothing(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any]
) -> None:
    """A patch naming an integration "\\ud800" is 400; the stored one is unchanged."""
    raw = b'[{"op": "replace", "path": "/name", "value": "\\ud800"}]'

    answer = await client.send("PATCH", item_path(item), data=raw, headers=JSON)

    assert answer.status == 400
    stored = fake.get_integration(item["_id"])
    assert stored is not None
    assert (stored["name"], stored["version"]) == ("cache", 1)
    await assert_still_serving(fake, client, 1)


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff{}",
        b'{"name": "\xc3", "config": {"host": "h"}}',
        '{"config": {"host": "h"}}'.encode("utf-16"),
    ],
)
async def test_invalid_utf8_is_a_400_in_plain_words(
    fake: FakeLaunchDarkly, client: FakeClient, raw: bytes
) -> None:
    """Bytes that are not UTF-8 (UTF-16 included) are 400 naming the byte, in no Python words."""
    answer = await client.send("POST", CREATE, data=raw, headers=JSON)

    assert answer.status == 400
    assert "invalid UTF-8 at byte" in answer.json()["message"]
    assert "codec" not in answer.json()["message"]
    await assert_still_serving(fake, client, 0)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_deep_nesting_is_a_400(
    fake: FakeLaunchDarkly, client: FakeClient, item: dict[str, Any], method: str
) -> None:
    """100 000 nested arrays (bound: 32 levels) on POST or PATCH are 400, not a traceback."""
    where = CREATE if method == "POST" else item_path(item)

    answer = await client.send(method, where, data=DEEP, headers=JSON, timeout=30)

    assert answer.status == 400
    assert answer.json()["message"] == "request body is nested deeper than 32 levels"
    assert fake.requests[-1].body == DEEP  # the log survives it too
    await assert_still_serving(fake, client, 1)


async def test_nesting_just_past_the_bound_is_refused(client: FakeClient) -> None:
    """33 levels are refused where 32 are only checked as usual (a 400 about the config)."""
    at_bound = {"config": {"host": "h", "x": nested_lists(30)}}  # object, object, 30 arrays
    past = {"config": {"host": "h", "x": nested_lists(31)}}

    fine = await client.create(body=at_bound)
    refused = await client.create(body=past)

    assert "config.x is not a redis setting" in fine.json()["message"]
    assert "nested deeper than 32 levels" in refused.json()["message"]


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b'{"config": {"host": "h", "port": "' + b"9" * 5000 + b'"}}', "config.port must be"),
        (b'{"config": {"host": "h", "port": ' + b"9" * 5000 + b"}}", "longer than 100 digits"),
        (b'{"config": {"host": "h"}, "on": 1e400}', "too large for a double"),
        (b'{"config": {"host": "h"}, "on": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"config": {"host": "h"}, "on": NaN}', "NaN is not a JSON number"),
    ],
)
async def test_huge_numbers_are_a_400(
    fake: FakeLaunchDarkly, client: FakeClient, raw: bytes, named: str
) -> None:
    """A 5000-digit port (string or number, bound: 100 digits), 1e400 or NaN is 400 naming it."""
    answer = await client.send("POST", CREATE, data=raw, headers=JSON)

    assert answer.status == 400
    assert named in answer.json()["message"]
    await assert_still_serving(fake, client, 0)


async def test_huge_array_index_in_a_patch_is_a_400(
    client: FakeClient, item: dict[str, Any]
) -> None:
    """A 5000-digit array index (which int() refuses) is a 400, not a traceback."""
    operation = {"op": "add", "path": "/tags/" + "9" * 5000, "value": "x"}

    answer = await client.patch(item, [operation])

    assert answer.status == 400
    assert answer.json()["code"] == "invalid_request"


RAW_PATHS = [
    path("default", "production", "redis", "a\nb"),
    path("default\n", "production", "redis", "x"),
    BASE + "%0A",
    "/api/v2/%0A",
    "/api/v2/flags",
    "/",
    "/%0A%0D",
]


@pytest.mark.parametrize("raw_path", RAW_PATHS)
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Authorization": None}, 401),
        ({"Authorization": "wrong", "LD-API-Version": None}, 401),
        ({"LD-API-Version": None}, 403),
        ({}, 404),
    ],
)
async def test_every_path_goes_auth_then_beta_then_route(
    client: FakeClient, raw_path: str, headers: dict[str, str | None], status: int
) -> None:
    """Odd paths (a %0A newline included) answer 401, then 403, then 404, always as JSON."""
    answer = await client.send("GET", raw_path, headers=headers)

    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/json"
    assert set(answer.json()) == {"code", "message", "id"}


async def test_a_body_over_the_cap_is_a_json_413_after_auth(
    session: aiohttp.ClientSession,
) -> None:
    """A body over MAX_BODY (1 MiB) is a JSON 413 with the token, a 401 without one.

    A fake of its own: 413 is not among the statuses the OpenAPI subset documents.
    """
    big = b"{" + b" " * MAX_BODY + b"}"
    async with FakeLaunchDarkly() as fake:
        url = fake.url + CREATE
        headers = {**JSON, "LD-API-Version": "beta"}
        async with session.post(
            url, data=io.BytesIO(big), headers={**headers, "Authorization": fake.token}
        ) as response:
            with_token = (response.status, await response.json())
        async with session.post(url, data=io.BytesIO(big), headers=headers) as response:
            without = response.status

    assert with_token[0] == 413
    assert with_token[1]["code"] == "request_entity_too_large"
    assert without == 401
    assert fake.requests[0].body == b""


async def test_cli_patch_with_invalid_utf8_on_stdin_is_refused_cleanly(
    fake: FakeLaunchDarkly, item: dict[str, Any]
) -> None:
    """`ldstore update --patch -` fed invalid UTF-8: refused before sending (exit 2), 0 requests."""
    environment = {**os.environ, "LD_BASE_URI": fake.url, "LD_ACCESS_TOKEN": fake.token}
    scope = ["--project", "default", "--environment", "production", "--integration", "redis"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ldstore",
        "update",
        *scope,
        "--integration-id",
        item["_id"],
        "--patch",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    stdin = b'[{"op": "replace", "path": "/name", "value": "\xff\xfe"}]'

    _, stderr = await asyncio.wait_for(process.communicate(stdin), 30)

    assert process.returncode == 2
    assert "UTF-8" in stderr.decode()
    assert fake.requests[1:] == []
    stored = fake.get_integration(item["_id"])
    assert stored is not None
    assert stored["name"] == "cache"
