"""The client program callgrind counts: ``python -m benchmarks.counted CONFIG``.

Every contender's workloads run in this one process, one after another; each measured
region lies between two ``os.getppid()`` calls, where callgrind (``--dump-before=getppid``)
writes the counts gathered since its previous dump. So dump ``2k`` of the run holds region
``k``'s instructions, and the JSON line printed at the end names the regions in order.
``CONFIG`` is a JSON file (see ``benchmarks.instructions``): the fake's URL and token,
the targets, the contenders and the sizes, and ``"json": "stdlib"`` to hide msgspec from
ldstore (the accelerator then is not used).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from itertools import cycle, islice
from pathlib import Path
from typing import TypedDict, cast

from benchmarks.contenders import RESOURCE, Contender, Target, make_contender

__all__ = ["Config", "Region", "main"]

ROUNDS_WARMUP = 1


class Config(TypedDict):
    """What one counted invocation runs."""

    url: str
    token: str
    targets: list[list[str]]
    contenders: list[str]
    json: str  # "stdlib" hides msgspec; "default" lets ldstore pick its parser
    sequential_calls: int
    concurrency: int
    concurrent_rounds: int
    decodes: int


class Region(TypedDict):
    """One measured region: what ran and how many calls it made."""

    contender: str
    workload: str
    calls: int


def _mark() -> None:
    # callgrind dumps its counts on entering getppid (--dump-before=getppid): the only
    # call of it in this program, so each one closes a region.
    _ = os.getppid()


def _calls(targets: Sequence[Target], count: int) -> list[Target]:
    return list(islice(cycle(targets), count))


async def _each(contender: Contender, targets: Sequence[Target]) -> None:
    for target in targets:
        _ = await contender.get(target)


def _fetch(url: str, token: str) -> bytes:
    request = urllib.request.Request(
        url, headers={"Authorization": token, "LD-API-Version": "beta"}
    )
    with urllib.request.urlopen(request) as response:
        body: bytes = response.read()
    return body


def _head(body: bytes) -> bytes:
    """The list body with only its first few items: the same code paths, a fraction of it."""
    listing = json.loads(body)
    listing["items"] = listing["items"][:5]
    return json.dumps(listing).encode()


async def _measure(
    regions: list[Region],
    contender: str,
    workload: str,
    calls: int,
    run: Callable[[], Awaitable[None]],
) -> None:
    # Every region starts from empty young generations: the collections that land in it
    # are the ones its own allocations cause, whichever contender ran before.
    _ = gc.collect()
    _mark()
    await run()
    _mark()
    regions.append({"contender": contender, "workload": workload, "calls": calls})


async def _contender(config: Config, name: str, body: bytes, regions: list[Region]) -> None:
    targets = [Target(*row) for row in config["targets"]]
    contender = make_contender(name, config["url"], config["token"])
    try:
        # Warm-ups: connections, converters, caches, the first call's imports.
        sequential = _calls(targets, config["sequential_calls"])
        await _each(contender, sequential[:20])
        await _measure(
            regions, name, "sequential", len(sequential), lambda: _each(contender, sequential)
        )

        lanes = config["concurrency"]
        await contender.get_many(_calls(targets, lanes * ROUNDS_WARMUP), lanes)
        rounds = config["concurrent_rounds"]

        async def concurrent() -> None:
            for number in range(rounds):
                # A different slice each round, as a real workload would not repeat itself.
                batch = _calls(targets[number * lanes :] or targets, lanes)
                await contender.get_many(batch, lanes)

        await _measure(regions, name, "concurrent", lanes * rounds, concurrent)

        _ = contender.decode_list(_head(body))  # converters built, without a whole decode
        decodes = config["decodes"]

        async def decode() -> None:
            for _ in range(decodes):
                _ = contender.decode_list(body)

        await _measure(regions, name, "decode", decodes, decode)
    finally:
        await contender.aclose()


async def _run(config: Config) -> list[Region]:
    body = _fetch(config["url"].rstrip("/") + RESOURCE, config["token"])
    regions: list[Region] = []
    for name in config["contenders"]:
        await _contender(config, name, body, regions)
    return regions


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    config = cast("Config", json.loads(Path(args[0]).read_text(encoding="utf-8")))
    if config["json"] == "stdlib":
        # An import of msgspec now fails, so ldstore picks json.loads, as without the extra.
        sys.modules["msgspec"] = None  # type: ignore[assignment]  # the documented way to block an import
    regions = asyncio.run(_run(config))
    _ = sys.stdout.write(json.dumps(regions) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
