"""`python -m ldstore.testing`: the fake LaunchDarkly API as a process."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from ldstore.testing._ratelimit import RateLimit
from ldstore.testing._serve import serve_forever
from ldstore.testing._server import FakeLaunchDarkly


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ldstore.testing",
        description="Serve a fake LaunchDarkly persistent store integrations API until "
        "SIGINT or SIGTERM. The first line printed is 'listening on <url>'.",
    )
    _ = parser.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    _ = parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    _ = parser.add_argument("--token", default="api-fake-token", help="access token to accept")
    _ = parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="store N example integrations"
    )
    _ = parser.add_argument(
        "--sync-delay",
        type=float,
        default=0.2,
        metavar="S",
        help="seconds from switching a store on to it being available (%(default)s)",
    )
    _ = parser.add_argument(
        "--rate-limit", type=int, metavar="N", help="requests allowed per window, fake-wide"
    )
    _ = parser.add_argument(
        "--rate-limit-window",
        type=float,
        default=10.0,
        metavar="S",
        help="rate-limit window in seconds (%(default)s, as LaunchDarkly's)",
    )
    _ = parser.add_argument(
        "--list-includes-config",
        action="store_true",
        help="include config in list items (the real API leaves it out)",
    )
    _ = parser.add_argument(
        "--latency", type=float, default=0.0, metavar="S", help="delay every answer by S seconds"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, serve until a signal, return the exit code."""
    args = _parser().parse_args(argv)
    rate_limit = (
        None if args.rate_limit is None else RateLimit(args.rate_limit, args.rate_limit_window)
    )
    fake = FakeLaunchDarkly(
        args.token,
        host=args.host,
        port=args.port,
        sync_delay=args.sync_delay,
        rate_limit=rate_limit,
        latency=args.latency,
        list_includes_config=args.list_includes_config,
    )
    asyncio.run(serve_forever(fake, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
