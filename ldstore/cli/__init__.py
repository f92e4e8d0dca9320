"""The ``ldstore`` command line: the five operations for people and scripts, and more.

Each subcommand module has ``register(subparsers)``, which adds its parsers and sets
``run``: an async callable taking the parsed arguments and returning the exit code (a
plain callable for commands that run their own event loop, such as ``fake-server``).
Add a command to ``ldstore.cli._catalog`` (its name, module and summary) to add it: a
command's module is imported, and its parser built, only when the command is chosen.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ldstore.cli import _catalog
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

if TYPE_CHECKING:  # these load only when a command (or --help) needs them
    from ldstore.cli._options import Parser
    from ldstore.cli._settings import Setting

__all__ = ["build_parser", "main"]

Run = Callable[[argparse.Namespace], Coroutine[Any, Any, int] | int]

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
    _ = sys.stdout.write(f"ldstore {_installed_version()}\n")


def _installed_version() -> str:
    """The installed version, from the ``ldstore-<version>.dist-info`` on ``sys.path``.

    The directory's name says it, as importlib.metadata would find it first on the path;
    importlib.metadata itself (email, zipfile, csv) costs ``--version`` ~20 ms.
    """
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")  # noqa: PTH208 - pathlib would cost an import
        except OSError:
            continue
        for name in names:
            if name.startswith("ldstore-") and name.endswith(".dist-info"):
                return name.removeprefix("ldstore-").removesuffix(".dist-info")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("ldstore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


class _Commands(Mapping[str, "Parser"]):
    """The subcommands' parsers by name, each module's built when one of its commands is
    first looked up: ``ldstore list --help`` imports neither the doctor nor the watcher.

    Until then the root parser holds a stub under each name (the catalog's summary, for
    ``ldstore --help``); loading a module puts its real parsers in the stubs' place.
    """

    def __init__(self, subparsers: argparse._SubParsersAction[Parser]) -> None:  # pyright: ignore[reportPrivateUsage]
        self._root = subparsers
        self._loaded: dict[str, Parser] = {}
        for name in _catalog.COMMANDS:
            _ = subparsers.add_parser(name, help=_catalog.summary(name), add_help=False)

    def __getitem__(self, name: str) -> Parser:
        if name not in self._loaded:
            self._load(_catalog.COMMANDS[name][0])  # KeyError for a name not in the catalog
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in _catalog.COMMANDS  # without building anything

    def __iter__(self) -> Iterator[str]:
        return iter(_catalog.COMMANDS)

    def __len__(self) -> int:
        return len(_catalog.COMMANDS)

    def _load(self, module: str) -> None:
        from ldstore.cli._options import Parser  # noqa: PLC0415

        # A scratch root named as the real one gives the parsers the same prog ("ldstore
        # list"); argparse refuses a second parser under a name, so the stub is replaced.
        scratch = Parser(prog="ldstore").add_subparsers()
        importlib.import_module(f"ldstore.cli.{module}").register(scratch)
        for name, command in scratch.choices.items():
            self._root.choices[name] = self._loaded[name] = command


def _build() -> tuple[Parser, _Commands]:
    from ldstore.cli._options import ENVIRONMENT_HELP, Parser, add_global_options  # noqa: PLC0415

    parser = Parser(
        prog="ldstore",
        description=_DESCRIPTION,
        epilog=f"{_EXAMPLES}\n\n{ENVIRONMENT_HELP}\n\n{EXIT_CODES_HELP}",
    )
    _ = parser.add_argument("-V", "--version", action=_Version, help="print the version and exit")
    add_global_options(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    return parser, _Commands(subparsers)  # each a Parser: subparsers take the parent's class


def build_parser() -> argparse.ArgumentParser:
    """The ``ldstore`` parser with every subcommand built (for completion scripts, tests)."""
    parser, commands = _build()
    for name in commands:
        _ = commands[name]
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
            import traceback  # noqa: PLC0415 - only a bug needs it

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
    from ldstore.cli._options import parse_command_line  # noqa: PLC0415 - not for --version

    parser, commands = _build()
    parsed = parse_command_line(parser, commands, words)
    if parsed is None:  # `ldstore` alone, or flags without a command
        parser.print_help()
        return EXIT_OK if not words else EXIT_USAGE
    args, command = parsed
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
            return _run(run, args)
    except UsageError as error:
        error_line(str(error))
        return EXIT_USAGE
    except GaveUpError as gave_up:  # the never-connected budget ran out
        return fail(gave_up.error)


def _run(run: Run, args: argparse.Namespace) -> int:
    outcome = run(args)
    if isinstance(outcome, int):
        return outcome
    import asyncio  # noqa: PLC0415 - --help and --version run no event loop

    return asyncio.run(outcome)


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
    from ldstore.cli._options import OUTPUT_CHOICES  # noqa: PLC0415
    from ldstore.cli._settings import setting, settings_of  # noqa: PLC0415

    settings = settings_of(args) if wanted else {}
    output = "table"
    if "output" in wanted or hasattr(args, "output"):  # hasattr: given to a nested command
        value, source = setting("output", getattr(args, "output", None), settings)
        if value is not None and value not in OUTPUT_CHOICES:
            msg = f"{source} must be json or plaintext, not {value!r}"
            raise UsageError(msg)
        output = "json" if value == "json" else "table"
    args.output = output
    _fill_scope(args, wanted, settings)
    missing = [dest for dest in getattr(args, "ldstore_needs", ()) if getattr(args, dest) is None]
    if missing:
        flags = ", ".join(f"--{dest}" for dest in missing)
        hints = " or ".join(f"LD_{dest.upper()}" for dest in missing)
        command.error(
            f"the following arguments are required: {flags} (or set {hints}, or "
            f"`ldstore config --set {missing[0]} KEY`)"
        )


def _fill_scope(
    args: argparse.Namespace, wanted: Sequence[str], settings: Mapping[str, Setting]
) -> None:
    """``--project`` and ``--environment`` from their flags or defaults; ``ldstore_defaults``
    names the ones a default (not a flag) set, and whence, for ``list`` to say so."""
    from ldstore.cli._settings import setting  # noqa: PLC0415

    defaults: dict[str, str] = {}
    for key in ("project", "environment"):
        # A nested command (doctor redis) declares them below `command`: keep what was given.
        given = getattr(args, key, None)
        value, source = setting(key, given, settings) if key in wanted else (given, "")
        if value is not None and source not in {"", f"--{key}"}:
            if getattr(args, "all", False):  # list --all: defaults do not narrow it
                value = None
            else:
                defaults[key] = source if source.startswith("LD_") else "config file"
        setattr(args, key, value)
    args.ldstore_defaults = defaults


def _asks_for_json(words: Sequence[str]) -> bool:
    """Whether errors, even parse errors, should be JSON: a quick look before parsing."""
    pairs = zip(words, [*words[1:], ""][: len(words)], strict=True)
    flagged = any(
        (word in {"-o", "--output"} and following == "json") or word in {"--output=json", "-ojson"}
        for word, following in pairs
    )
    return flagged or os.environ.get("LD_OUTPUT") == "json"
