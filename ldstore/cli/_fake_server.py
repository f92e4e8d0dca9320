"""``ldstore fake-server``: serve the fake LaunchDarkly API (``python -m ldstore.testing``)."""

from __future__ import annotations

import argparse

from ldstore.cli._common import EXIT_USAGE, TESTING_EXTRA_MISSING, Subparsers, error_line

__all__ = ["register"]

# The options of `python -m ldstore.testing`, passed on when given (its defaults apply).
_OPTIONS: tuple[tuple[str, type, str, str], ...] = (
    ("--host", str, "ADDRESS", "address to bind (default: 127.0.0.1)"),
    ("--port", int, "PORT", "port to listen on; 0 picks a free one (default: 0)"),
    ("--token", str, "TOKEN", "the access token it accepts (default: api-fake-token)"),
    ("--seed", int, "N", "start with N example integrations (default: 0)"),
    ("--sync-delay", float, "SECONDS", "from switching a store on to it being available (0.2)"),
    ("--rate-limit", int, "N", "requests allowed per window, fake-wide (default: none)"),
    (
        "--rate-limit-window",
        float,
        "SECONDS",
        "the rate-limit window (default: 10, as LaunchDarkly's)",
    ),
    ("--latency", float, "SECONDS", "delay every answer (default: 0)"),
)


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "fake-server",
        help="serve a fake LaunchDarkly API for tests and demos",
        description="Serve the fake LaunchDarkly persistent store integrations API of "
        "ldstore.testing until SIGINT or SIGTERM (exit 0). The first line printed is "
        "'listening on <url>', the second names the token it accepts. Needs the testing "
        "extra: pip install 'ldstore[testing]'.",
        epilog="""\
examples:
  ldstore fake-server --port 8080 --seed 3
  LD_BASE_URI=http://127.0.0.1:8080 LD_ACCESS_TOKEN=api-fake-token ldstore list""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flag, kind, metavar, summary in _OPTIONS:
        _ = parser.add_argument(flag, type=kind, metavar=metavar, help=summary)
    _ = parser.add_argument(
        "--list-includes-config",
        action="store_true",
        help="include config in list items (the real API leaves it out)",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    # Not async: the fake's main runs its own event loop.
    argv: list[str] = []
    for flag, _kind, _metavar, _summary in _OPTIONS:
        value: object = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            argv += [flag, str(value)]
    if args.list_includes_config:
        argv.append("--list-includes-config")
    try:
        from ldstore.testing.__main__ import main as serve  # noqa: PLC0415 - an optional extra
    except ModuleNotFoundError as error:
        if error.name != "jsonpatch":
            raise
        error_line(TESTING_EXTRA_MISSING)
        return EXIT_USAGE
    return serve(argv)
