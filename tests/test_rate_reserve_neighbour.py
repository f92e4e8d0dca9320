"""A good neighbour, end to end: eight `ldstore apply` processes share one account with a tool
that sends one request a second, against a fake whose rate limit is account-wide.

With `--rate-reserve 0.2` the eight keep a fifth of each window untouched: no 429 reaches
anyone. Without it they spend every window, and the neighbour's requests meet 429s.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import aiohttp
import attrs
import pytest
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from conftest import ServeFake
from sdk import ENVIRONMENT, PROJECT

from ldstore.testing import FakeLaunchDarkly, RateLimit

PROCESSES = 8
STORES = 30  # per process: 8 x 31 requests, two to three windows of the account's budget
# Without a reserve the applies spend a window in half a second, then wait for the reset:
# the neighbour's request meets a 429 when it lands in that wait. More stores, more windows
# spent while it sends (measured: two 429s of its six requests, in each of four runs).
STORES_WITHOUT = 45
LIMIT = 150  # the account's requests per window; a reserve of 0.2 keeps 30 of them
WINDOW = 1.5
# Each process counts only its own calls in flight (2 with --concurrency 2): the others'
# (7 x 2) may land after a process's last answer, and the reserve's 30 absorb them and
# the neighbour's one or two a window (README, "Sharing the rate limit").
CONCURRENCY = "2"
NEIGHBOUR = "api-neighbour"  # another token of the same account
NEIGHBOUR_INTERVAL = 1.0
LIST = "/api/v2/integration-capabilities/big-segment-store"


@attrs.frozen
class Run:
    """What one round left: the processes' exit codes and each party's 429s."""

    codes: list[int]
    errors: list[str]
    apply_429s: int
    neighbour_statuses: list[int]
    lowest_remaining: int
    seconds: float


def stores(tmp_path: Path, process: int, count: int) -> str:
    """One process's apply file: `count` Redis stores named after it."""
    path = tmp_path / f"stores-{process}.json"
    items = [
        {"project": PROJECT, "environment": ENVIRONMENT, "store": "redis",
         "name": f"p{process} cache {n}", "config": {"host": f"redis-{process}-{n}.internal"}}
        for n in range(count)
    ]  # fmt: skip
    _ = path.write_text(json.dumps(items), encoding="utf-8")
    return str(path)


async def neighbour(fake: FakeLaunchDarkly, done: asyncio.Event) -> list[int]:
    """Another tool of the account: one list call a second, until the applies are done."""
    statuses: list[int] = []
    headers = {"Authorization": NEIGHBOUR, "LD-API-Version": "beta", "User-Agent": "neighbour"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while not done.is_set():
            async with session.get(fake.url + LIST, headers=headers) as answer:
                _ = await answer.read()
                statuses.append(answer.status)
            try:
                _ = await asyncio.wait_for(done.wait(), NEIGHBOUR_INTERVAL)
            except asyncio.TimeoutError:
                continue
    return statuses


async def eight_applies(
    fake: FakeLaunchDarkly, tmp_path: Path, reserve: str, count: int = STORES
) -> Run:
    """Start the neighbour, then PROCESSES `ldstore apply --rate-reserve reserve` at once,
    each creating `count` stores."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "LDSTORE_"))}
    env |= {"LD_BASE_URI": fake.url, "LD_ACCESS_TOKEN": fake.token,
            "XDG_CONFIG_HOME": str(tmp_path / "no-config")}  # fmt: skip
    executable = str(Path(sys.executable).parent / "ldstore")
    done = asyncio.Event()
    started = time.monotonic()
    watching = asyncio.create_task(neighbour(fake, done))
    processes = [
        await asyncio.create_subprocess_exec(
            executable, "apply", "-f", stores(tmp_path, n, count), "--rate-reserve", reserve,
            "--concurrency", CONCURRENCY, "--quiet",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
        )
        for n in range(PROCESSES)
    ]  # fmt: skip
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    done.set()
    statuses = await watching
    mine = [r for r in fake.requests if r.response_headers.get("X-Ratelimit-Global-Remaining")]
    return Run(
        codes=[process.returncode or 0 for process in processes],
        errors=[stderr.decode() for _, stderr in outputs if stderr],
        apply_429s=sum(
            1 for r in fake.requests if r.status == 429 and r.headers["User-Agent"] != "neighbour"
        ),
        neighbour_statuses=statuses,
        lowest_remaining=min(int(r.response_headers["X-Ratelimit-Global-Remaining"]) for r in mine),
        seconds=time.monotonic() - started,
    )


def start_together(count: int) -> Middleware:
    """Hold the first `count` list calls from ldstore until all have come: the processes
    start their work together (on a loaded machine their start-up spreads over a second,
    and a Core learns the budget from the first answer of the window it joins)."""
    arrived = 0
    everyone = asyncio.Event()

    @web.middleware
    async def barrier(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal arrived
        if (
            not everyone.is_set()
            and request.method == "GET"
            and request.headers.get("User-Agent", "").startswith("ldstore/")
        ):
            arrived += 1
            if arrived >= count:
                everyone.set()
            _ = await asyncio.wait_for(everyone.wait(), 30)
        return await handler(request)

    return barrier


@pytest.fixture
async def account(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """One account: the applies' token and the neighbour's share LIMIT requests a window."""
    fake = FakeLaunchDarkly(tokens=[NEIGHBOUR], rate_limit=RateLimit(LIMIT, WINDOW))
    fake.app.middlewares.append(start_together(PROCESSES))
    return await serve_fake(fake)


@pytest.mark.timeout(60)
async def test_a_reserve_of_a_fifth_leaves_the_neighbour_unharmed(
    account: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """Reserve 0.2: all eight applies finish, nobody meets a 429, the neighbour least of all."""
    run = await eight_applies(account, tmp_path, "0.2")

    assert run.codes == [0] * PROCESSES, run.errors
    assert len(account.integrations) == PROCESSES * STORES
    assert len(run.neighbour_statuses) >= 2
    assert run.neighbour_statuses == [200] * len(run.neighbour_statuses)
    assert run.apply_429s == 0
    assert run.lowest_remaining > 0, run


@pytest.mark.timeout(60)
async def test_without_a_reserve_the_neighbour_meets_429s(
    account: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """Reserve 0, to show the difference: the applies spend each window and the neighbour's
    requests are refused."""
    run = await eight_applies(account, tmp_path, "0", STORES_WITHOUT)

    assert run.codes == [0] * PROCESSES, run.errors
    assert run.lowest_remaining == 0
    assert run.neighbour_statuses.count(429) >= 1, run
