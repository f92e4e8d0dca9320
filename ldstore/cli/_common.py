"""What every subcommand shares: exit codes, options, the Core, one-line errors and output."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import textwrap
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeAlias, cast
from urllib.parse import urlsplit

import attrs

from ldstore import _codec
from ldstore.core import SERVERS, Core, RetryConfig
from ldstore.errors import (
    APIError,
    InputValidationError,
    LDStoreError,
    NetworkError,
    RateLimitedError,
    StatusConflictError,
    UnauthorizedError,
)
from ldstore.models import (
    BigSegmentStoreIntegration,
    BigSegmentStoreIntegrationCollection,
    IntegrationKey,
)
from ldstore.result import Err, Ok, Result

if sys.version_info >= (3, 11):
    import tomllib

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_CODES_HELP",
    "EXIT_NETWORK",
    "EXIT_NOT_READY",
    "EXIT_OK",
    "EXIT_USAGE",
    "INTEGRATION_KEYS",
    "TESTING_EXTRA_MISSING",
    "Subparsers",
    "UsageError",
    "add_command",
    "add_connection_options",
    "add_integration_options",
    "emit",
    "error_line",
    "exit_code",
    "fail",
    "logging_to_stderr",
    "make_core",
    "redact",
    "render_integration",
    "render_table",
    "resolve_connection",
    "write",
]

EXIT_OK = 0
EXIT_API_ERROR = 1  # the server refused: an HTTP error status, or an answer off the schema
EXIT_USAGE = 2  # bad flags or input, an invalid store config, no access token
EXIT_NETWORK = 3  # connection refused or lost, timeout
EXIT_NOT_READY = 4  # `wait` gave up before the store was available

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    the server refused the request (HTTP 4xx/5xx) or answered off the schema
  2    usage: bad flags or input, invalid store config, no access token
  3    network: connection refused or lost, timeout
  4    not ready: `wait` gave up before the store was available
  130  interrupted (Ctrl-C)"""

ENVIRONMENT_HELP = """\
environment:
  LD_ACCESS_TOKEN  the access token (API access token, not an SDK key)
  LD_BASE_URI      the API's base URL (default https://app.launchdarkly.com)
  LDSTORE_CONFIG   a TOML file with access-token, base-uri or federal = true
                   (default $XDG_CONFIG_HOME/ldstore/config.toml); flags win over
                   the environment, which wins over the file"""

INTEGRATION_KEYS = tuple(key.value for key in IntegrationKey)
TESTING_EXTRA_MISSING = "the fake server needs the testing extra: pip install 'ldstore[testing]'"
DEFAULT_RETRY_BUDGET = 30.0  # outlasts LaunchDarkly's 10-second rate-limit window

# The type checkers know argparse's subparsers action only by its private name.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]

_SECRETS: set[str] = set()  # tokens this process uses: never written out, not even in logs
_MIN_SECRET = 8
_LOG = logging.getLogger("ldstore")
_CONFIG_KEYS = frozenset({"access-token", "base-uri", "federal"})


class UsageError(Exception):
    """Bad flags or input, found before anything was sent: one line on stderr, exit 2."""


# Options.


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        msg = f"expected a positive number of seconds, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        msg = f"expected seconds (0 or more), not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The global options; ``suppress`` leaves absent ones unset (for subcommand parsers).

    A subcommand's parser writes all its defaults over what the main parser parsed, so
    the copy on a subcommand parser must not have defaults: then ``ldstore --debug list``
    and ``ldstore list --debug`` both work.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection and output")
    _ = group.add_argument(
        "--access-token",
        metavar="TOKEN",
        default=default(None),
        help="LaunchDarkly access token (default: $LD_ACCESS_TOKEN); prefer the "
        "variable, as other users can see a process's flags",
    )
    _ = group.add_argument(
        "--base-uri",
        metavar="URL",
        default=default(None),
        help="API base URL (default: $LD_BASE_URI, else https://app.launchdarkly.com)",
    )
    _ = group.add_argument(
        "--federal",
        action="store_true",
        default=default(False),  # noqa: FBT003 - argparse's default for a flag
        help="use LaunchDarkly's federal instance, https://app.launchdarkly.us",
    )
    _ = group.add_argument(
        "--timeout",
        type=positive_seconds,
        metavar="SECONDS",
        default=default(None),
        help="give up on one attempt after this long (default: 30)",
    )
    _ = group.add_argument(
        "--retry-budget",
        type=seconds,
        metavar="SECONDS",
        default=default(None),
        help="retry 429s, 5xx and failed connections for this long in all "
        f"(default: {DEFAULT_RETRY_BUDGET:g}; 0 makes one attempt)",
    )
    _ = group.add_argument(
        "-o",
        "--output",
        choices=("table", "json"),
        default=default("table"),
        help="table: for people (default); json: the API's own JSON",
    )
    _ = group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default(False),  # noqa: FBT003 - argparse's default for a flag
        help="print only integration IDs, one a line (wins over --output); no retry notices",
    )
    _ = group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),  # noqa: FBT003 - argparse's default for a flag
        help="log each HTTP exchange to stderr (the token is never shown)",
    )


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Add the global options to a subcommand's parser; they also work before its name."""
    connection_options(parser, suppress=True)


def add_integration_options(
    parser: argparse.ArgumentParser, *, with_id: bool, required: bool = True
) -> None:
    """``--project``, ``--environment``, ``--integration`` (and ``--integration-id``).

    The flag names are those of LaunchDarkly's own CLI; ``required=False`` makes them
    optional (filters, for ``list``).
    """
    group = parser.add_argument_group("integration")
    _ = group.add_argument("--project", metavar="KEY", required=required, help="project key")
    _ = group.add_argument(
        "--environment", metavar="KEY", required=required, help="environment key"
    )
    _ = group.add_argument(
        "--integration",
        "--integration-key",
        dest="integration",
        choices=INTEGRATION_KEYS,
        required=required,
        help="the store kind",
    )
    if with_id:
        _ = group.add_argument(
            "--integration-id",
            metavar="ID",
            required=required,
            help="the integration's ID (`ldstore list --quiet` prints them)",
        )


def add_command(
    subparsers: Subparsers,
    name: str,
    *,
    summary: str,
    description: str | None = None,
    examples: str = "",
) -> argparse.ArgumentParser:
    """A subcommand's parser, with the global options and ``examples`` in its epilog."""
    paragraphs = (description or summary).split("\n\n")
    parser = subparsers.add_parser(
        name,
        help=summary,
        description="\n\n".join(textwrap.fill(paragraph, 80) for paragraph in paragraphs),
        epilog=f"examples:\n{examples.rstrip()}" if examples else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_options(parser)
    return parser


# The Core.


@attrs.frozen
class Connection:
    """Where the calls go and with which token, from flags, then environment, then file."""

    token: str | None = attrs.field(repr=False)
    token_source: str
    base_uri: str | None
    federal: bool

    @property
    def explicit(self) -> bool:
        """Whether the user named a server (``--base-uri``, ``LD_BASE_URI``, ``--federal``...)."""
        return self.base_uri is not None or self.federal


def _first(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
    """The first non-empty value, with where it came from."""
    for value, source in candidates:
        if value:
            return value, source
    return None, "nowhere"


def resolve_connection(args: argparse.Namespace) -> Connection:
    """The token and server the user asked for; raises ``UsageError`` for a bad config file."""
    settings = _config_file()
    path, _ = config_path()
    token, token_source = _first(
        (getattr(args, "access_token", None), "--access-token"),
        (os.environ.get("LD_ACCESS_TOKEN"), "LD_ACCESS_TOKEN"),
        (_text_setting(settings, "access-token"), str(path)),
    )
    base_uri, _ = _first(
        (getattr(args, "base_uri", None), "--base-uri"),
        (os.environ.get("LD_BASE_URI"), "LD_BASE_URI"),
        (_text_setting(settings, "base-uri"), str(path)),
    )
    federal = bool(getattr(args, "federal", False)) or settings.get("federal") is True
    if token is not None:
        _remember_secret(token)
    return Connection(token=token, token_source=token_source, base_uri=base_uri, federal=federal)


def make_core(args: argparse.Namespace) -> Core:
    """A Core for the options in ``args``; raises ``UsageError`` with no token or a bad URL.

    Use it as ``async with make_core(args) as core:``: the Core closes its session.
    """
    connection = resolve_connection(args)
    if connection.token is None:
        msg = "no access token: set LD_ACCESS_TOKEN or pass --access-token"
        raise UsageError(msg)
    if connection.base_uri is not None:
        _check_url(connection.base_uri)
    budget = getattr(args, "retry_budget", None)
    budget = DEFAULT_RETRY_BUDGET if budget is None else float(budget)
    timeout = getattr(args, "timeout", None)
    timeout = 30.0 if timeout is None else float(timeout)
    try:
        core = Core(
            connection.token,
            server="federal" if connection.federal else "commercial",
            server_url=connection.base_uri,
            timeout=timeout,
            retry_config=RetryConfig.none()
            if budget == 0
            else RetryConfig(max_elapsed_time=budget),
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    _LOG.debug(
        "server %s, token from %s, timeout %gs per attempt, retries for %gs",
        core.base_url,
        connection.token_source,
        timeout,
        budget,
    )
    return core


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        msg = f"the base URI must be an http(s) URL such as {SERVERS['commercial']}, not {url!r}"
        raise UsageError(msg)


def config_path() -> tuple[Path, bool]:
    """The config file, and whether the user named it (then it must exist)."""
    named = os.environ.get("LDSTORE_CONFIG")
    if named:
        return Path(named).expanduser(), True
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ldstore" / "config.toml", False


def _config_file() -> Mapping[str, object]:
    path, named = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            msg = f"LDSTORE_CONFIG names {path}, which does not exist"
            raise UsageError(msg) from None
        return {}
    except OSError as error:
        msg = f"cannot read the config file {path}: {error.strerror}"
        raise UsageError(msg) from None
    if sys.version_info < (3, 11):
        msg = f"reading the config file {path} needs Python 3.11 or newer"
        raise UsageError(msg)
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        msg = f"the config file {path} is not valid TOML: {error}"
        raise UsageError(msg) from None
    unknown = sorted(set(settings) - _CONFIG_KEYS)
    if unknown:
        msg = f"the config file {path} has unknown keys {unknown} (known: {sorted(_CONFIG_KEYS)})"
        raise UsageError(msg)
    return settings


def _text_setting(settings: Mapping[str, object], key: str) -> str | None:
    value = settings.get(key)
    if value is None or isinstance(value, str):
        return value
    msg = f"{key} in the config file must be a string"
    raise UsageError(msg)


# Errors.


def redact(text: str) -> str:
    """``text`` with every token this process uses replaced."""
    for secret in _SECRETS:
        text = text.replace(secret, "[redacted]")
    return text


def _remember_secret(token: str) -> None:
    # Access tokens are long; replacing a one-letter test token everywhere would garble
    # every message while protecting nothing.
    if len(token) >= _MIN_SECRET:
        _SECRETS.add(token)


def exit_code(error: LDStoreError) -> int:
    """The documented exit code for an error value."""
    match error:
        case NetworkError():
            return EXIT_NETWORK
        case InputValidationError():
            return EXIT_USAGE
        case _:
            return EXIT_API_ERROR


def error_line(message: str) -> None:
    """Write ``ldstore: error: <message>`` to stderr as one line."""
    _ = sys.stderr.write(f"ldstore: error: {redact(' '.join(message.split()))}\n")
    _ = sys.stderr.flush()


def fail(error: LDStoreError) -> int:
    """Report ``error`` on one stderr line and return its exit code."""
    error_line(f"{error}{_hint(error)}")
    return exit_code(error)


def finish(args: argparse.Namespace, result: Result[object, LDStoreError]) -> int:
    """Print an ``Ok``'s value as asked and return 0, or report an ``Err``'s error."""
    match result:
        case Ok(value):
            emit(args, value)
            return EXIT_OK
        case Err(error):
            return fail(error)


def _hint(error: LDStoreError) -> str:
    match error:
        case UnauthorizedError():
            return "; check LD_ACCESS_TOKEN or --access-token"
        case StatusConflictError():
            return (
                "; it changed meanwhile or the name is taken: re-read it (ldstore get), then retry"
            )
        case RateLimitedError(retry_after=float() as wait):
            return f"; retry in {wait:.0f} s"
        case APIError(status_code=403):
            return "; the token's role may lack permission"
        case _:
            return ""


# Output.


def write(text: str = "") -> None:
    """One or more lines on stdout."""
    _ = sys.stdout.write(f"{text}\n")


def emit(args: argparse.Namespace, value: object) -> None:
    """Print a result as ``--output`` and ``--quiet`` ask.

    json: the API's own wire shape (``_id``, ``_links``, ``integrationKey``...); quiet: the
    IDs, one a line; table: a table for collections, a key/value view for one integration.
    """
    items = _integrations(value)
    if getattr(args, "quiet", False):
        for integration in items or ():
            write(integration.id)
    elif getattr(args, "output", "table") == "json":
        write(json.dumps(_codec.converter.unstructure(value), indent=2))
    elif isinstance(value, BigSegmentStoreIntegration):
        write(render_integration(value))
    elif items is not None:
        if items:
            write(render_table(items))
        else:
            _ = sys.stderr.write("ldstore: no integrations found\n")
    else:
        write(json.dumps(_codec.converter.unstructure(value), indent=2))


def _integrations(value: object) -> Sequence[BigSegmentStoreIntegration] | None:
    if isinstance(value, BigSegmentStoreIntegration):
        return (value,)
    if isinstance(value, BigSegmentStoreIntegrationCollection):
        return value.items
    if isinstance(value, (list, tuple)):
        values = cast("Sequence[object]", value)
        found = [item for item in values if isinstance(item, BigSegmentStoreIntegration)]
        if len(found) == len(values):
            return found
    return None


def _yes_no(value: bool | None) -> str:  # noqa: FBT001 - a formatter
    return "-" if value is None else "yes" if value else "no"


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _scalar(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render_table(items: Iterable[BigSegmentStoreIntegration]) -> str:
    """The integrations as aligned columns with a header row."""
    header = ("ID", "PROJECT", "ENVIRONMENT", "STORE", "NAME", "ON", "AVAILABLE", "VERSION")
    rows = [
        (
            item.id,
            item.project_key,
            item.environment_key,
            str(item.integration_key),
            item.name,
            _yes_no(item.on),
            _yes_no(item.status.available),
            str(item.version),
        )
        for item in items
    ]
    return _columns([header, *rows])


def _columns(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def render_integration(integration: BigSegmentStoreIntegration) -> str:
    """One integration as a key/value view, its config included (secrets come masked)."""
    status = integration.status
    fields: list[tuple[str, str]] = [
        ("ID", integration.id),
        ("Name", integration.name),
        ("Project", integration.project_key),
        ("Environment", integration.environment_key),
        ("Store", str(integration.integration_key)),
        ("On", _yes_no(integration.on)),
        ("Tags", ", ".join(integration.tags) or "-"),
        ("Version", str(integration.version)),
        ("Available", _yes_no(status.available)),
        ("Potentially stale", _yes_no(status.potentially_stale)),
        ("Last sync", _when(status.last_sync)),
        ("Last error", _when(status.last_error)),
    ]
    width = max(len(label) for label, _ in fields) + 2
    lines = [f"{label + ':':<{width}}{text}" for label, text in fields]
    for error in status.errors or ():
        code = "" if error.status_code is None else f" HTTP {error.status_code}"
        lines.append(f"{'Error:':<{width}}{_when(error.timestamp)}{code} {error.message or ''}")
    if integration.config is not None:
        config: Mapping[str, Any] = integration.config
        lines.append("Config:")
        key_width = max((len(key) for key in config), default=0) + 2
        lines.extend(f"  {key + ':':<{key_width}}{_scalar(config[key])}" for key in config)
    return "\n".join(lines)


# Logging.


class _Formatter(logging.Formatter):
    """``ldstore: <message>``, with the level when debugging; tokens redacted."""

    def __init__(self, *, debug: bool) -> None:
        super().__init__("%(message)s")
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname.lower()}: " if self.debug else ""
        return redact(f"ldstore: {level}{super().format(record)}")


@contextlib.contextmanager
def logging_to_stderr(args: argparse.Namespace) -> Generator[None, None, None]:
    """Send the ``ldstore`` logger to stderr: retry notices, and each exchange with --debug.

    The logger is restored on exit, so ``main()`` can run inside another program.
    """
    debug = bool(getattr(args, "debug", False))
    quiet = bool(getattr(args, "quiet", False))
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
