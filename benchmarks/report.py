"""Medians, ratios to the floor of the same run, the targets, and the markdown table."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

__all__ = [
    "FLOOR",
    "GOALS",
    "METRICS",
    "OFFICIAL",
    "Goal",
    "Medians",
    "Metric",
    "Results",
    "Sample",
    "Verdict",
    "markdown",
]

FLOOR = "aiohttp-floor"
OFFICIAL = "launchdarkly-api"
LDSTORE = ("ldstore-funcs", "ldstore-client")

# contender -> workload -> metric -> a median (or a ratio)
Medians = dict[str, dict[str, dict[str, float]]]


@attrs.frozen
class Metric:
    """One row of the results table."""

    workload: str
    key: str
    label: str
    lower_is_better: bool = True
    digits: int = 1


METRICS: tuple[Metric, ...] = (
    Metric("sequential", "wall_us_per_call", "sequential GET: wall µs/call"),
    Metric("sequential", "cpu_us_per_call", "sequential GET: client CPU µs/call"),
    Metric("sequential", "peak_rss_mib", "sequential GET: peak RSS MiB"),
    Metric(
        "concurrent", "throughput_per_s", "concurrent GET: calls/s", lower_is_better=False, digits=0
    ),
    Metric("concurrent", "cpu_us_per_call", "concurrent GET: client CPU µs/call"),
    Metric(
        "list",
        "decode_cpu_ms_per_list",
        "list: decode CPU ms/list (floor: json.loads)",
        digits=2,
    ),
    Metric("list", "call_cpu_ms_per_list", "list: CPU ms around the call", digits=2),
    Metric("list", "call_wall_ms_per_list", "list: wall ms/call", digits=2),
    Metric("create_delete", "wall_ms_per_pair", "create+delete: wall ms/pair", digits=3),
    Metric("create_delete", "cpu_ms_per_pair", "create+delete: client CPU ms/pair", digits=3),
    Metric("import", "net_ms", "import: ms in a started interpreter"),
    Metric("leak", "rss_growth_pct", "RSS growth over the leak calls %", digits=2),
)


@attrs.frozen
class Goal:
    """A target: ``value / baseline`` (or ``baseline / value``) against a bound."""

    label: str
    workload: str
    key: str
    baseline: str | None  # a contender, or None for an absolute bound
    op: Literal["<=", ">=", "<"]
    bound: float
    inverted: bool = False  # baseline / value: "Nx faster than"

    def limit(self) -> str:
        against = "" if self.baseline is None else f" {self.baseline}"
        unit = "%" if self.baseline is None else "x"
        return f"{self.op} {self.bound:g}{unit}{against}"


GOALS: tuple[Goal, ...] = (
    Goal("sequential GET wall time", "sequential", "wall_us_per_call", FLOOR, "<=", 1.15),
    Goal("sequential GET client CPU per call", "sequential", "cpu_us_per_call", FLOOR, "<=", 1.3),
    Goal("concurrent GET throughput", "concurrent", "throughput_per_s", FLOOR, ">=", 0.85),
    Goal("concurrent GET throughput", "concurrent", "throughput_per_s", OFFICIAL, ">=", 3.0),
    Goal("list decode CPU", "list", "decode_cpu_ms_per_list", FLOOR, "<=", 2.0),
    Goal(
        "list decode CPU, times faster",
        "list",
        "decode_cpu_ms_per_list",
        OFFICIAL,
        ">=",
        5.0,
        inverted=True,
    ),
    Goal("import time", "import", "net_ms", FLOOR, "<=", 1.5),
    Goal("import time", "import", "net_ms", OFFICIAL, "<=", 0.15),
    Goal("peak RSS", "sequential", "peak_rss_mib", FLOOR, "<=", 1.3),
    Goal("RSS growth over the leak calls", "leak", "rss_growth_pct", None, "<", 5.0),
)


@attrs.frozen
class Verdict:
    goal: Goal
    contender: str
    value: float | None  # the ratio (or the absolute value); None when not measured

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        bound = self.goal.bound
        passed = {
            "<=": self.value <= bound,
            ">=": self.value >= bound,
            "<": self.value < bound,
        }[self.goal.op]
        return "PASS" if passed else "MISS"


@attrs.frozen
class Sample:
    """One measurement of one contender: a worker's, or one round of import timings."""

    contender: str
    workload: str
    repeat: int
    measurements: Mapping[str, float]


class Results:
    """Medians over the repeats, and ratios between contenders measured side by side.

    A ratio is the median of per-repeat ratios: the contenders of one repeat run minutes
    apart at most, on the same fake, so pairing them cancels most of what other processes
    on the machine do to a run.
    """

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = list(samples)
        grouped: dict[tuple[str, str, str], dict[int, float]] = {}
        for sample in self.samples:
            for key, measured in sample.measurements.items():
                grouped.setdefault((sample.contender, sample.workload, key), {})[sample.repeat] = (
                    measured
                )
        self._by_repeat = grouped

    def value(self, contender: str, workload: str, key: str) -> float | None:
        """The median over the repeats."""
        repeats = self._by_repeat.get((contender, workload, key))
        return statistics.median(repeats.values()) if repeats else None

    def ratio(self, contender: str, baseline: str, workload: str, key: str) -> float | None:
        """The median over the repeats of ``contender / baseline``."""
        mine = self._by_repeat.get((contender, workload, key), {})
        theirs = self._by_repeat.get((baseline, workload, key), {})
        ratios = [mine[r] / theirs[r] for r in mine if theirs.get(r, 0) > 0 and mine[r] > 0]
        return statistics.median(ratios) if ratios else None

    def medians(self) -> Medians:
        table: Medians = {}
        for (contender, workload, key), repeats in self._by_repeat.items():
            table.setdefault(contender, {}).setdefault(workload, {})[key] = statistics.median(
                repeats.values()
            )
        return table

    def ratios_to(self, baseline: str) -> Medians:
        table: Medians = {}
        for contender, workload, key in self._by_repeat:
            ratio = self.ratio(contender, baseline, workload, key)
            if ratio is not None:
                table.setdefault(contender, {}).setdefault(workload, {})[key] = ratio
        return table

    def judge(self) -> list[Verdict]:
        """Every goal for every ldstore contender."""
        verdicts: list[Verdict] = []
        for goal in GOALS:
            for contender in LDSTORE:
                if goal.baseline is None:
                    found = self.value(contender, goal.workload, goal.key)
                else:
                    found = self.ratio(contender, goal.baseline, goal.workload, goal.key)
                    if goal.inverted and found is not None:
                        found = 1 / found
                verdicts.append(Verdict(goal, contender, found))
        return verdicts

    def cell(self, metric: Metric, contender: str) -> str:
        mine = self.value(contender, metric.workload, metric.key)
        if mine is None:
            return "—"
        text = f"{mine:,.{metric.digits}f}"
        ratio = self.ratio(contender, FLOOR, metric.workload, metric.key)
        if ratio is not None and metric.workload != "leak":
            text += f" ({ratio:.2f}x)"
        return text


def markdown(
    results: Results,
    verdicts: Sequence[Verdict],
    *,
    header: Sequence[str],
    notes: Sequence[str],
    contenders: Sequence[str],
) -> str:
    """The results table (with ratios to the floor), the targets table and the notes."""
    lines = ["# ldstore benchmarks", "", *header, ""]
    lines += [
        "## Results",
        "",
        (
            "Medians over the repeats; in brackets, the median over the repeats of the ratio "
            "to `aiohttp-floor` of the same repeat (↓ lower is better, ↑ higher is better)."
        ),
        "",
        "| metric | " + " | ".join(contenders) + " |",
        "| --- |" + " ---: |" * len(contenders),
    ]
    for metric in METRICS:
        if all(results.value(c, metric.workload, metric.key) is None for c in contenders):
            continue
        arrow = "↓" if metric.lower_is_better else "↑"
        row = " | ".join(results.cell(metric, c) for c in contenders)
        lines.append(f"| {metric.label} {arrow} | {row} |")
    lines += [
        "",
        "## Targets",
        "",
        "| target | limit | " + " | ".join(LDSTORE) + " |",
        "| --- | --- |" + " --- |" * len(LDSTORE),
    ]
    for goal in GOALS:
        cells: list[str] = []
        for contender in LDSTORE:
            verdict = next(v for v in verdicts if v.goal is goal and v.contender == contender)
            if verdict.value is None:
                cells.append("n/a")
            else:
                unit = "%" if goal.baseline is None else "x"
                cells.append(f"{verdict.value:.2f}{unit} {verdict.status}")
        lines.append(f"| {goal.label} | {goal.limit()} | " + " | ".join(cells) + " |")
    if notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"
