"""How long ``ldstore`` takes to start, against ``python -c pass`` on the same machine.

    python -m benchmarks.startup [--runs 20] [--out results/startup.json]

Each command runs ``--runs`` times, one after another, as a child process; the figures
are medians of its wall time and its CPU time (user + system, from ``wait4``), and the
CPU time over the floor (``python -c pass`` measured in the same run). ``list -q`` runs
against a fake started once beforehand (``python -m ldstore.testing --seed 3``), so
its wall time includes one real HTTP exchange over loopback.

Goals (issue 27.6): ``--version`` within the floor + 50 ms of CPU; ``--help`` and
``list --help`` within the floor + 120 ms; ``list -q`` within 0.35 s of wall time.
Never part of the test suite: timings on a shared machine are for people to read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import attrs

_LDSTORE = str(Path(sys.executable).with_name("ldstore"))
_TOKEN = "api-startup-bench"


@attrs.frozen
class Figures:
    """One command's medians, in milliseconds."""

    name: str
    wall_ms: float
    cpu_ms: float
    cpu_over_floor_ms: float = 0.0
    goal: str = ""
    met: bool | None = None


def _once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        msg = f"{argv} exited {child.returncode}"
        raise RuntimeError(msg)
    return wall * 1000, (usage.ru_utime + usage.ru_stime) * 1000


def measure(name: str, argv: list[str], env: dict[str, str], runs: int) -> Figures:
    """Run ``argv`` ``runs`` times (after one warm-up run) and keep the medians."""
    _ = _once(argv, env)  # warm the page cache and the .pyc files
    samples = [_once(argv, env) for _ in range(runs)]
    return Figures(
        name=name,
        wall_ms=statistics.median(wall for wall, _ in samples),
        cpu_ms=statistics.median(cpu for _, cpu in samples),
    )


def _start_fake(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    fake = subprocess.Popen(
        [sys.executable, "-m", "ldstore.testing", "--token", _TOKEN, "--seed", "3"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert fake.stdout is not None
    first = fake.stdout.readline().strip()  # "listening on http://127.0.0.1:PORT"
    return fake, first.rsplit(" ", 1)[-1]


def run(runs: int) -> list[Figures]:
    """Every command's figures, the floor first, with each goal's verdict."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LD")}
    env["XDG_CONFIG_HOME"] = "/nonexistent"  # no user config file in the figures
    floor = measure("python -c pass", [sys.executable, "-c", "pass"], env, runs)
    fake, url = _start_fake(env)
    try:
        listing_env = {**env, "LD_BASE_URI": url, "LD_ACCESS_TOKEN": _TOKEN}
        commands = [
            ("ldstore --version", [_LDSTORE, "--version"], env, "cpu", 50.0),
            ("ldstore --help", [_LDSTORE, "--help"], env, "cpu", 120.0),
            ("ldstore list --help", [_LDSTORE, "list", "--help"], env, "cpu", 120.0),
            ("ldstore list -q (fake)", [_LDSTORE, "list", "-q"], listing_env, "wall", 350.0),
        ]
        results = [floor]
        for name, argv, environment, kind, limit in commands:
            found = measure(name, argv, environment, runs)
            over = found.cpu_ms - floor.cpu_ms
            if kind == "cpu":
                goal, met = f"CPU <= floor + {limit:g} ms", over <= limit
            else:
                goal, met = f"wall <= {limit:g} ms", found.wall_ms <= limit
            results.append(attrs.evolve(found, cpu_over_floor_ms=over, goal=goal, met=met))
    finally:
        fake.terminate()
        _ = fake.wait(timeout=10)
    return results


def table(results: list[Figures]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| command | wall (ms) | CPU (ms) | CPU over floor (ms) | goal | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for item in results:
        met = "" if item.met is None else "yes" if item.met else "NO"
        lines.append(
            f"| {item.name} | {item.wall_ms:.0f} | {item.cpu_ms:.0f} | "
            f"{item.cpu_over_floor_ms:+.0f} | {item.goal} | {met} |"
        )
    return "\n".join(lines)


def main() -> None:
    """``python -m benchmarks.startup``: print the table, and write JSON with ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    _ = parser.add_argument("--runs", type=int, default=20, help="runs per command (20)")
    _ = parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    results = run(args.runs)
    print(table(results))
    if args.out is not None:
        _ = args.out.write_text(json.dumps([attrs.asdict(item) for item in results], indent=2))


if __name__ == "__main__":
    main()
