"""Around ``confirm``: whether there is someone to ask, and the line when nothing was sent."""

from __future__ import annotations

import sys

from ldstore.cli._confirm import Answer
from ldstore.cli._errors import EXIT_USAGE, error_line

__all__ = ["on_a_terminal", "refused"]


def on_a_terminal() -> bool:
    """Whether ``confirm`` would ask: a terminal on both stdin and stderr."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def refused(answer: Answer, what: str) -> int:
    """Say why nothing was sent (no terminal and no --yes, or a "no"); exit code 2."""
    if answer is Answer.NOT_A_TERMINAL:
        error_line(f"{what} needs --yes when not run on a terminal; nothing was sent")
    else:
        error_line(f"{what} cancelled; nothing was sent")
    return EXIT_USAGE
