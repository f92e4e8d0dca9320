"""The ``ldstore`` logger on stderr: one short line per retry, each exchange with --debug."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Generator, Mapping
from typing import Any

from ldstore.cli._core import attempts_left_unreached
from ldstore.cli._errors import cannot_connect, redact, where
from ldstore.errors import (
    APIError,
    ConnectionFailedError,
    LDStoreError,
    NetworkError,
    RequestTimeoutError,
)
from ldstore.text import printable

__all__ = ["logging_to_stderr", "retry_line"]

_LOG = logging.getLogger("ldstore")


def retry_line(retry: Mapping[str, Any]) -> str:
    """``cannot connect to HOST:PORT (why); retrying in 1.2 s (attempt 2 of 4)``."""
    error: object = retry.get("error")
    attempt = int(retry.get("attempt", 1)) + 1
    wait = float(retry.get("wait", 0.0))
    limit: object = retry.get("max_attempts")
    if isinstance(error, ConnectionFailedError):
        what = _shorten(cannot_connect(error))
        limit = attempts_left_unreached() or limit
    elif isinstance(error, APIError):
        what = f"the server answered HTTP {error.status_code}" + (
            f" {error.code}" if error.code else ""
        )
    elif isinstance(error, RequestTimeoutError):
        what = f"no answer in time from {where(error.url)}"
    elif isinstance(error, NetworkError):
        what = f"connection lost with {where(error.url)}"
    elif isinstance(error, LDStoreError):
        what = _shorten(" ".join(str(error).split()))
    else:
        what = "the attempt failed"
    of = f" of {limit}" if isinstance(limit, int) else ""
    return f"{what}; retrying in {wait:.1f} s (attempt {attempt}{of})"


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


class _Formatter(logging.Formatter):
    """``ldstore: <message>``, with the level when debugging; tokens redacted.

    One record is one line: the message, its arguments included (a server's error text, a
    name, a URL), is shown :func:`~ldstore.text.printable`, so a CR or LF from a server
    cannot forge a second log line and an escape sequence cannot reach the terminal. A
    traceback (``--debug``) follows on lines of its own, each escaped the same way.
    """

    def __init__(self, *, debug: bool) -> None:
        super().__init__("%(message)s")
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname.lower()}: " if self.debug else ""
        retry: object = getattr(record, "ldstore_retry", None)
        if isinstance(retry, dict) and not self.debug:
            text = retry_line(retry)  # pyright: ignore[reportUnknownArgumentType]
        else:
            text = record.getMessage()
        lines = [f"ldstore: {level}{text}"]
        if record.exc_info:
            lines.extend(self.formatException(record.exc_info).splitlines())
        if record.stack_info:
            lines.extend(self.formatStack(record.stack_info).splitlines())
        return "\n".join(printable(redact(line)) for line in lines)


@contextlib.contextmanager
def logging_to_stderr(args: argparse.Namespace) -> Generator[None, None, None]:
    """Send the ``ldstore`` logger to stderr: retry notices, and each exchange with --debug.

    The logger is restored on exit, so ``main()`` can run inside another program.
    """
    debug = bool(getattr(args, "debug", False))
    # --quiet, and --output json (stderr holds only the error object): no retry notices.
    quiet = bool(getattr(args, "quiet", False)) or getattr(args, "output", None) == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(debug=debug))
    level, propagate = _LOG.level, _LOG.propagate
    _LOG.addHandler(handler)
    _LOG.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    _LOG.propagate = False  # our handler says it all; an application's root handler would repeat it
    try:
        yield
    finally:
        _LOG.removeHandler(handler)
        _LOG.setLevel(level)
        _LOG.propagate = propagate
