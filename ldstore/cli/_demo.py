"""``ldstore demo``: a guided tour against an embedded fake, or a real account with --live.

This module is the command's parser; the tour itself (``_tour``) loads when it runs.
"""

from __future__ import annotations

import argparse

from ldstore.argtypes import positive_seconds, seconds
from ldstore.cli._options import Subparsers, add_command

__all__ = ["SYNC_DELAY", "WIDTH", "register"]

WIDTH = 80  # no line of the tour is wider, ANSI emphasis aside
SYNC_DELAY = 0.5  # seconds: long enough to see the wait poll, short enough for a 2 s tour

_DESCRIPTION = """\
Walk through plan and apply, list, get, an update guarded by the version (meeting a real \
409), wait and delete, printing for each step the `ldstore` command and the Python call \
that do it, and what came back.

It runs against a fake LaunchDarkly API started in this process, whatever LD_BASE_URI, \
LD_ACCESS_TOKEN or the config file say: no account is touched.

With --live it runs against a real account instead (the token from LD_ACCESS_TOKEN, the \
server from --base-uri, LD_BASE_URI, --federal or the config file): it names that server, \
asks on a terminal (--yes skips the question), and deletes what it created. Without a \
terminal and without --yes, or when the answer is no, it exits 2 having sent nothing."""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "demo",
        description=_DESCRIPTION,
        examples="""\
  ldstore demo
  NO_COLOR=1 ldstore demo                          # no bold or dim on a terminal
  ldstore demo --live --environment test           # your account: asks first
  ldstore demo --live --yes --base-uri https://app.launchdarkly.com""",
    )
    _ = parser.add_argument(
        "--live",
        action="store_true",
        help="run against a real account (LD_ACCESS_TOKEN, LD_BASE_URI...), not the fake",
    )
    _ = parser.add_argument(
        "-y", "--yes", action="store_true", help="with --live: do not ask before starting"
    )
    # Their own dests: LD_PROJECT and the config file's project name your work, not the
    # demo's scratch space, so only these flags choose where --live runs.
    _ = parser.add_argument(
        "--project",
        dest="demo_project",
        metavar="KEY",
        help="with --live: the project (default: default)",
    )
    _ = parser.add_argument(
        "--environment",
        dest="demo_environment",
        metavar="KEY",
        help="with --live: the environment (default: test)",
    )
    _ = parser.add_argument(
        "--sync-delay",
        type=seconds,
        metavar="SECONDS",
        help="without --live: how long the fake takes to sync a store switched on "
        f"(default: {SYNC_DELAY})",
    )
    _ = parser.add_argument(
        "--wait-timeout",
        type=positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the store to be available (default: %(default)s)",
    )
    parser.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    from ldstore.cli._tour import run  # noqa: PLC0415 - the SDK loads only for the tour

    return await run(args)
