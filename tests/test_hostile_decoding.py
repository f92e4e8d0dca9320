"""Answers whose JSON is of the wrong type, or cheap to send and costly to decode: each is
an Err naming what is wrong, within a stated bound of time and memory."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import time
from typing import Any

from aiohttp import web
from hostile import SLACK, answer, core_at, get_request, integration, serve

from ldstore import Err, Ok
from ldstore._codec import MAX_VALUES
from ldstore.errors import APIError, ResponseValidationError
from ldstore.funcs import (
    OFF_LOOP_BYTES,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
)
from ldstore.wire import error_to_wire
from ldstore.workflows import wait_until_available


async def test_available_false_as_a_string_is_not_available() -> None:
    """ "available": "false" is Err(ResponseValidationError) naming _status.available, for
    a get and for wait_until_available (which must not report the store synced); one
    request each."""
    wire = integration(_status={"available": "false", "potentiallyStale": False})
    async with serve(answer(200, wire)) as server, core_at(server.url) as core:
        got = await get_big_segment_store_integration(core, get_request())
        waited = await wait_until_available(core, get_request(), timeout=2.0, poll_interval=0.01)

    for result in (got, waited):
        assert isinstance(result, Err)
        assert isinstance(result.error, ResponseValidationError)
        assert result.error.field == "_status.available"
        assert "expected a boolean, not a string" in result.error.message
    assert len(server.hits) == 2


async def test_a_wrong_item_in_a_list_is_named_by_its_index() -> None:
    """One item of 50 with "version": 1.9 fails the list, naming items[37].version."""
    items = [integration(_id=str(number)) for number in range(50)]
    items[37]["version"] = 1.9
    del items[37]["config"]
    listing = {"_links": {"self": {"href": "/"}}, "items": items}
    async with serve(answer(200, listing)) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert result.error.field == "items[37].version"


def _list_of(count: int) -> dict[str, Any]:
    items = [integration(_id=f"id-{number}", name=f"store {number}") for number in range(count)]
    for item in items:
        del item["config"]
    return {"_links": {"self": {"href": "/"}}, "items": items}


async def test_a_large_list_decodes_without_stalling_the_loop() -> None:
    """A list of 3000 integrations (~2 MB, over OFF_LOOP_BYTES) decodes in a thread: a
    ticker on the loop never waits more than 0.25 s between ticks meanwhile."""
    listing = _list_of(3000)
    assert len(json.dumps(listing)) > OFF_LOOP_BYTES
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with serve(answer(200, listing)) as server, core_at(server.url) as core:
        ticker = asyncio.create_task(tick())
        result = await get_big_segment_store_integrations(core)
        done.set()
        await ticker

    assert isinstance(result, Ok)
    assert len(result.value.items) == 3000
    assert max(gaps) < 0.25 + SLACK / 4


# In a child process: its peak memory is its own (RSS), whatever the test run holds.
_BOMB = """
import asyncio, gzip, resource, sys, time
from aiohttp import web
from ldstore import Core, Err, RetryConfig
from ldstore.funcs import get_big_segment_store_integrations

unit = sys.argv[1].encode()
body = b'{"_links": {"self": {}}, "items": [' + unit * (int(sys.argv[2]) // len(unit)) + b'{}]}'
packed = gzip.compress(body, 9)

async def handler(_):
    return web.Response(body=packed, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

async def main():
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    gaps = []
    done = asyncio.Event()
    async def tick():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with Core("api-bomb-token-0123456789", server_url=f"http://127.0.0.1:{port}", retry_config=RetryConfig.none()) as core:
        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        result = await get_big_segment_store_integrations(core)
        took = time.perf_counter() - started
        done.set()
        await ticker
    await runner.cleanup()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert isinstance(result, Err), result
    print(len(packed), len(body), type(result.error).__name__, round(took, 3), round(max(gaps), 3), grown // 1024)
    print(result.error)

asyncio.run(main())
"""


def _bomb(unit: str, size: int) -> tuple[list[str], str]:
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", _BOMB, unit, str(size)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures, message = done.stdout.splitlines()[:2]
    return figures.split(), message


def test_a_small_gzip_of_millions_of_values_is_a_fast_err() -> None:
    """~30 MB of `{},` (10 million values) in a gzip of ~30 KB, just under the 32 MiB cap:
    Err(ResponseValidationError) naming the bound, read no further than the bound (peak
    RSS grown by under 20 MB; it was about a gigabyte), in under 0.5 s and the loop never
    stalled more than 0.2 s (plus slack for a loaded machine)."""
    figures, message = _bomb("{},", 30 * 1024 * 1024)
    packed, inflated, kind, took, stall, grown_mb = figures

    assert int(packed) < 200_000
    assert int(inflated) > 30_000_000
    assert kind == "ResponseValidationError"
    assert f"more than {MAX_VALUES} JSON values" in message
    assert float(took) < 0.5 + SLACK
    assert float(stall) < 0.2 + SLACK / 4
    assert int(grown_mb) < 20


def test_values_just_under_the_bound_cost_a_fraction_of_a_second() -> None:
    """Just under MAX_VALUES of the costliest small value (`[0],`, a list each) is parsed
    (in a thread, the cyclic GC paused), then refused as no integration: under 1 s, the
    loop stalled under 0.3 s (the parse holds the interpreter), peak RSS grown by under
    150 MB."""
    figures, _ = _bomb("[0],", 4 * (MAX_VALUES - 10))
    _, _, kind, took, stall, grown_mb = figures

    assert kind == "ResponseValidationError"
    assert float(took) < 1.0 + SLACK
    assert float(stall) < 0.3 + SLACK / 4
    assert int(grown_mb) < 150


async def test_a_large_error_body_is_kept_raw_not_parsed() -> None:
    """An error answer over 64 KiB is not parsed as JSON (a 500 cannot be made to cost a
    parse of millions of values): its APIError keeps the status and the raw body, and
    its message is an excerpt of the text, not the body's "message"."""
    padded = {"message": "parsed", "pad": "x" * (65 * 1024)}
    async with serve(answer(500, padded)) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, APIError)
    assert result.error.status_code == 500
    assert result.error.message.startswith('{"message": "parsed"')
    assert len(result.error.body) > 65 * 1024


async def test_the_value_bound_is_counted_before_parsing() -> None:
    """A body of MAX_VALUES commas is refused without parsing: an Err in well under the
    time json.loads would take, naming the bound; one fewer is parsed (and is no list)."""
    over = b"[" + b"0," * MAX_VALUES + b"0]"
    under = b"[" + b"0," * (MAX_VALUES - 1) + b"0]"
    async with serve(answer(200, over)) as big, core_at(big.url) as core:
        refused = await get_big_segment_store_integrations(core)
    async with serve(answer(200, under)) as small, core_at(small.url) as core:
        parsed = await get_big_segment_store_integrations(core)

    assert isinstance(refused, Err)
    assert f"more than {MAX_VALUES} JSON values" in refused.error.message
    assert isinstance(parsed, Err)
    assert "expected an object, not an array" in parsed.error.message


async def test_a_gzip_answer_inside_the_bounds_decodes() -> None:
    """The bound refuses work, not compression: a gzip list of 200 integrations decodes."""
    packed = gzip.compress(json.dumps(_list_of(200)).encode())

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(body=packed, headers={"Content-Encoding": "gzip"})

    async with serve(handler) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    assert len(result.value.items) == 200


async def test_the_field_at_fault_reaches_the_wire_shape_of_the_error() -> None:
    """error_to_wire (what --output json and the MCP tools show) carries the field."""
    wire = integration(_status={"available": "false"})
    async with serve(answer(200, wire)) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Err)
    shown = error_to_wire(result.error)
    assert shown["kind"] == "ResponseValidationError"
    assert shown["field"] == "_status.available"
