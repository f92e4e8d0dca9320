"""``python -m benchmarks --instructions``: client instructions per call, counted by callgrind.

Wall-clock and CPU ratios on a shared machine move by 30% from run to run; instruction
counts do not. The recipe: the fake API in its own process pinned to CPU 1; the client
(``benchmarks.counted``, every contender in one process) under ``taskset -c 0 setarch
$(uname -m) -R valgrind --tool=callgrind --dump-before=getppid``, with address
randomisation off, a fixed hash seed and a fixed minimal environment (its size shifts the
heap layout), each measured region between two ``os.getppid()`` calls. Only the client's
instructions are counted. With the ``speed`` extra installed the run is made twice: once
with ldstore on ``json.loads`` (msgspec hidden), once with the accelerator.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

from benchmarks.counted import Config, Region
from benchmarks.harness import ROOT, FakeServer, machine
from benchmarks.report import FLOOR, OFFICIAL

__all__ = ["INSTALL_HINT", "Count", "Sizes", "Variant", "main", "missing_tools", "table"]

RESULTS = ROOT / "benchmarks" / "results" / "instructions.json"
LDSTORE = ("ldstore-funcs", "ldstore-client")
WORKLOADS = {
    "sequential": "sequential GET",
    "concurrent": "64-concurrent GET",
    "decode": "decode the list",
}
# The targets of issue 14: ratio to the floor, without and with the speed extra.
TARGETS = {
    "sequential": (1.15, 1.07),
    "concurrent": (1.15, 1.07),
    "decode": (1.85, 1.45),
}
INSTALL_HINT = (
    "the instruction counts need valgrind (callgrind), taskset and setarch: on Debian or "
    "Ubuntu `sudo apt-get install valgrind util-linux`, on Fedora `sudo dnf install "
    "valgrind util-linux`; on macOS valgrind is not available (use a Linux VM or container)"
)
# The client's whole environment: its size shifts the heap layout, and so the counts.
CLIENT_ENV = {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8"}


@attrs.frozen(kw_only=True)
class Sizes:
    """How much each region does: a few minutes of callgrind for a whole run."""

    seed: int = 2000  # integrations in the fake, and so items in the decoded list
    sequential_calls: int = 200
    concurrency: int = 64
    # 20 rounds, not 3: with 64 calls in flight the cyclic GC collects its young objects
    # every ~20 calls and its middle generation every 10 of those. A region of 192 calls
    # holds 10 or 11 young collections, so whether it pays one middle collection (~9k
    # instructions per call of the region) flipped on a handful of allocations: the floor
    # did not pay it and ldstore did (1.078x in 3 rounds, 1.056x in 20, [speed]). 1,280
    # calls hold about six, each contender its share.
    concurrent_rounds: int = 20
    decodes: int = 2


@attrs.frozen
class Variant:
    """One callgrind invocation: ldstore on the stdlib parser, or with the speed extra."""

    name: str  # "stdlib" or "speed"
    json: str  # what benchmarks.counted is told: "stdlib" hides msgspec


@attrs.frozen
class Count:
    """Instructions per call of one contender on one workload, in one run and variant."""

    run: int
    variant: str
    contender: str
    workload: str
    calls: int
    instructions: int

    @property
    def per_call(self) -> float:
        return self.instructions / self.calls


def missing_tools() -> list[str]:
    """The commands the recipe needs that are not on PATH."""
    return [tool for tool in ("valgrind", "taskset", "setarch") if shutil.which(tool) is None]


def _speed_available() -> bool:
    return importlib.util.find_spec("msgspec") is not None


def _official_available() -> bool:
    return importlib.util.find_spec("launchdarkly_api") is not None


def _dump_totals(directory: Path) -> list[int]:
    """Each numbered dump's instruction total, in dump order (``cg.out.1``, ``cg.out.2``...)."""
    parts: dict[int, int] = {}
    for path in directory.glob("cg.out.*"):
        number = int(path.name.rsplit(".", 1)[1])
        text = path.read_text(encoding="utf-8", errors="replace")
        found = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
        if found is None:
            msg = f"{path} has no totals line"
            raise RuntimeError(msg)
        parts[number] = int(found.group(1))
    return [parts[number] for number in sorted(parts)]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def count(  # noqa: PLR0913 (one invocation's whole description)
    server: FakeServer,
    targets: list[list[str]],
    contenders: Sequence[str],
    *,
    variant: Variant,
    sizes: Sizes,
    run: int,
) -> list[Count]:
    """One callgrind invocation of ``benchmarks.counted``: every contender, every region."""
    with tempfile.TemporaryDirectory(prefix="ldstore-cg-") as name:
        directory = Path(name)
        config: Config = {
            "url": server.url,
            "token": server.token,
            "targets": targets,
            "contenders": list(contenders),
            "json": variant.json,
            "sequential_calls": sizes.sequential_calls,
            "concurrency": sizes.concurrency,
            "concurrent_rounds": sizes.concurrent_rounds,
            "decodes": sizes.decodes,
        }
        config_path = directory / "config.json"
        _ = config_path.write_text(json.dumps(config), encoding="utf-8")
        command = [
            *_pinned(0),
            "setarch",
            platform.machine(),
            "-R",  # no address randomisation
            "valgrind",
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={directory / 'cg.out'}",
            sys.executable,
            "-m",
            "benchmarks.counted",
            str(config_path),
        ]
        started = time.perf_counter()
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=CLIENT_ENV,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            msg = f"the counted client failed ({variant.name}):\n{done.stderr[-3000:]}"
            raise RuntimeError(msg)
        regions: list[Region] = json.loads(done.stdout.strip().splitlines()[-1])
        totals = _dump_totals(directory)
        # Dump 1 is everything before the first region; then a region, then the gap
        # before the next region, and so on.
        if len(totals) != 2 * len(regions):
            msg = f"expected {2 * len(regions)} callgrind dumps, found {len(totals)}"
            raise RuntimeError(msg)
        _progress(f"run {run + 1}, {variant.name}: {time.perf_counter() - started:.0f}s")
        return [
            Count(
                run=run,
                variant=variant.name,
                contender=region["contender"],
                workload=region["workload"],
                calls=region["calls"],
                instructions=totals[2 * number + 1],
            )
            for number, region in enumerate(regions)
        ]


def _pinned(cpu: int) -> list[str]:
    # On a one-CPU machine there is nothing to pin to; the counts stay the client's own.
    if (os.cpu_count() or 1) < 2:  # noqa: PLR2004 (client and server on two CPUs)
        return []
    return ["taskset", "-c", str(cpu)]


def _cell(counts: Sequence[Count], floor: Sequence[Count]) -> str:
    values = [c.per_call for c in counts]
    ratios = [c.per_call / f.per_call for c, f in zip(counts, floor, strict=True)]
    text = f"{statistics.median(values) / 1e3:,.1f}k"
    if counts[0].contender != FLOOR:
        text += f" ({statistics.median(ratios):.3f}x"
        if len(ratios) > 1:
            text += f", {min(ratios):.3f} to {max(ratios):.3f}"
        text += ")"
    return text


def table(counts: Sequence[Count], contenders: Sequence[str]) -> str:
    """Instructions per call (median over runs) and the ratio to the floor of the same run."""
    runs = sorted({c.run for c in counts})
    variants = [v for v in ("stdlib", "speed") if any(c.variant == v for c in counts)]
    lines = [
        (
            f"Client instructions per call, median of {len(runs)} run(s); in brackets the ratio "
            "to aiohttp-floor in the same invocation (and its range over the runs)."
        ),
        "",
    ]
    columns: list[tuple[str, str]] = [("stdlib", FLOOR)]
    for variant in variants:
        columns += [(variant, c) for c in contenders if c != FLOOR]
    heads = [c if v == "stdlib" else f"{c} [speed]" for v, c in columns]
    lines += [
        "| workload | " + " | ".join(heads) + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    for workload, label in WORKLOADS.items():
        cells: list[str] = []
        for variant, contender in columns:
            mine = _series(counts, runs, variant, contender, workload)
            floor = _series(counts, runs, variant, FLOOR, workload)
            cells.append(_cell(mine, floor) if mine and len(floor) == len(mine) else "—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if len(runs) > 1:
        lines += ["", _spread(counts, runs)]
    return "\n".join(lines) + "\n"


def _series(
    counts: Sequence[Count], runs: Sequence[int], variant: str, contender: str, workload: str
) -> list[Count]:
    found = {
        c.run: c
        for c in counts
        if c.variant == variant and c.contender == contender and c.workload == workload
    }
    return [found[run] for run in runs if run in found]


def _spread(counts: Sequence[Count], runs: Sequence[int]) -> str:
    """The largest (max - min) / min of any cell's instructions per call over the runs."""
    worst = 0.0
    for key in {(c.variant, c.contender, c.workload) for c in counts}:
        values = [c.per_call for c in _series(counts, runs, *key)]
        worst = max(worst, (max(values) - min(values)) / min(values))
    return f"Spread over the runs: every cell within {worst * 100:.2f}% (max - min over min)."


def verdicts(counts: Sequence[Count]) -> list[str]:
    """Issue 14's targets against the median ratios of ldstore-funcs."""
    runs = sorted({c.run for c in counts})
    lines = ["| target | limit | ldstore-funcs |", "| --- | --- | --- |"]
    for variant, index in (("stdlib", 0), ("speed", 1)):
        for workload, label in WORKLOADS.items():
            mine = _series(counts, runs, variant, "ldstore-funcs", workload)
            floor = _series(counts, runs, variant, FLOOR, workload)
            if not mine or len(floor) != len(mine):
                continue
            ratio = statistics.median(
                c.per_call / f.per_call for c, f in zip(mine, floor, strict=True)
            )
            bound = TARGETS[workload][index]
            verdict = "PASS" if ratio <= bound else "MISS"
            suffix = " [speed]" if variant == "speed" else ""
            lines.append(f"| {label}{suffix} | <= {bound}x floor | {ratio:.3f}x {verdict} |")
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks --instructions")
    _ = parser.add_argument("--instructions", action="store_true")
    _ = parser.add_argument("--repeats", type=int, default=1, help="callgrind runs (1)")
    _ = parser.add_argument("--skip-official", action="store_true")
    _ = parser.add_argument("--skip-speed", action="store_true", help="no accelerator run")
    _ = parser.add_argument("--out", type=Path, default=RESULTS)
    _ = parser.add_argument(
        "--sequential-calls", type=int, default=Sizes().sequential_calls, help=argparse.SUPPRESS
    )
    _ = parser.add_argument(
        "--concurrent-rounds", type=int, default=Sizes().concurrent_rounds, help=argparse.SUPPRESS
    )
    _ = parser.add_argument("--decodes", type=int, default=Sizes().decodes, help=argparse.SUPPRESS)
    _ = parser.add_argument("--seed", type=int, default=Sizes().seed, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    missing = missing_tools()
    if missing:
        print(f"{', '.join(missing)} not found: {INSTALL_HINT}", file=sys.stderr)
        return 2
    sizes = Sizes(
        seed=args.seed,
        sequential_calls=args.sequential_calls,
        concurrent_rounds=args.concurrent_rounds,
        decodes=args.decodes,
    )
    contenders = [FLOOR, *LDSTORE]
    if not args.skip_official and _official_available():
        contenders.append(OFFICIAL)
    variants = [Variant("stdlib", "stdlib")]
    if not args.skip_speed and _speed_available():
        variants.append(Variant("speed", "default"))
    counts: list[Count] = []
    started = time.perf_counter()
    with FakeServer(seed=sizes.seed, list_includes_config=True, prefix=_pinned(1)) as server:
        targets = server.targets()
        for run in range(max(1, args.repeats)):
            for variant in variants:
                # The official client does not use ldstore's parser: once is enough.
                names = contenders if variant.name == "stdlib" else [FLOOR, *LDSTORE]
                counts += count(server, targets, names, variant=variant, sizes=sizes, run=run)
    lines = ["# ldstore instruction counts", "", _header(sizes), "", table(counts, contenders)]
    lines += ["## Targets (issue 14)", "", *verdicts(counts), ""]
    if not args.skip_speed and not _speed_available():
        lines.append(
            "The speed extra is not installed (`pip install 'ldstore[speed]'`): no [speed] columns.\n"
        )
    text = "\n".join(lines)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "machine": machine(),
        "sizes": attrs.asdict(sizes),
        "counts": [{**attrs.asdict(c), "per_call": c.per_call} for c in counts],
        "elapsed_s": time.perf_counter() - started,
    }
    _ = out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _ = out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    _progress(f"wrote {out} and {out.with_suffix('.md')} in {data['elapsed_s']:.0f}s")
    return 0


def _header(sizes: Sizes) -> str:
    info = machine()
    return (
        f"Machine: {info['cpu']}, Python {info['python']}; aiohttp {info['aiohttp']}, "
        f"cattrs {info['cattrs']}, attrs {info['attrs']}. callgrind, client only (server "
        f"pinned to CPU 1, client to CPU 0, ASLR off, PYTHONHASHSEED=0, minimal env). "
        f"Regions: {sizes.sequential_calls} sequential GETs; {sizes.concurrent_rounds} rounds "
        f"of {sizes.concurrency} GETs in flight; {sizes.decodes} decodes of the "
        f"{sizes.seed}-item list (floor: json.loads). Each after a warm-up."
    )
