"""Around ``confirm``: whether there is someone to ask, and the line when nothing was sent."""

from __future__ import annotations

import sys

from ldstore.cli._confirm import Answer
from ldstore.cli._errors import EXIT_USAGE, error_line, json_errors, report

__all__ = ["on_a_terminal", "refused"]


def on_a_terminal() -> bool:
    """Whether ``confirm`` would ask: a terminal on both stdin and stderr."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def refused(answer: Answer, what: str, *, undone: str = "nothing was sent") -> int:
    """Say why nothing was done and return exit code 2 (a refused confirmation).

    No terminal and no --yes is an error (the script must say --yes); a person's "no" is
    not: ``<what> cancelled: <undone>`` on stderr, without the word error (as JSON, with
    ``--output json``, whose stderr holds only objects).
    """
    if answer is Answer.NOT_A_TERMINAL:
        error_line(f"{what} needs --yes when not run on a terminal; nothing was sent")
    elif json_errors():
        report(f"{what} cancelled: {undone}", kind="Declined")
    else:
        _ = sys.stderr.write(f"ldstore: {what} cancelled: {undone}\n")
    return EXIT_USAGE
