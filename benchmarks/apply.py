"""``python -m benchmarks.apply``: apply's throughput at a rate limit, and unlimited.

Applies CHANGES creates (then as many updates) against the fake over loopback:

- with a rate limit of LIMIT requests per WINDOW seconds, the time against the ideal
  (requests / allowed rate: the window's budget spent back to back) and the 429s seen;
- against an unlimited fake, the wall time.

Issue 25's targets: at most 1.1x the ideal with zero 429s; under 5 s unlimited. A
benchmark, never a timed test: the figures go in the report, the suite does not assert
them. ``--window 10`` is LaunchDarkly's real window (slow: CHANGES / LIMIT * 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from typing import Any

from ldstore import Core, RetryConfig
from ldstore.models import IntegrationKey, RedisConfig
from ldstore.testing import FakeLaunchDarkly, RateLimit
from ldstore.workflows import DesiredIntegration, apply

_TOO_MANY = 429  # HTTP 429 Too Many Requests


def _desired(count: int, *, on: bool) -> list[DesiredIntegration]:
    return [
        DesiredIntegration(
            project_key="default",
            environment_key="production",
            integration_key=IntegrationKey.REDIS,
            name=f"Store {number}",
            config=RedisConfig(f"redis-{number}.internal"),
            on=on,
        )
        for number in range(count)
    ]


async def _run(changes: int, rate_limit: RateLimit | None) -> dict[str, Any]:
    async with (
        FakeLaunchDarkly(rate_limit=rate_limit, sync_delay=60) as fake,
        Core(
            fake.token, server_url=fake.url, retry_config=RetryConfig(max_elapsed_time=600)
        ) as core,
    ):
        started = time.perf_counter()
        created = await apply(core, _desired(changes, on=False))
        middle = time.perf_counter()
        updated = await apply(core, _desired(changes, on=True))  # a plan: list + a read each
        ended = time.perf_counter()
        requests = len(fake.requests)
        limited = sum(1 for request in fake.requests if request.status == _TOO_MANY)
    assert created.unwrap().ok
    assert updated.unwrap().ok
    result: dict[str, Any] = {
        "changes": changes,
        "requests": requests,
        "429s": limited,
        "create_seconds": round(middle - started, 3),
        "update_seconds": round(ended - middle, 3),
        "seconds": round(ended - started, 3),
    }
    if rate_limit is not None:
        # Back to back, each window's whole budget: the fastest any client could go.
        windows = math.ceil(requests / rate_limit.limit)
        ideal = (windows - 1) * rate_limit.window
        result["ideal_seconds"] = ideal
        result["vs_ideal"] = round((ended - started) / ideal, 3) if ideal else None
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description="apply's throughput at a rate limit, and unlimited"
    )
    _ = parser.add_argument("--changes", type=int, default=200)
    _ = parser.add_argument("--limit", type=int, default=100, help="requests per window")
    _ = parser.add_argument("--window", type=float, default=1.0, help="seconds (LaunchDarkly: 10)")
    args = parser.parse_args()
    limited = asyncio.run(_run(args.changes, RateLimit(args.limit, args.window)))
    unlimited = asyncio.run(_run(args.changes, None))
    print(json.dumps({"rate_limited": limited, "unlimited": unlimited}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
