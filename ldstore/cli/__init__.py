"""The ``ldstore`` command line: the five operations for people and scripts, and more.

Each subcommand module has ``register(subparsers)``, which adds its parser and sets
``run``: an async callable taking the parsed arguments and returning the exit code (a
plain callable for commands that run their own event loop, such as ``fake-server``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ldstore.cli import _crud, _demo, _doctor, _fake_server, _mcp, _workflows
from ldstore.cli._common import (
    ENVIRONMENT_HELP,
    EXIT_CODES_HELP,
    EXIT_USAGE,
    UsageError,
    connection_options,
    error_line,
    fail,
    logging_to_stderr,
)
from ldstore.errors import LDStoreError

__all__ = ["build_parser", "main"]

Run = Callable[[argparse.Namespace], Coroutine[Any, Any, int] | int]

_DESCRIPTION = """\
Manage LaunchDarkly persistent store integrations (big segment stores, beta):
the Redis or DynamoDB stores LaunchDarkly keeps in sync for server-side SDKs."""

_EXAMPLES = """\
examples:
  ldstore demo                          # a guided tour against a built-in fake API
  ldstore list --output json
  ldstore get --project default --environment production --integration redis \\
      --integration-id 6500d7a1e1c2b3a4f5e6d7c8"""


def _version() -> str:
    try:
        return version("ldstore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The ``ldstore`` parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="ldstore",
        description=_DESCRIPTION,
        epilog=f"{_EXAMPLES}\n\n{ENVIRONMENT_HELP}\n\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _ = parser.add_argument("--version", action="version", version=f"ldstore {_version()}")
    connection_options(parser, suppress=False)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    subparsers.required = True
    for module in (_crud, _workflows, _demo, _doctor, _fake_server, _mcp):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ldstore`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error argparse reported
        code = exit_.code
        return 0 if code is None else code if isinstance(code, int) else EXIT_USAGE
    run: Run = args.run
    try:
        with logging_to_stderr(args):
            outcome = run(args)
            return outcome if isinstance(outcome, int) else asyncio.run(outcome)
    except UsageError as error:
        error_line(str(error))
        return EXIT_USAGE
    except LDStoreError as error:  # a workflow that raised rather than returned an Err
        return fail(error)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`ldstore list | head -1`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        _ = os.dup2(devnull, sys.stdout.fileno())
        return 0
