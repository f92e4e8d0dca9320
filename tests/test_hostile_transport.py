"""The transport against servers that misbehave: redirects, bombs, huge or trickled bodies,
deep JSON and echoed secrets. Every case ends in a Result, within a stated bound."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import tracemalloc
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hostile import (
    FAST,
    PASSWORD,
    SLACK,
    TOKEN,
    answer,
    closed_port,
    core_at,
    create_request,
    delete_request,
    get_request,
    integration,
    patch_request,
    serve,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldstore import Core, Err, Ok, Result, RetryConfig
from ldstore.core import DEFAULT_MAX_RESPONSE_BYTES
from ldstore.errors import (
    APIError,
    InvalidRequestError,
    LDStoreError,
    NetworkError,
    ResponseValidationError,
    UnauthorizedError,
)
from ldstore.funcs import (
    create_big_segment_store_integration,
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.patch import replace_name

MiB = 1024 * 1024


def _redirect(status: int, location: str) -> Any:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handler


async def _every_operation(core: Core) -> list[Result[Any, LDStoreError]]:
    return [
        await create_big_segment_store_integration(core, create_request()),
        await get_big_segment_store_integration(core, get_request()),
        await patch_big_segment_store_integration(core, patch_request([replace_name("x")])),
        await delete_big_segment_store_integration(core, delete_request()),
        await get_big_segment_store_integrations(core),
    ]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_never_followed(status: int) -> None:
    """A 3xx is Err(APIError) naming the status and Location; the target sees 0 requests and
    the origin exactly 1 per call, even with retries and retry_non_idempotent on."""
    retries = RetryConfig(initial_interval=0.001, max_interval=0.01, retry_non_idempotent=True)
    async with (
        serve(answer(201, integration())) as target,
        serve(_redirect(status, f"{target.url}elsewhere")) as origin,
        core_at(origin.url, retry_config=retries) as core,
    ):
        results = await _every_operation(core)

    for result in results:
        assert isinstance(result, Err)
        assert type(result.error) is APIError
        assert result.error.status_code == status
        assert f"{target.url}elsewhere" in str(result.error)
        assert "not followed" in str(result.error)
    assert len(origin.hits) == 5
    assert target.hits == []
    assert PASSWORD.encode() in origin.hits[0].body  # the create went to the origin only


async def test_a_redirect_to_a_dead_port_is_one_post() -> None:
    """A 307 to a closed port is not a ConnectionFailedError to retry: one POST at the origin."""
    async with (
        serve(_redirect(307, f"http://127.0.0.1:{closed_port()}/x")) as origin,
        core_at(origin.url, retry_config=FAST) as core,
    ):
        result = await create_big_segment_store_integration(core, create_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, APIError)
    assert result.error.status_code == 307
    assert len(origin.hits) == 1


_BOMB: list[bytes] = []


def _gzip_bomb() -> bytes:
    """64 MiB of zeros, gzipped to about 64 KiB (built once)."""
    if not _BOMB:
        _BOMB.append(gzip.compress(bytes(64 * MiB), compresslevel=6))
    return _BOMB[0]


async def _bomb(_: web.Request) -> web.StreamResponse:
    return web.Response(
        body=_gzip_bomb(),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )


async def test_a_gzip_bomb_stops_at_the_size_cap() -> None:
    """64 MiB inflated from 64 KiB: Err naming max_response_bytes=1 MiB; traced peak < 16 MiB."""
    _ = _gzip_bomb()
    async with serve(_bomb) as server, core_at(server.url, max_response_bytes=MiB) as core:
        tracemalloc.start()
        try:
            result = await get_big_segment_store_integrations(core)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert "max_response_bytes" in str(result.error)
    assert str(MiB) in str(result.error)
    assert peak < 16 * MiB


def test_the_default_size_cap_is_a_few_tens_of_mb() -> None:
    """Core's default max_response_bytes is 32 MiB: far above the largest real list."""
    assert Core("k").max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES == 32 * MiB


async def _endless(request: web.Request) -> web.StreamResponse:
    """A chunked body that never ends (1 MiB at a time) until the client hangs up."""
    response = web.StreamResponse()
    _ = await response.prepare(request)
    chunk = b" " * MiB
    try:
        while True:
            await response.write(chunk)
    except (ConnectionResetError, ConnectionError, RuntimeError):
        pass
    return response


async def _declared_huge(request: web.Request) -> web.StreamResponse:
    """A Content-Length of 200 MiB, of which only 1 MiB ever comes."""
    response = web.StreamResponse(headers={"Content-Length": str(200 * MiB)})
    _ = await response.prepare(request)
    await response.write(b" " * MiB)
    _ = await asyncio.Event().wait()
    return response  # pragma: no cover - the client hangs up first


@pytest.mark.parametrize("handler", [_endless, _declared_huge], ids=["chunked", "declared"])
async def test_a_huge_body_stops_at_the_cap(handler: Any) -> None:
    """An endless or a declared 200 MiB body: Err within 2 s + slack, traced peak < 16 MiB."""
    async with serve(handler) as server, core_at(server.url, max_response_bytes=4 * MiB) as core:
        tracemalloc.start()
        started = time.monotonic()
        try:
            result = await get_big_segment_store_integrations(core)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.monotonic() - started

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert "max_response_bytes (4194304 bytes)" in str(result.error)
    assert peak < 16 * MiB
    assert elapsed < 2 + SLACK


async def _trickle(request: web.Request) -> web.StreamResponse:
    """Headers at once, then one byte of body every 50 ms, forever."""
    response = web.StreamResponse(headers={"Content-Length": "1000000"})
    _ = await response.prepare(request)
    try:
        while True:
            await response.write(b" ")
            await asyncio.sleep(0.05)
    except (ConnectionResetError, ConnectionError, RuntimeError):
        pass
    return response


async def test_a_trickling_body_ends_at_the_timeout() -> None:
    """A body that keeps arriving slowly is cut by the timeout (0.5 s): Err within 0.5 s + slack."""
    async with serve(_trickle) as server, core_at(server.url, timeout=0.5) as core:
        started = time.monotonic()
        result = await get_big_segment_store_integrations(core)
        elapsed = time.monotonic() - started

    assert isinstance(result, Err)
    assert isinstance(result.error, NetworkError)
    assert elapsed < 0.5 + SLACK


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize("levels", [10_000, 100_000])
async def test_deep_json_in_a_success_body_is_a_validation_error(levels: int) -> None:
    """100k nested arrays in a 200: Err(ResponseValidationError), no RecursionError."""
    async with serve(answer(200, _deep(levels))) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert len(server.hits) == 1


async def test_deep_json_in_an_error_body_keeps_the_status() -> None:
    """100k nested objects in a 400: Err(InvalidRequestError) with a bounded excerpt."""
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    async with serve(answer(400, body)) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert len(result.error.message) <= 200


async def test_a_huge_server_message_is_bounded() -> None:
    """A 1 MB "message" in an error body: the error's message keeps at most ~1000 characters."""
    body = {"code": "x" * 1_000_000, "message": "m" * 1_000_000, "id": "i" * 1_000_000}
    async with serve(answer(400, body)) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, APIError)
    assert len(str(result.error)) < 4000


def _echo_token(request: web.Request) -> dict[str, str]:
    return {
        "code": f"bad {request.headers['Authorization']}",
        "message": f"token {request.headers['Authorization']} rejected",
    }


async def test_a_token_echoed_by_the_server_is_redacted() -> None:
    """A 401 echoing the token in its body, message, code and a header: nowhere in the Err."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            _echo_token(request), status=401, headers={"X-Echo": request.headers["Authorization"]}
        )

    async with serve(handler) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, UnauthorizedError)
    error = result.error
    shown = str(error) + repr(error) + str(error.code) + str(dict(error.headers))
    assert TOKEN not in shown
    assert TOKEN.encode() not in error.body
    assert "[REDACTED]" in error.message


async def test_a_token_echoed_in_an_undecodable_success_is_redacted() -> None:
    """A 200 that fails decoding with the token as a field value: not in the Err's text or body."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(integration(version=request.headers["Authorization"]))

    async with serve(handler) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert TOKEN not in str(result.error) + repr(result.error)
    assert TOKEN.encode() not in result.error.body


class _ExplodingResponse(aiohttp.ClientResponse):
    """A response whose reading fails with an exception aiohttp never documents."""

    async def read(self) -> bytes:
        message = "unexpected failure inside the response"
        raise RuntimeError(message)


async def test_an_unexpected_exception_handling_an_answer_is_an_err() -> None:
    """The transport's guard: a RuntimeError while reading is Err(NetworkError), not a raise."""
    async with (
        serve(answer(200, integration())) as server,
        aiohttp.ClientSession(response_class=_ExplodingResponse) as session,
    ):
        core = core_at(server.url, session=session, retry_config=FAST)
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Err)
    assert type(result.error) is NetworkError
    assert "unexpected RuntimeError" in str(result.error)
    assert len(server.hits) == 1  # not retried: the same failure would come again


async def test_the_happy_path_still_decodes() -> None:
    """A well-behaved server on the same helpers answers Ok: the harness is not the failure."""
    async with serve(answer(200, integration())) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Ok)
    assert result.value.name == "n"
    assert json.loads(server.hits[0].body or b"null") is None


def _broken_integration(fields: Mapping[str, object]) -> bytes:
    return json.dumps(integration(**fields)).encode()


_JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
).map(lambda value: json.dumps(value).encode())
_BODY = st.one_of(
    st.binary(max_size=300),
    _JSON_TEXT,
    st.dictionaries(
        st.sampled_from(["_id", "version", "on", "tags", "_status", "config", "_links", "name"]),
        st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2),
        max_size=3,
    ).map(_broken_integration),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=st.sampled_from([200, 201, 204, 299, 400, 404, 409, 418, 500, 599]), body=_BODY)
def test_any_status_and_body_is_a_result_within_the_timeout(status: int, body: bytes) -> None:
    """Whatever body comes with whatever status, a get returns a Result (never raises) within
    its 1 s timeout + slack, and the token shows in none of its text."""

    async def scenario() -> None:
        async with (
            serve(answer(status, body, {"Content-Type": "application/json"})) as server,
            core_at(server.url, timeout=1.0) as core,
        ):
            started = time.monotonic()
            result = await get_big_segment_store_integration(core, get_request())
            elapsed = time.monotonic() - started

        assert isinstance(result, Ok | Err)
        assert TOKEN not in repr(result)
        assert elapsed < 1.0 + SLACK

    asyncio.run(scenario())
