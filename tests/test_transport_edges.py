"""Pins at the transport's edges: a token aiohttp quotes back from a malformed answer, the
caches under many distinct options, and the body cap at exactly its size."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from hostile import TOKEN, core_at, get_request, integration, serve

from ldstore import Err, Ok, RequestOptions, Result
from ldstore import _transport as transport
from ldstore.errors import ConnectionLostError, LDStoreError, ResponseValidationError
from ldstore.funcs import get_big_segment_store_integration
from ldstore.models import BigSegmentStoreIntegration

# Malformed answers carrying the request's token where aiohttp's parser error quotes it.
ECHOES = {
    "status line": b"HTTP/1.1 2x0 TOKEN\r\n\r\n",
    "bare token": b"TOKEN\r\n\r\n",
    "header without colon": b"HTTP/1.1 200 OK\r\nX-Echo TOKEN\r\n\r\n",
    "content length": b"HTTP/1.1 200 OK\r\nContent-Length: TOKEN\r\n\r\n",
    "header with NUL": b"HTTP/1.1 200 OK\r\nX-A: \x00TOKEN\r\n\r\n",
}


@asynccontextmanager
async def raw_echo(template: bytes) -> AsyncGenerator[str]:
    """A TCP server answering each request with ``template``, TOKEN replaced by the
    request's Authorization value."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        authorization = next(
            line.split(b": ", 1)[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"authorization:")
        )
        writer.write(template.replace(b"TOKEN", authorization))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("template", ECHOES.values(), ids=ECHOES.keys())
async def test_a_token_quoted_back_by_a_malformed_answer_is_redacted(template: bytes) -> None:
    """aiohttp's parser error quotes the bad line, token included: the Err (message, str,
    repr) shows [REDACTED] in its place."""
    async with raw_echo(template) as url, core_at(url) as core:
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionLostError)
    shown = result.error.message + str(result.error) + repr(result.error)
    assert TOKEN not in shown
    assert "[REDACTED]" in result.error.message


async def test_the_url_and_timeout_caches_stay_bounded() -> None:
    """200 calls, each with its own base URL and timeout: the transport's caches hold at
    most _MAX_CACHED entries each, and every call still answers."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.json_response(integration())

    async with serve(handler) as server, core_at(server.url) as core:
        results = [
            await get_big_segment_store_integration(
                core,
                get_request(),
                RequestOptions(server_url=f"{server.url}prefix-{n}", timeout=5.0 + n / 1000),
            )
            for n in range(200)
        ]

    assert all(isinstance(result, Ok) for result in results)
    assert {hit.path.split("/")[1] for hit in server.hits} == {f"prefix-{n}" for n in range(200)}
    bound = transport._MAX_CACHED  # pyright: ignore[reportPrivateUsage]
    assert 0 < len(transport._PARSED) <= bound  # pyright: ignore[reportPrivateUsage]
    assert 0 < len(transport._TIMEOUTS) <= bound  # pyright: ignore[reportPrivateUsage]


def _exactly(size: int) -> bytes:
    """An integration's JSON padded with trailing spaces (still JSON) to ``size`` bytes."""
    body = json.dumps(integration()).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


LIMIT = 4096


async def _get_with_cap(body: bytes, how: str) -> Result[BigSegmentStoreIntegration, LDStoreError]:
    async def handler(request: web.Request) -> web.StreamResponse:
        if how == "length":
            return web.Response(body=body, content_type="application/json")
        if how == "gzip":
            return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        _ = await response.prepare(request)
        for start in range(0, len(body), 1000):
            await response.write(body[start : start + 1000])
        await response.write_eof()
        return response

    async with serve(handler) as server, core_at(server.url, max_response_bytes=LIMIT) as core:
        return await get_big_segment_store_integration(core, get_request())


@pytest.mark.parametrize("how", ["length", "chunked", "gzip"])
async def test_a_body_of_exactly_the_cap_is_read_and_one_byte_more_is_not(how: str) -> None:
    """max_response_bytes is inclusive, however the body is framed (Content-Length,
    chunked, gzip): LIMIT bytes decode, LIMIT + 1 are Err naming the cap."""
    at_cap = await _get_with_cap(_exactly(LIMIT), how)
    over = await _get_with_cap(_exactly(LIMIT + 1), how)

    assert isinstance(at_cap, Ok)
    assert isinstance(over, Err)
    assert isinstance(over.error, ResponseValidationError)
    assert f"larger than max_response_bytes ({LIMIT} bytes)" in over.error.message
