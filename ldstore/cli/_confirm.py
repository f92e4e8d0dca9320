"""Asking before a destructive step, the way gh does: on a terminal ask, else require --yes."""

from __future__ import annotations

import enum
import sys
from typing import TextIO

from ldstore.text import printable

__all__ = ["Answer", "confirm"]


class Answer(enum.Enum):
    """What came of asking; the caller maps it to an exit code."""

    YES = "yes"  # go ahead: --yes was given, or the person typed yes
    DECLINED = "declined"  # the person said no (or EOF): nothing is sent
    NOT_A_TERMINAL = "not-a-terminal"  # nobody to ask and no --yes: refuse (exit 2)


def confirm(
    question: str,
    *,
    assume_yes: bool,
    stdin: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Answer:
    """Ask ``question`` (shown on stderr, ending in ``[y/N]``) unless ``assume_yes``.

    Only a terminal on both ends is asked: a script piping into ldstore must say
    ``--yes`` rather than have a stray line of input taken as consent.
    """
    if assume_yes:
        return Answer.YES
    reader: TextIO = sys.stdin if stdin is None else stdin
    writer: TextIO = sys.stderr if stderr is None else stderr
    if not (reader.isatty() and writer.isatty()):
        return Answer.NOT_A_TERMINAL
    _ = writer.write(f"{printable(question)} [y/N] ")
    writer.flush()
    reply = reader.readline()
    if not reply.endswith("\n"):  # EOF (Ctrl-D): end the prompt line ourselves
        _ = writer.write("\n")
    return Answer.YES if reply.strip().lower() in {"y", "yes"} else Answer.DECLINED
