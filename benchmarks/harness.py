"""The run: the fake API in its own process, a fresh worker per measurement, the report."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import cast

import attrs

from benchmarks.contenders import CONTENDERS, RESOURCE
from benchmarks.report import FLOOR, OFFICIAL, Results, Sample, markdown
from benchmarks.workloads import Settings

__all__ = ["FULL", "QUICK", "Plan", "main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
TIMED = ("sequential", "concurrent", "list", "create_delete")
LEAK_CONTENDERS = ("ldstore-funcs", "ldstore-client", FLOOR)
# What each contender's import row measures.
IMPORTS = {
    # What each contender's calls load: `import ldstore` alone is lazy (PEP 562).
    "ldstore-funcs": "ldstore.funcs",
    "ldstore-client": "ldstore.client",
    FLOOR: "aiohttp",
    OFFICIAL: "launchdarkly_api",
}


@attrs.frozen(kw_only=True)
class Plan:
    """How big a run is."""

    repeats: int
    seed: int
    settings: Settings
    import_runs: int


FULL = Plan(repeats=5, seed=2000, settings=Settings(), import_runs=9)
QUICK = Plan(
    repeats=1,
    seed=100,
    settings=Settings(
        calls=20, warmup=5, concurrency=8, lists=2, pairs=5, leak_warmup=20, leak_calls=200
    ),
    import_runs=1,
)


class FakeServer:
    """``python -m ldstore.testing`` in a child process, until the ``with`` block ends."""

    def __init__(
        self, *, seed: int, list_includes_config: bool, prefix: Sequence[str] = ()
    ) -> None:
        self.token = f"api-bench-{secrets.token_hex(8)}"
        # prefix: a command to run it under (``taskset -c 1`` for the instruction counts).
        command = [*prefix, sys.executable, "-m", "ldstore.testing", "--port", "0"]
        command += ["--seed", str(seed), "--token", self.token]
        if list_includes_config:
            command.append("--list-includes-config")
        self.command = command
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> FakeServer:
        process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self._process = process
        # A fake that never announces itself must not hang the run.
        watchdog = threading.Timer(60.0, process.kill)
        watchdog.start()
        try:
            line = process.stdout.readline() if process.stdout is not None else ""
        finally:
            watchdog.cancel()
        if not line.startswith("listening on "):
            self.__exit__(None, None, None)
            msg = f"the fake API did not start: {line!r}"
            raise RuntimeError(msg)
        self.url = line.removeprefix("listening on ").strip()
        return self

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            _ = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _ = process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def targets(self) -> list[list[str]]:
        """Every seeded integration as ``[project, environment, key, id]``."""
        request = urllib.request.Request(
            self.url + RESOURCE, headers={"Authorization": self.token, "LD-API-Version": "beta"}
        )
        with urllib.request.urlopen(request) as response:
            listing: dict[str, list[dict[str, str]]] = json.load(response)
        return [
            [item["projectKey"], item["environmentKey"], item["integrationKey"], item["_id"]]
            for item in listing["items"]
        ]


@attrs.frozen
class WorkerLine:
    """What a worker printed: measurements, or a check's findings."""

    measurements: dict[str, float]
    check: dict[str, object]


def worker(
    contender: str, workload: str, server: FakeServer, targets: Path, settings: Settings
) -> WorkerLine:
    """Run one measurement in a fresh interpreter and read the JSON line it prints."""
    command = [sys.executable, "-m", "benchmarks.worker", contender, workload]
    command += [server.url, server.token, "--targets", str(targets)]
    for field in attrs.fields(Settings):
        command += [f"--{field.name.replace('_', '-')}", str(getattr(settings, field.name))]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=900, check=False
    )
    if done.returncode != 0:
        msg = f"worker {contender} {workload} failed:\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    line = _object(json.loads(done.stdout.strip().splitlines()[-1]))
    measurements = _object(line.get("measurements", {}))
    return WorkerLine(
        measurements={key: float(_number(value)) for key, value in measurements.items()},
        check=_object(line.get("check", {})),
    )


def _object(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        msg = f"expected a JSON object, not {value!r}"
        raise TypeError(msg)
    return cast("dict[str, object]", value)


def _number(value: object) -> float:
    if not isinstance(value, int | float):
        msg = f"expected a number, not {value!r}"
        raise TypeError(msg)
    return value


# Timed inside the child, around the import alone: the difference of two processes' wall
# times (with and without the import) was mostly noise for a package that imports its
# network code lazily, and read below zero now and then.
_TIMED_IMPORT = (
    "import time; started = time.perf_counter(); import {module}; "
    "print((time.perf_counter() - started) * 1e3)"
)


def import_samples(contenders: Sequence[str], runs: int) -> tuple[list[Sample], dict[str, float]]:
    """Wall milliseconds to import each contender's module in a started interpreter.

    One sample per round and contender, all modules timed in each round; and the median
    of each module.
    """
    modules = sorted({IMPORTS[c] for c in contenders})
    samples: list[Sample] = []
    timings: dict[str, list[float]] = {module: [] for module in modules}
    for run in range(runs + 1):  # the first round only warms the bytecode caches
        took: dict[str, float] = {}
        for module in modules:
            done = subprocess.run(
                [sys.executable, "-c", _TIMED_IMPORT.format(module=module)],
                check=True,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            took[module] = float(done.stdout.strip().splitlines()[-1])
        if run == 0:
            continue
        for module, milliseconds in took.items():
            timings[module].append(milliseconds)
        samples += [Sample(c, "import", run - 1, {"net_ms": took[IMPORTS[c]]}) for c in contenders]
    return samples, {module: statistics.median(t) for module, t in timings.items()}


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str | int | None]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "aiohttp": _version("aiohttp"),
        "ldstore": _version("ldstore"),
        "launchdarkly-api": _version("launchdarkly-api"),
        "cattrs": _version("cattrs"),
        "attrs": _version("attrs"),
    }


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _official_available() -> bool:
    return importlib.util.find_spec("launchdarkly_api") is not None


@contextlib.contextmanager
def _fake(
    seed: int, *, list_includes_config: bool
) -> Generator[tuple[FakeServer, Path], None, None]:
    """A fake API, and a file of every integration it holds for workers to get by ID."""
    with (
        FakeServer(seed=seed, list_includes_config=list_includes_config) as server,
        tempfile.TemporaryDirectory(prefix="ldstore-bench-") as directory,
    ):
        path = Path(directory) / "targets.json"
        _ = path.write_text(json.dumps(server.targets()), encoding="utf-8")
        yield server, path


class Outcome:
    """Everything one run measured."""

    def __init__(self, plan: Plan, contenders: Sequence[str]) -> None:
        self.plan = plan
        self.contenders = list(contenders)
        self.samples: list[Sample] = []
        self.checks: dict[str, dict[str, object]] = {}
        self.imports: dict[str, float] = {}
        self.elapsed_s = 0.0

    def results(self) -> Results:
        return Results(self.samples)

    def to_json(self) -> dict[str, object]:
        results = self.results()
        return {
            "machine": machine(),
            "plan": attrs.asdict(self.plan),
            "contenders": self.contenders,
            "medians": results.medians(),
            "ratios_to_floor": results.ratios_to(FLOOR),
            "imports_ms": self.imports,
            "checks": self.checks,
            "elapsed_s": self.elapsed_s,
            "samples": [attrs.asdict(sample) for sample in self.samples],
        }


def run(plan: Plan, contenders: Sequence[str]) -> Outcome:
    """Run every measurement, each in a fresh worker process."""
    started = time.perf_counter()
    outcome = Outcome(plan, contenders)
    leak_contenders = [c for c in LEAK_CONTENDERS if c in contenders]
    steps = plan.repeats * len(TIMED) * len(contenders) + len(leak_contenders)

    def measure(
        contender: str, workload: str, repeat: int, server: FakeServer, targets: Path
    ) -> None:
        step_started = time.perf_counter()
        line = worker(contender, workload, server, targets, plan.settings)
        outcome.samples.append(Sample(contender, workload, repeat, line.measurements))
        _progress(
            f"[{len(outcome.samples)}/{steps}] {workload} {contender} (repeat {repeat + 1}) "
            f"{time.perf_counter() - step_started:.1f}s"
        )

    for repeat in range(plan.repeats):
        # A fresh fake per repeat: it logs every exchange, and a long log slows it down.
        with _fake(plan.seed, list_includes_config=True) as (server, targets):
            for workload in TIMED:
                # Rotate the order so that no contender always runs first or last.
                shift = repeat % len(contenders)
                for contender in [*contenders[shift:], *contenders[:shift]]:
                    measure(contender, workload, repeat, server, targets)
            if repeat == 0 and OFFICIAL in contenders:
                line = worker(OFFICIAL, "beta-header", server, targets, plan.settings)
                outcome.checks["beta-header"] = line.check
    with _fake(plan.seed, list_includes_config=True) as (server, targets):
        for contender in leak_contenders:
            measure(contender, "leak", 0, server, targets)
    _progress("checking the real-shaped list (items without config)")
    with _fake(10, list_includes_config=False) as (server, targets):
        for contender in ("ldstore-funcs", OFFICIAL):
            if contender in contenders:
                line = worker(contender, "real-shape-list", server, targets, plan.settings)
                outcome.checks[f"real-shape-list {contender}"] = line.check
    _progress("timing imports")
    imports, outcome.imports = import_samples(contenders, plan.import_runs)
    outcome.samples += imports
    outcome.elapsed_s = time.perf_counter() - started
    return outcome


def header(outcome: Outcome) -> list[str]:
    info = machine()
    plan, settings = outcome.plan, outcome.plan.settings
    return [
        (
            f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}; "
            f"aiohttp {info['aiohttp']}, ldstore {info['ldstore']}, "
            f"launchdarkly-api {info['launchdarkly-api']}, cattrs {info['cattrs']}, attrs {info['attrs']}."
        ),
        "",
        (
            f"Fake API: a separate process (`python -m ldstore.testing --seed {plan.seed} "
            "--list-includes-config`, a fresh one per repeat), no latency, rate limit or faults, "
            f"on 127.0.0.1. Each contender runs in a fresh process per workload and repeat; "
            f"{plan.repeats} repeat(s), medians. Workloads: {settings.calls} sequential GETs by ID "
            f"(after {settings.warmup} warm-up calls); {settings.calls} GETs with "
            f"{settings.concurrency} in flight (median of 3 rounds); {settings.lists} lists of "
            f"{plan.seed} items; "
            f"{settings.pairs} create+delete pairs; RSS after {settings.leak_warmup} GETs vs after "
            f"{settings.leak_calls} more; the import of each contender's module timed inside a "
            f"started interpreter, median of "
            f"{plan.import_runs}. Client CPU is the worker's `time.process_time()` (the fake is "
            "another process); sequential per-call figures are medians over 20 batches, list "
            "figures means over the lists (a full garbage collection lands in some of them). "
            "Peak RSS is `VmHWM` (Linux keeps `ru_maxrss` across "
            "`exec`, so a worker would report its parent's)."
        ),
    ]


def notes(outcome: Outcome) -> list[str]:
    found: list[str] = []
    beta = outcome.checks.get("beta-header")
    if beta is not None:
        found.append(
            "launchdarkly-api sends `LD-API-Version: 20240415` as a default header, which "
            "overwrites per-call headers: a get with `_headers={'LD-API-Version': 'beta'}` "
            f"answered {beta.get('status')} ({beta.get('error')}). The benchmark calls "
            "`api_client.set_default_header('LD-API-Version', 'beta')`."
        )
    for contender in outcome.contenders:
        check = outcome.checks.get(f"real-shape-list {contender}")
        if check is not None:
            result = (
                f"decoded {check.get('items')} items"
                if check.get("ok")
                else f"failed: {check.get('error')}"
            )
            found.append(
                "Real-shaped list (items without `config`, as LaunchDarkly sends them): "
                f"{contender} {result}."
            )
    if OFFICIAL in outcome.contenders:
        found += [
            (
                "So the list workload runs against a fake that includes `config` in list items "
                "(`--list-includes-config`), for every contender."
            ),
            (
                "launchdarkly-api is synchronous (urllib3): its concurrent workload uses 64 threads "
                "and a connection pool of 64; its sequential calls block the worker's event loop."
            ),
        ]
    else:
        found.append("launchdarkly-api is not installed: its column and targets are n/a.")
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark ldstore against plain aiohttp and the official client.",
    )
    _ = parser.add_argument("--quick", action="store_true", help="a tiny workload, 1 repeat")
    _ = parser.add_argument("--repeats", type=int, help="fresh-process repeats per workload")
    _ = parser.add_argument(
        "--out", type=Path, default=RESULTS, help="JSON results file; the table goes beside it"
    )
    _ = parser.add_argument(
        "--skip-official", action="store_true", help="leave out launchdarkly-api"
    )
    _ = parser.add_argument(
        "--instructions",
        action="store_true",
        help=(
            "count client instructions per call under callgrind instead (needs valgrind; "
            "see benchmarks/instructions.py; --repeats N runs it N times, --skip-speed "
            "leaves out the accelerator run)"
        ),
    )
    _ = parser.add_argument("--skip-speed", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if "--instructions" in arguments:
        from benchmarks import instructions  # noqa: PLC0415 (it imports this module)

        return instructions.main(arguments)
    args = _parser().parse_args(arguments)
    plan = QUICK if args.quick else FULL
    if args.repeats is not None:
        plan = attrs.evolve(plan, repeats=max(1, args.repeats))
    contenders = [c for c in CONTENDERS if c != OFFICIAL]
    if not args.skip_official and _official_available():
        contenders.append(OFFICIAL)
    outcome = run(plan, contenders)
    results = outcome.results()
    verdicts = results.judge()
    data = outcome.to_json()
    data["targets"] = [
        {
            "target": v.goal.label,
            "limit": v.goal.limit(),
            "contender": v.contender,
            "value": v.value,
            "status": v.status,
        }
        for v in verdicts
    ]
    table = markdown(
        results, verdicts, header=header(outcome), notes=notes(outcome), contenders=contenders
    )
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    _ = out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _ = out.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    _progress(f"wrote {out} and {out.with_suffix('.md')} in {outcome.elapsed_s:.0f}s")
    return 0
