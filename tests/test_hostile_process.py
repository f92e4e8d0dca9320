"""A process short of what it needs (file descriptors): every call still returns a Result.

Nothing ldstore needs may be loaded for the first time in the middle of a failure: a
lazy import opens files, and in a process out of descriptors it raises ``OSError``.
"""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from aiohttp import web
from hostile import serve

from ldstore.funcs import OFF_LOOP_BYTES

_SHORT_OF_DESCRIPTORS = """
import asyncio, json, os, resource, sys
from ldstore import Core, Err, Ok, RetryConfig
from ldstore.funcs import get_big_segment_store_integrations

async def main(url, limit, calls):
    retry = RetryConfig(initial_interval=0.001, max_interval=0.01, max_elapsed_time=1.0)
    core = Core("api-fd-token-0123456789", server_url=url, retry_config=retry, timeout=5.0)
    loaded = set(sys.modules)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    hogs = []  # every descriptor but a few taken: the pressure does not depend on timing
    while True:
        try:
            hogs.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            break
    for hog in hogs[:6]:
        os.close(hog)
    async with core:
        outcomes = await asyncio.gather(
            *(get_big_segment_store_integrations(core) for _ in range(calls)), return_exceptions=True
        )
    kinds = {}
    messages = []
    for outcome in outcomes:
        if isinstance(outcome, Ok):
            kind = "Ok"
        elif isinstance(outcome, Err):
            kind = type(outcome.error).__name__
            messages.append(outcome.error.message)
        else:
            kind = "raised " + repr(outcome)
        kinds[kind] = kinds.get(kind, 0) + 1
    print(json.dumps({
        "kinds": kinds,
        "emfile": sum("Too many open files" in message for message in messages),
        "imported": sorted(set(sys.modules) - loaded),
    }))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_calls_in_a_process_out_of_descriptors_return_results(host: str) -> None:
    """RLIMIT_NOFILE at 64, all but 6 descriptors taken, and 300 concurrent list calls (to
    an IP, or a name: the resolver runs too), every other
    answer a 503 (so the first retry happens under pressure), some long enough to be
    decoded in a thread: 300 Results, none raised, some connections refused for lack of
    descriptors; no module imported after the limit was set (an import opens files)."""
    served = [0]
    # Every tenth answer is long enough to be decoded in a thread.
    long_list: dict[str, object] = {
        "_links": {"self": {"href": "/" * (OFF_LOOP_BYTES + 1)}},
        "items": [],
    }

    async def flaky(_: web.Request) -> web.StreamResponse:
        served[0] += 1
        if served[0] % 2:
            return web.json_response({"code": "busy", "message": "try again"}, status=503)
        if served[0] % 10 == 0:
            return web.json_response(long_list)
        return web.json_response({"_links": {"self": {}}, "items": []})

    async with serve(flaky) as server:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _SHORT_OF_DESCRIPTORS,
            server.url.replace("127.0.0.1", host),  # a name: the resolver runs too
            "64",
            "300",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(child.communicate(), timeout=60)

    report = json.loads(out)
    kinds: dict[str, int] = report["kinds"]
    assert child.returncode == 0
    assert sum(kinds.values()) == 300
    assert not [kind for kind in kinds if kind.startswith("raised")], kinds
    assert report["emfile"] > 0, kinds  # the pressure was real
    assert report["imported"] == []  # nothing loaded on a failure path
