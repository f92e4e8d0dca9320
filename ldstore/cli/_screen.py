"""How the tour of ``ldstore demo`` writes: lines that fit ``WIDTH`` columns, bold and dim
only for a person at a terminal, and text from the account shown escaped."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Sequence

import attrs

from ldstore.cli._demo import WIDTH
from ldstore.text import printable

__all__ = ["INDENT", "Out", "emphasis"]

INDENT = "   "
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def emphasis() -> bool:
    """Bold and dim only for a person at a terminal that wants them (https://no-color.org)."""
    return (
        sys.stdout.isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM", "") != "dumb"
    )


@attrs.frozen
class Out:
    """Writes the tour: every line fits ``WIDTH`` columns; emphasis only when asked for."""

    emphasis: bool

    def _emit(self, lines: Sequence[str], style: str = "") -> None:
        for line in lines:
            for piece in map(printable, _fit(line)):  # a name from --live's account, say
                shown = f"{style}{piece}{_RESET}" if style and self.emphasis and piece else piece
                _ = sys.stdout.write(f"{shown}\n")
        _ = sys.stdout.flush()

    def blank(self) -> None:
        self._emit([""])

    def prose(self, text: str, indent: str = "") -> None:
        """A paragraph, wrapped."""
        self._emit(
            textwrap.wrap(
                text,
                WIDTH,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
        )

    def heading(self, text: str) -> None:
        self.blank()
        self._emit([text], _BOLD)

    def note(self, text: str) -> None:
        """A remark beside the output: dim, so the calls and results stand out."""
        self._emit(
            textwrap.wrap(text, WIDTH, initial_indent=INDENT, subsequent_indent=INDENT),
            _DIM,
        )

    def shell(self, command: str) -> None:
        """The ``ldstore`` command that does the step, as ``$ ...`` lines."""
        first, *rest = command.strip().splitlines()
        self._emit([f"{INDENT}$ {first}", *(f"{INDENT}  {line}" for line in rest)])

    def python(self, code: str) -> None:
        """The Python call, as ``>>>``/``...`` lines."""
        self._emit(
            [
                f"{INDENT}{'...' if line[:1].isspace() else '>>>'} {line}"
                for line in code.strip().splitlines()
            ]
        )

    def result(self, text: str) -> None:
        """What came back, under the call."""
        self._emit([f"{INDENT}{line}" for line in text.splitlines()])


def _fit(line: str) -> list[str]:
    """``line`` cut to ``WIDTH`` columns: a long name or URL given with --live wraps."""
    if len(line) <= WIDTH:
        return [line]
    indent = line[: len(line) - len(line.lstrip())] + "    "
    return textwrap.wrap(
        line,
        WIDTH,
        subsequent_indent=indent,
        break_on_hyphens=False,
        drop_whitespace=True,
    )
