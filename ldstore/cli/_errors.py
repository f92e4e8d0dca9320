"""How the command line fails: exit codes, redaction, and one error line (or JSON object)."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ldstore.text import printable
from ldstore.text import redact as redact_secrets

if TYPE_CHECKING:  # the SDK's errors load when an error is reported: not for --version
    from ldstore.errors import ConnectionFailedError, LDStoreError, StatusConflictError

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_CODES_HELP",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK",
    "EXIT_NOT_READY",
    "EXIT_OK",
    "EXIT_USAGE",
    "TESTING_EXTRA_MISSING",
    "GaveUpError",
    "UsageError",
    "cannot_connect",
    "error_line",
    "exit_code",
    "fail",
    "json_errors",
    "redact",
    "remember_secret",
    "report",
    "use_json_errors",
    "where",
]

EXIT_OK = 0
EXIT_API_ERROR = 1  # the server refused: an HTTP error status, or an answer off the schema
EXIT_USAGE = 2  # bad flags or input, an invalid store config, no access token
EXIT_NETWORK = 3  # connection refused or lost, timeout
EXIT_NOT_READY = 4  # `wait` gave up before the store was available
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    the server refused the request (HTTP 4xx/5xx) or answered off the schema
  2    usage: bad flags or input, invalid store config, no access token, a refused
       confirmation
  3    network: connection refused or lost, timeout
  4    not ready: `wait` gave up before the store was available
  130  interrupted (Ctrl-C)"""

TESTING_EXTRA_MISSING = "the fake server needs the testing extra: pip install 'ldstore[testing]'"

_SECRETS: set[str] = set()  # tokens this process uses: never written out, not even in logs
_MIN_SECRET = 8
_JSON = [False]  # whether errors are JSON objects (--output json); set once by main


_REASONS = (
    (re.compile(r"refused|connect call failed", re.IGNORECASE), "connection refused"),
    (re.compile(r"timed out|timeout", re.IGNORECASE), "timed out"),
    (
        re.compile(r"name or service|nodename|getaddrinfo|name resolution", re.IGNORECASE),
        "unknown host",
    ),
    (re.compile(r"unreachable", re.IGNORECASE), "network unreachable"),
)


class UsageError(Exception):
    """Bad flags or input, found before anything was sent: one line on stderr, exit 2."""


class GaveUpError(Exception):
    """The CLI's own budget for a server it never reached ran out; carries the last error."""

    def __init__(self, error: LDStoreError) -> None:
        super().__init__(str(error))
        self.error = error


def use_json_errors(on: bool) -> None:  # noqa: FBT001 - one switch
    """Report errors as ``{"error": {...}}`` objects on stderr (``--output json``)."""
    _JSON[0] = on


def json_errors() -> bool:
    """Whether errors are reported as JSON objects."""
    return _JSON[0]


def remember_secret(value: str) -> None:
    """Never write ``value`` out: every error and log line replaces it."""
    # Access tokens are long; replacing a one-letter test token everywhere would garble
    # every message while protecting nothing.
    if len(value) >= _MIN_SECRET:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every spelling of every secret this process knows of masked."""
    return redact_secrets(text, _SECRETS)


def exit_code(error: LDStoreError) -> int:
    """The documented exit code for an error value."""
    from ldstore.errors import InputValidationError, NetworkError  # noqa: PLC0415

    match error:
        case NetworkError():
            return EXIT_NETWORK
        case InputValidationError():
            return EXIT_USAGE
        case _:
            return EXIT_API_ERROR


def report(message: str, *, kind: str = "UsageError", error: LDStoreError | None = None) -> None:
    """Write one ``ldstore: error: <message>`` line, or its JSON object, to stderr.

    The JSON object is ``ldstore.wire.error_to_wire``'s, as ``ldstore mcp`` reports it,
    with this line's (redacted) message; every field of it is redacted too. The line shows
    control characters escaped (``ldstore.text.printable``): a server's message cannot
    move the cursor, clear the screen or forge a second line.
    """
    text = " ".join(message.split())
    if not _JSON[0]:
        _ = sys.stderr.write(f"ldstore: error: {printable(redact(text))}\n")
        _ = sys.stderr.flush()
        return
    fields: dict[str, object] = {
        "status": None,
        "code": None,
        "id": None,
        "retry_after": None,
        "field": None,
    }
    if error is not None:
        from ldstore.wire import error_to_wire  # noqa: PLC0415 - loads the models

        fields.update(error_to_wire(error))
    fields.update(kind=kind, message=text)
    # Every value redacted, not the dumped text: a secret that happens to spell a key or
    # a piece of JSON syntax must not break the object.
    shown = {
        key: redact(value) if isinstance(value, str) else value for key, value in fields.items()
    }
    _ = sys.stderr.write(json.dumps({"error": shown}) + "\n")
    _ = sys.stderr.flush()


def error_line(message: str) -> None:
    """Report a usage problem: ``ldstore: error: <message>`` (or JSON) on stderr."""
    report(message)


def fail(error: LDStoreError) -> int:
    """Report ``error`` on one stderr line (or as JSON) and return its exit code."""
    from ldstore.errors import ConnectionFailedError  # noqa: PLC0415

    text = cannot_connect(error) if isinstance(error, ConnectionFailedError) else str(error)
    report(f"{text}{_hint(error)}", kind=type(error).__name__, error=error)
    return exit_code(error)


def where(url: str) -> str:
    """``host:port`` of ``url`` (the scheme's default port if none is given)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the server"
    return f"{parts.hostname}:{port}"


def cannot_connect(error: ConnectionFailedError) -> str:
    """``cannot connect to HOST:PORT (connection refused)``, without aiohttp's details.

    A reason ldstore cannot name keeps the transport's own message instead.
    """
    reason = next((why for pattern, why in _REASONS if pattern.search(error.message)), None)
    if reason is None:
        return str(error)
    return f"cannot connect to {where(error.url)} ({reason})"


def _hint(error: LDStoreError) -> str:
    from ldstore.errors import (  # noqa: PLC0415
        APIError,
        RateLimitedError,
        StatusConflictError,
        UnauthorizedError,
    )

    match error:
        case UnauthorizedError():
            return "; check LD_ACCESS_TOKEN or --access-token"
        case StatusConflictError() if _names_a_duplicate(error):
            return "; that name is taken in this environment: pick another name (--name)"
        case StatusConflictError():
            return "; it changed meanwhile: re-read it (ldstore get), then retry"
        case RateLimitedError(retry_after=float() as wait):
            return f"; retry in {wait:.0f} s"
        case APIError(status_code=403):
            return "; the token's role may lack permission"
        case _:
            return ""


def _names_a_duplicate(error: StatusConflictError) -> bool:
    """Whether a 409 is about the name (not a lost update): the server's words say so."""
    if error.code == "optimistic_locking_error":
        return False
    text = error.message.lower()
    return "name" in text and ("exists" in text or "taken" in text or "duplicate" in text)
