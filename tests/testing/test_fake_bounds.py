"""Issue 20 classes 8 and 9: encoded bodies get the token check first and a JSON 4xx; the
standalone fake's request log is bounded."""

from __future__ import annotations

import argparse
import gzip
import json
import time
import tracemalloc
import zlib
from typing import Any

import aiohttp
import pytest
import yarl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDictProxy
from pytest_aiohttp import AiohttpServer

from ldstore.testing import FakeLaunchDarkly, add_arguments, make_app
from ldstore.testing._encoding import MAX_BODY
from ldstore.testing._options import MAX_LOGGED_BODY, MAX_LOGGED_REQUESTS, build

from .fakeclient import BASE, path

# One path per operation of the API, and one outside it.
ROUTES = [
    ("GET", BASE),
    ("POST", path("default", "production", "redis")),
    ("GET", path("default", "production", "redis", "id")),
    ("PATCH", path("default", "production", "redis", "id")),
    ("DELETE", path("default", "production", "redis", "id")),
    ("GET", "/api/v2/projects/default/environments/production"),
    ("POST", "/api/v2/segments/default/production"),
    ("GET", "/api/v2/segments/default/production/vip"),
    ("DELETE", "/api/v2/segments/default/production/vip"),
    ("POST", "/api/v2/segments/default/production/vip/contexts"),
    ("POST", "/api/v2/segments/default/production/vip/users"),
    ("GET", "/api/v2/segments/default/production/vip/contexts/a"),
    ("GET", "/api/v2/flags"),
]
# A bomb: 64 MiB of zeros in about 64 KiB of gzip.
BOMB = gzip.compress(bytes(64 * 1024**2), compresslevel=9)
BODIES: dict[str, tuple[str, bytes]] = {
    "corrupt gzip": ("gzip", b"\x1f\x8bnot really gzip"),
    "corrupt deflate": ("deflate", b"\x78\x9cnot really deflate"),
    "truncated gzip": ("gzip", gzip.compress(b'{"name": "x"}')[:-6]),
    "brotli": ("br", b"\x1b\x03\x00\xf8\xa5\x02"),
    "zstd": ("zstd", b"\x28\xb5\x2f\xfd\x00\x58\x01\x00\x00\x7b\x7d"),
    "unknown": ("x-squash", b"{}"),
    "bomb": ("gzip", BOMB),
}
EXPECTED = {"corrupt gzip": 400, "corrupt deflate": 400, "truncated gzip": 400, "bomb": 413}


async def send(  # noqa: PLR0913, PLR0917 - the parts of a request
    session: aiohttp.ClientSession,
    url: str,
    method: str,
    raw_path: str,
    body: bytes,
    headers: dict[str, str],
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    async with session.request(
        method, yarl.URL(url + raw_path, encoded=True), data=body, headers=headers
    ) as answer:
        return answer.status, json.loads(await answer.read()), answer.headers


@pytest.fixture
async def raw_session() -> Any:
    """A session that sends bodies as given (no compression of its own) with a 5 s timeout."""
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=5), auto_decompress=False
    ) as session:
        yield session


@pytest.mark.parametrize("kind", list(BODIES))
async def test_encoded_bodies_get_the_token_check_then_a_json_4xx_on_every_route(
    raw_session: aiohttp.ClientSession, kind: str
) -> None:
    """No token: 401. With it: 400 (corrupt), 413 (inflates past 1 MiB) or 415 (a coding
    the fake does not take, with Accept-Encoding), always JSON, each within 1 s."""
    encoding, body = BODIES[kind]
    base = {
        "Content-Encoding": encoding,
        "Content-Type": "application/json",
        "LD-API-Version": "beta",
    }
    async with FakeLaunchDarkly() as fake:
        for method, raw_path in ROUTES:
            start = time.monotonic()
            anonymous = await send(raw_session, fake.url, method, raw_path, body, base)
            signed = await send(
                raw_session, fake.url, method, raw_path, body, {**base, "Authorization": fake.token}
            )
            took = time.monotonic() - start

            assert anonymous[0] == 401, raw_path
            assert anonymous[1]["code"] == "unauthorized"
            assert signed[0] == EXPECTED.get(kind, 415), (raw_path, signed[1])
            assert set(signed[1]) == {"code", "message", "id"}
            if signed[0] == 415:
                assert signed[2]["Accept-Encoding"] == "gzip, deflate, identity"
            assert took < 1.0
        assert fake.integrations == []


async def test_a_bomb_costs_no_more_memory_than_the_body_cap(
    raw_session: aiohttp.ClientSession,
) -> None:
    """64 MiB of zeros in 64 KiB of gzip: 413, and the fake allocates under 8 MiB for it."""
    headers = {
        "Content-Encoding": "gzip",
        "Authorization": "api-fake-token",
        "LD-API-Version": "beta",
    }
    async with FakeLaunchDarkly() as fake:
        tracemalloc.start()
        try:
            status, _, _ = await send(
                raw_session, fake.url, "POST", path("default", "production", "redis"), BOMB, headers
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert status == 413
    assert peak < 8 * MAX_BODY


async def test_well_formed_gzip_and_deflate_bodies_are_read(
    raw_session: aiohttp.ClientSession,
) -> None:
    """gzip, zlib deflate and raw deflate bodies decode; the log shows the decoded body."""
    body = json.dumps({"name": "zipped", "config": {"host": "h"}}).encode()
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    encoded = [
        ("gzip", gzip.compress(body)),
        ("deflate", zlib.compress(body)),
        ("deflate", raw_deflate.compress(body) + raw_deflate.flush()),
    ]
    async with FakeLaunchDarkly() as fake:
        for number, (encoding, data) in enumerate(encoded):
            headers = {
                "Content-Encoding": encoding,
                "Content-Type": "application/json",
                "Authorization": fake.token,
                "LD-API-Version": "beta",
            }
            fake.reset()
            status, created, _ = await send(
                raw_session, fake.url, "POST", path("default", "production", "redis"), data, headers
            )

            assert status == 201, (number, created)
            assert created["name"] == "zipped"
            assert json.loads(fake.requests[-1].body)["name"] == "zipped"


@pytest.mark.timeout(120)
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    encoding=st.sampled_from(["gzip", "deflate", "br", "zstd", "gzip, deflate", "identity", "GZIP"])
    | st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12),
    body=st.binary(max_size=256),
    token=st.booleans(),
)
async def test_any_body_with_any_encoding_gets_json_never_a_5xx(
    raw_session: aiohttp.ClientSession,
    encoding: str,
    body: bytes,
    token: bool,  # noqa: FBT001 - drawn by hypothesis
) -> None:
    """Random bytes under any Content-Encoding: without the token 401, else a JSON answer < 500."""
    headers = {
        "Content-Encoding": encoding,
        "Content-Type": "application/json",
        "LD-API-Version": "beta",
    }
    if token:
        headers["Authorization"] = "api-fake-token"
    async with FakeLaunchDarkly() as fake:
        status, answer, _ = await send(
            raw_session, fake.url, "POST", path("default", "production", "redis"), body, headers
        )

    assert status < 500
    assert "code" in answer
    if not token:
        assert status == 401


async def test_served_by_aiohttp_server_a_corrupt_body_is_json_too_when_told(
    aiohttp_server: AiohttpServer, raw_session: aiohttp.ClientSession
) -> None:
    """Through make_app and aiohttp_server(..., auto_decompress=False), as make_app says: 401, 400."""
    fake = FakeLaunchDarkly()
    server = await aiohttp_server(make_app(fake), auto_decompress=False)
    url = str(server.make_url("")).rstrip("/")
    headers = {
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
        "LD-API-Version": "beta",
    }

    anonymous = await send(
        raw_session, url, "POST", path("default", "production", "redis"), b"\x1f\x8bxx", headers
    )
    signed = await send(
        raw_session,
        url,
        "POST",
        path("default", "production", "redis"),
        b"\x1f\x8bxx",
        {**headers, "Authorization": fake.token},
    )

    assert anonymous[0] == 401
    assert signed[0] == 400
    assert signed[1]["code"] == "invalid_request"


def standalone(*argv: str) -> FakeLaunchDarkly:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return build(parser.parse_args(list(argv)))


async def test_the_standalone_log_keeps_the_latest_exchanges_and_short_bodies(
    raw_session: aiohttp.ClientSession,
) -> None:
    """`ldstore fake-server` keeps 1000 exchanges, bodies cut to 16 KiB and raw bodies dropped
    past it; 300 refused 1 MiB posts leave under 40 MiB allocated (the unbounded log: 600 MiB)."""
    fake = standalone("--max-logged-requests", "50")
    big = b'{"name": "' + b"x" * (MAX_BODY - 100) + b'"}'
    headers = {
        "Authorization": "api-fake-token",
        "LD-API-Version": "beta",
        "Content-Type": "application/json",
    }
    async with fake:
        tracemalloc.start()
        try:
            for _ in range(300):
                status, _, _ = await send(
                    raw_session,
                    fake.url,
                    "POST",
                    path("default", "production", "redis"),
                    big,
                    headers,
                )
                assert status == 400  # no config: refused
            current, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert len(fake.requests) == 50
    assert all(record.truncated for record in fake.requests)
    assert all(record.raw_body == b"" for record in fake.requests)
    assert all(len(record.body) <= MAX_LOGGED_BODY for record in fake.requests)
    assert current < 40 * 1024**2
    defaults = standalone()
    assert defaults.max_logged_requests == MAX_LOGGED_REQUESTS == 1000
    assert defaults.max_logged_body == MAX_LOGGED_BODY == 16 * 1024


async def test_in_process_the_log_keeps_everything(
    raw_session: aiohttp.ClientSession,
) -> None:
    """FakeLaunchDarkly() keeps every exchange, raw bodies included: tests rely on the full log."""
    body = b'{"name": "' + b"y" * 50_000 + b'"}'
    headers = {
        "Authorization": "api-fake-token",
        "LD-API-Version": "beta",
        "Content-Type": "application/json",
    }
    async with FakeLaunchDarkly() as fake:
        for _ in range(1200):
            _ = await send(raw_session, fake.url, "GET", BASE, b"", headers)
        _ = await send(
            raw_session, fake.url, "POST", path("default", "production", "redis"), body, headers
        )

    assert len(fake.requests) == 1201
    assert fake.requests[-1].raw_body == body
    assert not fake.requests[-1].truncated


def test_log_bounds_must_not_be_negative() -> None:
    """A negative bound is a ValueError at construction."""
    with pytest.raises(ValueError, match="max_logged_requests"):
        _ = FakeLaunchDarkly(max_logged_requests=-1)
    with pytest.raises(ValueError, match="max_logged_body"):
        _ = FakeLaunchDarkly(max_logged_body=-1)
