"""The workloads one worker process runs, each returning its measurements.

Client CPU is ``time.process_time()`` of the worker process: the fake API serves from
another process, so its work is not counted.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from itertools import cycle, islice
from pathlib import Path

import attrs

from benchmarks.contenders import RESOURCE, Contender, Target

__all__ = ["WORKLOADS", "Run", "Settings", "current_rss_bytes", "peak_rss_bytes"]

Measurements = dict[str, float]
BATCHES = 20  # sequential calls are timed in this many batches
ROUNDS = 3  # concurrent calls are timed this many times over


@attrs.frozen(kw_only=True)
class Settings:
    """How much work each workload does."""

    calls: int = 2000
    warmup: int = 100
    concurrency: int = 64
    lists: int = 20
    pairs: int = 500
    leak_warmup: int = 2000
    leak_calls: int = 20000


@attrs.frozen(kw_only=True)
class Run:
    """What a workload runs against: the fake's URL and token, the IDs to get, the sizes."""

    url: str
    token: str
    targets: Sequence[Target]
    settings: Settings


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far.

    On Linux ``ru_maxrss`` survives ``exec``: a worker would report its parent's peak
    when that was higher. ``VmHWM`` is the high-water mark of this program alone.
    """
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # Linux counts KiB
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) * 1024


def current_rss_bytes() -> int:
    """The resident set size now (Linux ``/proc``; elsewhere the peak stands in)."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    except OSError:
        return peak_rss_bytes()
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def _calls(targets: Sequence[Target], count: int) -> list[Target]:
    return list(islice(cycle(targets), count))


async def _each(contender: Contender, targets: Sequence[Target]) -> None:
    for target in targets:
        _ = await contender.get(target)


def _batches(calls: Sequence[Target], count: int) -> list[Sequence[Target]]:
    size = max(1, len(calls) // count)
    return [calls[start : start + size] for start in range(0, len(calls), size)]


async def sequential(contender: Contender, run: Run) -> Measurements:
    """GETs by ID one after another: wall and client CPU per call, peak RSS at the end.

    Per call means the median over 20 batches: a burst of work from another process on
    the machine spoils a batch, not the whole measurement. The plain means are kept too.
    """
    await _each(contender, _calls(run.targets, run.settings.warmup))
    calls = _calls(run.targets, run.settings.calls)
    walls: list[float] = []
    cpus: list[float] = []
    for batch in _batches(calls, BATCHES):
        cpu, wall = time.process_time(), time.perf_counter()
        await _each(contender, batch)
        walls.append((time.perf_counter() - wall) / len(batch))
        cpus.append((time.process_time() - cpu) / len(batch))
    return {
        "calls": len(calls),
        "wall_us_per_call": statistics.median(walls) * 1e6,
        "cpu_us_per_call": statistics.median(cpus) * 1e6,
        "wall_us_per_call_mean": statistics.fmean(walls) * 1e6,
        "cpu_us_per_call_mean": statistics.fmean(cpus) * 1e6,
        "peak_rss_mib": peak_rss_bytes() / 2**20,
    }


async def concurrent(contender: Contender, run: Run) -> Measurements:
    """GETs by ID with ``concurrency`` in flight: throughput and client CPU per call.

    The calls are made three times over; each figure is the median of the three rounds.
    """
    lanes = run.settings.concurrency
    # The warm-up opens the connections the timed rounds reuse.
    await contender.get_many(_calls(run.targets, lanes), lanes)
    calls = _calls(run.targets, run.settings.calls)
    throughputs: list[float] = []
    cpus: list[float] = []
    for _ in range(ROUNDS):
        cpu, wall = time.process_time(), time.perf_counter()
        await contender.get_many(calls, lanes)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        throughputs.append(len(calls) / wall)
        cpus.append(cpu / len(calls))
    return {
        "calls": len(calls),
        "throughput_per_s": statistics.median(throughputs),
        "cpu_us_per_call": statistics.median(cpus) * 1e6,
    }


def _fetch(url: str, token: str) -> bytes:
    request = urllib.request.Request(
        url, headers={"Authorization": token, "LD-API-Version": "beta"}
    )
    with urllib.request.urlopen(request) as response:
        body: bytes = response.read()
    return body


async def listing(contender: Contender, run: Run) -> Measurements:
    """Lists: client CPU around each whole call, and CPU to decode the same bytes alone.

    Both are means over the lists.
    """
    lists = run.settings.lists
    items = await contender.list_all()  # warm-up: connection, converters, caches
    call_cpu: list[float] = []
    started = time.perf_counter()
    for _ in range(lists):
        cpu = time.process_time()
        items = await contender.list_all()
        call_cpu.append(time.process_time() - cpu)
    wall = time.perf_counter() - started
    body = _fetch(run.url.rstrip("/") + RESOURCE, run.token)
    _ = contender.decode_list(body)
    decode_cpu: list[float] = []
    for _ in range(lists):
        cpu = time.process_time()
        _ = contender.decode_list(body)
        decode_cpu.append(time.process_time() - cpu)
    return {
        "items": items,
        "body_bytes": len(body),
        # Means: a decode now and then pays for a full garbage collection that the others
        # made necessary, and a median or a best run would leave that cost out.
        "call_cpu_ms_per_list": statistics.fmean(call_cpu) * 1e3,
        "call_wall_ms_per_list": wall / lists * 1e3,
        "decode_cpu_ms_per_list": statistics.fmean(decode_cpu) * 1e3,
        "decode_cpu_ms_per_list_best": min(decode_cpu) * 1e3,
    }


async def _pair(contender: Contender, scope: Target, name: str) -> None:
    project, environment = scope.project_key, scope.environment_key
    integration_id = await contender.create(project, environment, name)
    await contender.delete(project, environment, integration_id)


async def create_delete(contender: Contender, run: Run) -> Measurements:
    """Create then delete, ``pairs`` times, in the first target's environment: wall per pair."""
    scope, pairs, prefix = run.targets[0], run.settings.pairs, f"bench-{os.getpid()}"
    await _pair(contender, scope, f"{prefix}-warmup")
    cpu, wall = time.process_time(), time.perf_counter()
    for number in range(pairs):
        await _pair(contender, scope, f"{prefix}-{number}")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "pairs": pairs,
        "wall_ms_per_pair": wall / pairs * 1e3,
        "cpu_ms_per_pair": cpu / pairs * 1e3,
    }


async def leak(contender: Contender, run: Run) -> Measurements:
    """RSS after a warm-up of sequential GETs against RSS after many more (a leak check)."""
    await _each(contender, _calls(run.targets, run.settings.leak_warmup))
    _ = gc.collect()
    before = current_rss_bytes()
    await _each(contender, _calls(run.targets, run.settings.leak_calls))
    _ = gc.collect()
    after = current_rss_bytes()
    return {
        "calls": run.settings.leak_calls,
        "rss_before_mib": before / 2**20,
        "rss_after_mib": after / 2**20,
        "rss_growth_pct": (after - before) / before * 100,
    }


Workload = Callable[[Contender, Run], Awaitable[Measurements]]

WORKLOADS: dict[str, Workload] = {
    "sequential": sequential,
    "concurrent": concurrent,
    "list": listing,
    "create_delete": create_delete,
    "leak": leak,
}
