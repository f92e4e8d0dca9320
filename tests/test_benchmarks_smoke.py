"""The benchmark harness still runs: a tiny workload, one repeat, no timing asserted."""

import json
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

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
                assert metric.key in medians[contender][metric.workload]
            else:
                assert medians[contender][metric.workload][metric.key] > 0
    assert len(targets) == 2 * len(GOALS)
    assert {target["status"] for target in targets} <= {"PASS", "MISS", "n/a"}
    assert all(
        target["status"] != "n/a" for target in targets if "launchdarkly-api" not in str(target)
    )
    assert markdown.count(" PASS") + markdown.count(" MISS") >= len(GOALS)
