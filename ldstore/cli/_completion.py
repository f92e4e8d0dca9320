"""``ldstore completion SHELL``: a completion script for every command and flag, via shtab."""

from __future__ import annotations

import argparse
import sys

from ldstore.cli._errors import EXIT_OK, EXIT_USAGE, error_line
from ldstore.cli._options import Subparsers

__all__ = ["register"]

_SHELLS = ("bash", "zsh", "fish")


def register(subparsers: Subparsers) -> None:
    """Add the ``completion`` subcommand."""
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for every ldstore command and flag, "
        "generated from the parser by shtab. Needs the completion extra: "
        "pip install 'ldstore[completion]'.",
        epilog="""\
examples:
  ldstore completion bash > ~/.local/share/bash-completion/completions/ldstore
  ldstore completion zsh > "${fpath[1]}/_ldstore"
  ldstore completion fish > ~/.config/fish/completions/ldstore.fish""",
    )
    _ = parser.add_argument("shell", choices=_SHELLS, help="the shell to complete in")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        import shtab  # noqa: PLC0415 - an optional extra, kept out of every other command
    except ModuleNotFoundError:
        error_line("completion needs the completion extra: pip install 'ldstore[completion]'")
        return EXIT_USAGE
    root: argparse.ArgumentParser = args.ldstore_root
    # Written as generated: a script of ldstore's own making, not text from a server.
    _ = sys.stdout.write(shtab.complete(root, shell=args.shell).rstrip("\n") + "\n")
    return EXIT_OK
