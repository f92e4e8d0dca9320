"""``ldstore fake-server``: serve the fake LaunchDarkly API (``python -m ldstore.testing``)."""

from __future__ import annotations

import argparse

from ldstore.cli._catalog import summary
from ldstore.cli._errors import EXIT_USAGE, TESTING_EXTRA_MISSING, error_line
from ldstore.cli._options import Subparsers
from ldstore.testing._options import add_arguments, serve

__all__ = ["register"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "fake-server",
        help=summary("fake-server"),
        description="Serve the fake LaunchDarkly persistent store integrations API of "
        "ldstore.testing until SIGINT or SIGTERM (exit 0). The first line printed is "
        "'listening on <url>', the second names the token it accepts. Needs the testing "
        "extra: pip install 'ldstore[testing]'.",
        epilog="""\
examples:
  ldstore fake-server --port 8080 --seed 3
  ldstore fake-server --environment default/staging --environment mobile/production
  ldstore fake-server --sync --sync-interval 1 --dynamodb-endpoint http://127.0.0.1:8000
  LD_BASE_URI=http://127.0.0.1:8080 LD_ACCESS_TOKEN=api-fake-token ldstore list""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # The same options as `python -m ldstore.testing`, defined once in ldstore.testing.
    add_arguments(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    # Not async: the fake runs its own event loop.
    try:
        return serve(args)
    except ModuleNotFoundError as error:
        if error.name != "jsonpatch":
            raise
        error_line(TESTING_EXTRA_MISSING)
        return EXIT_USAGE
