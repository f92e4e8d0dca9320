"""What the command line prints on stdout: tables, one integration's view, or wire JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from ldstore.cli._errors import EXIT_OK, fail
from ldstore.models import BigSegmentStoreIntegration, BigSegmentStoreIntegrationCollection
from ldstore.result import Err, Ok, Result
from ldstore.text import printable, printable_lines

if TYPE_CHECKING:  # an error, when there is one, has already loaded it
    from ldstore.errors import LDStoreError

__all__ = [
    "emit",
    "finish",
    "integration_label",
    "note",
    "render_integration",
    "render_table",
    "say_which_defaults",
    "when",
    "write",
    "yes_no",
]


def write(text: str = "") -> None:
    """One or more lines on stdout, every character but the newlines ldstore meant shown
    printable (``ldstore.text.printable_lines``).

    The last guard: fields from a server are already escaped one by one (so a newline in a
    name cannot start a row). ``--output json`` passes unchanged: ``json.dumps`` escapes
    every control and non-ASCII character itself, leaving only the indent's newlines.
    """
    _ = sys.stdout.write(f"{printable_lines(text)}\n")


def note(text: str) -> None:
    """One ``ldstore: <text>`` line on stderr (not an error), control characters escaped."""
    _ = sys.stderr.write(f"ldstore: {printable(text)}\n")


def say_which_defaults(args: argparse.Namespace, *, how: str, hint: str) -> None:
    """One stderr line when a default (``LD_PROJECT``/``LD_ENVIRONMENT`` or the config
    file), not a flag, chose ``--project`` or ``--environment``: which, and where from
    (``filtered by environment=production (config file); --all to see every one``).
    Nothing for scripts: ``-q`` or ``-o json``."""
    if getattr(args, "quiet", False) or getattr(args, "output", "table") == "json":
        return
    defaults: dict[str, str] = getattr(args, "ldstore_defaults", {})
    if defaults:
        which = ", ".join(
            f"{key}={getattr(args, key)} ({source})" for key, source in defaults.items()
        )
        note(f"{how} {which}; {hint}")


def emit(args: argparse.Namespace, value: object) -> None:
    """Print a result as ``--output`` and ``--quiet`` ask.

    json: the API's own wire shape (``_id``, ``_links``, ``integrationKey``...); quiet: the
    IDs, one a line; table: a table for collections, a key/value view for one integration.
    """
    from ldstore.wire import to_wire  # noqa: PLC0415 - the codec (cattrs) is not for --help

    items = _integrations(value)
    if getattr(args, "quiet", False):
        for integration in items or ():
            write(printable(integration.id))
    elif getattr(args, "output", "table") == "json":
        write(json.dumps(to_wire(value), indent=2))
    elif isinstance(value, BigSegmentStoreIntegration):
        write(render_integration(value))
    elif items is not None:
        if items:
            write(render_table(items))
        else:
            note("no integrations found")
    else:
        write(json.dumps(to_wire(value), indent=2))


def finish(args: argparse.Namespace, result: Result[object, LDStoreError]) -> int:
    """Print an ``Ok``'s value as asked and return 0, or report an ``Err``'s error."""
    match result:
        case Ok(value):
            emit(args, value)
            return EXIT_OK
        case Err(error):
            return fail(error)


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


def yes_no(value: bool | None) -> str:  # noqa: FBT001 - a formatter
    """``yes``, ``no``, or ``-`` for unknown."""
    return "-" if value is None else "yes" if value else "no"


def when(value: datetime | None) -> str:
    """A UTC timestamp to the second (``2026-01-02T03:04:05Z``), or ``-``."""
    if value is None:
        return "-"
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _scalar(value: object) -> str:
    return printable(value) if isinstance(value, str) else json.dumps(value)


def render_table(items: Iterable[BigSegmentStoreIntegration]) -> str:
    """The integrations as aligned columns with a header row."""
    header = ("ID", "PROJECT", "ENVIRONMENT", "STORE", "NAME", "ON", "AVAILABLE", "VERSION")
    rows = [
        (
            printable(item.id),
            printable(item.project_key),
            printable(item.environment_key),
            printable(str(item.integration_key)),
            printable(item.name),
            yes_no(item.on),
            yes_no(item.status.available),
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
    """One integration as a key/value view, its config included (secrets come masked).

    Every text from the server is shown :func:`~ldstore.text.printable`.
    """
    status = integration.status
    fields: list[tuple[str, str]] = [
        ("ID", printable(integration.id)),
        ("Name", printable(integration.name)),
        ("Project", printable(integration.project_key)),
        ("Environment", printable(integration.environment_key)),
        ("Store", printable(str(integration.integration_key))),
        ("On", yes_no(integration.on)),
        ("Tags", printable(", ".join(integration.tags)) or "-"),
        ("Version", str(integration.version)),
        ("Available", yes_no(status.available)),
        ("Potentially stale", yes_no(status.potentially_stale)),
        ("Last sync", when(status.last_sync)),
        ("Last error", when(status.last_error)),
    ]
    width = max(len(label) for label, _ in fields) + 2
    lines = [f"{label + ':':<{width}}{text}" for label, text in fields]
    for error in status.errors or ():
        code = "" if error.status_code is None else f" HTTP {error.status_code}"
        message = printable(error.message or "")
        lines.append(f"{'Error:':<{width}}{when(error.timestamp)}{code} {message}")
    if integration.config is not None:
        config: Mapping[str, Any] = integration.config
        lines.append("Config:")
        keys = {key: printable(key) for key in config}
        key_width = max((len(key) for key in keys.values()), default=0) + 2
        lines.extend(
            f"  {shown + ':':<{key_width}}{_scalar(config[key])}" for key, shown in keys.items()
        )
    return "\n".join(lines)


def integration_label(integration: BigSegmentStoreIntegration) -> str:
    """kind project/environment 'name' (id), escaped for a terminal."""
    where = f"{integration.integration_key} {integration.project_key}/{integration.environment_key}"
    return printable(f"{where} {integration.name!r} ({integration.id})")
