"""The ``ldstore`` command line: the five operations for people and scripts, and more.

Each subcommand module has ``register(subparsers)``, which adds its parser and sets
``run``: an async callable taking the parsed arguments and returning the exit code (a
plain callable for commands that run their own event loop, such as ``fake-server``).
Add a module to ``_COMMANDS`` to add its commands.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from ldstore.cli._errors import (
    EXIT_API_ERROR,
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    GaveUpError,
    UsageError,
    error_line,
    fail,
    report,
    use_json_errors,
)
from ldstore.cli._options import (
    ENVIRONMENT_HELP,
    OUTPUT_CHOICES,
    Parser,
    add_global_options,
    parse_command_line,
)

__all__ = ["build_parser", "main"]

Run = Callable[[argparse.Namespace], Coroutine[Any, Any, int] | int]

# Each module's register(subparsers) adds its commands, in this order in --help. They are
# imported when the parser is built: `ldstore --version` needs none of them (nor aiohttp).
_COMMANDS = (
    "_crud",
    "_workflows",
    "_export",
    "_config",
    "_demo",
    "_doctor",
    "_watch",
    "_mcp",
    "_fake_server",
    "_completion",
)

_DESCRIPTION = """\
Manage LaunchDarkly persistent store integrations (big segment stores, beta):
the Redis or DynamoDB stores LaunchDarkly keeps in sync for server-side SDKs.
Connection and output flags work before or after the command."""

_EXAMPLES = """\
examples:
  ldstore demo                          # a guided tour against a built-in fake API
  ldstore config --set access-token api-0123...
  ldstore --project default list --output json
  ldstore get --project default --environment production --integration redis \\
      --integration-id 6500d7a1e1c2b3a4f5e6d7c8
  ldstore completion bash > ~/.local/share/bash-completion/completions/ldstore"""


class _Version(argparse.Action):
    """``-V``/``--version``: looks the version up only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        _print_version()
        parser.exit()


def _print_version() -> None:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        found = version("ldstore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        found = "unknown"
    _ = sys.stdout.write(f"ldstore {found}\n")


def _build() -> tuple[Parser, dict[str, Parser]]:
    parser = Parser(
        prog="ldstore",
        description=_DESCRIPTION,
        epilog=f"{_EXAMPLES}\n\n{ENVIRONMENT_HELP}\n\n{EXIT_CODES_HELP}",
    )
    _ = parser.add_argument("-V", "--version", action=_Version, help="print the version and exit")
    add_global_options(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for name in _COMMANDS:
        importlib.import_module(f"ldstore.cli.{name}").register(subparsers)
    return parser, dict(subparsers.choices)  # each a Parser: subparsers take the parent's class


def build_parser() -> argparse.ArgumentParser:
    """The ``ldstore`` parser with every subcommand registered."""
    parser, _ = _build()
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ldstore`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    use_json_errors(_asks_for_json(words))
    debug = "--debug" in words
    try:
        return _main(words)
    except SystemExit as exit_:  # --help, --version, or a usage error the parser reported
        code = exit_.code
        return EXIT_OK if code is None else code if isinstance(code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        _ = sys.stderr.write("ldstore: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`ldstore list | head -1`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        _ = os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - the last resort: one line, never a traceback
        if debug:
            traceback.print_exc()
        report(
            f"unexpected {type(error).__name__}: {error} (a bug in ldstore: please report "
            "it; --debug shows where)",
            kind="InternalError",
        )
        return EXIT_API_ERROR


def _main(words: list[str]) -> int:
    if words in (["-V"], ["--version"]):  # the common case, without building every command
        _print_version()
        return EXIT_OK
    parser, commands = _build()
    parsed = parse_command_line(parser, commands, words)
    if parsed is None:  # `ldstore` alone, or flags without a command
        parser.print_help()
        return EXIT_OK if not words else EXIT_USAGE
    args, command = parsed
    args.ldstore_root = parser
    try:
        _fill_defaults(args, command)
    except UsageError as error:
        error_line(str(error))
        return EXIT_USAGE
    use_json_errors(args.output == "json")
    from ldstore.cli._logging import logging_to_stderr  # noqa: PLC0415 - not for --help

    run: Run = args.run
    try:
        with logging_to_stderr(args):
            outcome = run(args)
            return outcome if isinstance(outcome, int) else asyncio.run(outcome)
    except UsageError as error:
        error_line(str(error))
        return EXIT_USAGE
    except GaveUpError as gave_up:  # the never-connected budget ran out
        return fail(gave_up.error)


def _fill_defaults(args: argparse.Namespace, command: Parser) -> None:
    """Defaults for the flags not given: from LD_* variables, the config file, or none."""
    for dest in ("access_token", "base_uri", "timeout", "retry_budget"):
        if not hasattr(args, dest):
            setattr(args, dest, None)
    for dest in ("federal", "eu", "debug", "quiet"):
        if not hasattr(args, dest):
            setattr(args, dest, False)
    offered = command.dests()
    wanted = [key for key in ("output", "project", "environment") if key in offered]
    from ldstore.cli._settings import read_settings, setting  # noqa: PLC0415

    settings = read_settings() if wanted else {}
    output = "table"
    if "output" in wanted or hasattr(args, "output"):  # hasattr: given to a nested command
        value, source = setting("output", getattr(args, "output", None), settings)
        if value is not None and value not in OUTPUT_CHOICES:
            msg = f"{source} must be json or plaintext, not {value!r}"
            raise UsageError(msg)
        output = "json" if value == "json" else "table"
    args.output = output
    for key in ("project", "environment"):
        # A nested command (doctor redis) declares them below `command`: keep what was given.
        given = getattr(args, key, None)
        value, _ = setting(key, given, settings) if key in wanted else (given, "")
        setattr(args, key, value)
    missing = [dest for dest in getattr(args, "ldstore_needs", ()) if getattr(args, dest) is None]
    if missing:
        flags = ", ".join(f"--{dest}" for dest in missing)
        hints = " or ".join(f"LD_{dest.upper()}" for dest in missing)
        command.error(
            f"the following arguments are required: {flags} (or set {hints}, or "
            f"`ldstore config --set {missing[0]} KEY`)"
        )


def _asks_for_json(words: Sequence[str]) -> bool:
    """Whether errors, even parse errors, should be JSON: a quick look before parsing."""
    pairs = zip(words, [*words[1:], ""][: len(words)], strict=True)
    flagged = any(
        (word in {"-o", "--output"} and following == "json") or word in {"--output=json", "-ojson"}
        for word, following in pairs
    )
    return flagged or os.environ.get("LD_OUTPUT") == "json"
