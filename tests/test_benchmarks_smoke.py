"""The benchmark harness still runs: a tiny workload, one repeat, no timing asserted."""

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from benchmarks.harness import FakeServer
from benchmarks.instructions import Count, table, verdicts
from benchmarks.report import GOALS, METRICS

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = ("ldstore-funcs", "ldstore-client", "aiohttp-floor")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object], str]:
    out = tmp_path_factory.mktemp("bench") / "results.json"

    done = subprocess.run(  # noqa: S603 (our own interpreter and package)
        # The test extra has no launchdarkly-api; leave it out even where it is installed.
        [sys.executable, "-m", "benchmarks", "--quick", "--skip-official", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    data = cast("dict[str, object]", json.loads(out.read_text(encoding="utf-8")))
    return done.stdout, data, out.with_suffix(".md").read_text(encoding="utf-8")


@pytest.mark.timeout(90)
def test_quick_run_prints_every_metric_for_every_contender(
    quick_run: tuple[str, dict[str, object], str],
) -> None:
    """The table has a row per metric, a column per contender, and the machine line."""
    stdout, _, markdown = quick_run

    assert stdout.strip() == markdown.strip()
    assert "Machine: " in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| metric |"))
    assert [cell.strip() for cell in header.strip("|").split("|")][1:] == list(CONTENDERS)
    for metric in METRICS:
        row = next(line for line in markdown.splitlines() if line.startswith(f"| {metric.label} "))
        assert "—" not in row or metric.workload == "leak"


@pytest.mark.timeout(90)
def test_quick_run_writes_positive_medians_and_a_verdict_per_target(
    quick_run: tuple[str, dict[str, object], str],
) -> None:
    """Every contender has every metric, each positive; every target has a verdict."""
    _, data, markdown = quick_run
    medians = cast("dict[str, dict[str, dict[str, float]]]", data["medians"])
    targets = cast("list[dict[str, object]]", data["targets"])

    assert sorted(medians) == sorted(CONTENDERS)
    for contender in CONTENDERS:
        for metric in METRICS:
            if metric.workload == "leak":
                # A difference of two RSS readings: it may be below zero.
                assert math.isfinite(medians[contender][metric.workload][metric.key])
            else:
                assert medians[contender][metric.workload][metric.key] > 0
    assert len(targets) == 2 * len(GOALS)
    assert {target["status"] for target in targets} <= {"PASS", "MISS", "n/a"}
    assert all(
        target["status"] != "n/a" for target in targets if "launchdarkly-api" not in str(target)
    )
    assert markdown.count(" PASS") + markdown.count(" MISS") >= len(GOALS)


def test_instructions_without_valgrind_say_how_to_install_it(tmp_path: Path) -> None:
    """With valgrind off PATH, --instructions exits 2 naming the package to install."""
    env = {"PATH": str(tmp_path), "PYTHONHASHSEED": "0"}  # an empty directory: no tools

    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--instructions"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2, done.stderr
    assert "valgrind" in done.stderr
    assert "apt-get install valgrind" in done.stderr
    assert done.stdout == ""


@pytest.mark.timeout(90)
def test_counted_client_marks_one_region_per_contender_and_workload(tmp_path: Path) -> None:
    """The program callgrind counts runs (here without valgrind) and names its regions
    in order: three workloads for each contender, each with its number of calls."""
    contenders = ["aiohttp-floor", "ldstore-funcs", "ldstore-client"]
    with FakeServer(seed=70, list_includes_config=True) as server:
        config = {
            "url": server.url,
            "token": server.token,
            "targets": server.targets(),
            "contenders": contenders,
            "json": "stdlib",
            "sequential_calls": 3,
            "concurrency": 4,
            "concurrent_rounds": 2,
            "decodes": 1,
        }
        path = tmp_path / "config.json"
        _ = path.write_text(json.dumps(config), encoding="utf-8")

        done = subprocess.run(  # noqa: S603 (our own interpreter and package)
            [sys.executable, "-m", "benchmarks.counted", str(path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )

    assert done.returncode == 0, done.stderr
    regions = json.loads(done.stdout)
    assert [(r["contender"], r["workload"], r["calls"]) for r in regions] == [
        (contender, workload, calls)
        for contender in contenders
        for workload, calls in (("sequential", 3), ("concurrent", 8), ("decode", 1))
    ]


def test_instruction_table_gives_ratios_to_the_floor_of_the_same_run() -> None:
    """Each cell is the median per call over the runs, with the ratio to that run's floor
    and its range; the spread line and the issue-14 verdicts follow."""
    per_call = {
        ("stdlib", "aiohttp-floor"): 400_000,
        ("stdlib", "ldstore-funcs"): 480_000,
        ("speed", "aiohttp-floor"): 400_000,
        ("speed", "ldstore-funcs"): 420_000,
    }
    counts = [
        Count(run, variant, contender, "sequential", 100, round(instructions * scale) * 100)
        for run, scale in ((0, 1.0), (1, 1.002))
        for (variant, contender), instructions in per_call.items()
    ]

    text = table(counts, ["aiohttp-floor", "ldstore-funcs"])
    lines = verdicts(counts)

    row = next(line for line in text.splitlines() if line.startswith("| sequential GET |"))
    assert (
        row
        == "| sequential GET | 400.4k | 480.5k (1.200x, 1.200 to 1.200) | 420.4k (1.050x, 1.050 to 1.050) |"
    )
    assert "every cell within 0.20%" in text
    assert "| sequential GET | <= 1.15x floor | 1.200x MISS |" in lines
    assert "| sequential GET [speed] | <= 1.07x floor | 1.050x PASS |" in lines
