"""One contender, one workload, in a fresh process: ``python -m benchmarks.worker``.

``python -m benchmarks.worker CONTENDER WORKLOAD URL TOKEN --targets FILE [sizes]`` prints
one JSON line: ``{"contender": ..., "workload": ..., "measurements": {...}}``. Two
workloads are checks rather than timings, run once per run: ``real-shape-list`` (a list
whose items lack ``config``) and ``beta-header`` (the official client's API version
header), each printing ``{"check": {...}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from benchmarks.contenders import CONTENDERS, Target, make_contender
from benchmarks.workloads import WORKLOADS, Run, Settings

__all__ = ["CHECKS", "main"]

CHECKS = ("real-shape-list", "beta-header")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__)
    _ = parser.add_argument("contender", choices=CONTENDERS)
    _ = parser.add_argument("workload", choices=(*WORKLOADS, *CHECKS))
    _ = parser.add_argument("url")
    _ = parser.add_argument("token")
    _ = parser.add_argument("--targets", type=Path, help="JSON file of [project, env, key, id]")
    for field in attrs.fields(Settings):
        _ = parser.add_argument(
            f"--{field.name.replace('_', '-')}", type=int, default=field.default
        )
    return parser


def load_targets(path: Path | None) -> list[Target]:
    if path is None:
        return []
    rows: list[list[str]] = json.loads(path.read_text(encoding="utf-8"))
    return [Target(*row) for row in rows]


async def _measure(args: argparse.Namespace, run: Run) -> dict[str, object]:
    contender = make_contender(args.contender, run.url, run.token)
    try:
        if args.workload == "real-shape-list":
            try:
                items = await contender.list_all()
            except Exception as error:  # noqa: BLE001 (the failure is the finding)
                # The first lines name the failure (pydantic: the model, the field, why).
                summary = "; ".join(line.strip() for line in str(error).splitlines()[:3])
                return {"check": {"ok": False, "error": f"{type(error).__name__}: {summary}"}}
            return {"check": {"ok": True, "items": items}}
        if args.workload == "beta-header":
            from benchmarks.contenders.official import beta_header_check  # noqa: PLC0415

            return {"check": beta_header_check(run.url, run.token, run.targets[0])}
        measurements = await WORKLOADS[args.workload](contender, run)
        return {"measurements": measurements}
    finally:
        await contender.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings(
        **{field.name: getattr(args, field.name) for field in attrs.fields(Settings)}
    )
    run = Run(url=args.url, token=args.token, targets=load_targets(args.targets), settings=settings)
    outcome = asyncio.run(_measure(args, run))
    line = {"contender": args.contender, "workload": args.workload, **outcome}
    _ = sys.stdout.write(json.dumps(line) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
