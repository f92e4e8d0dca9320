"""What the command line prints on stdout: tables, one integration's view, or wire JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, cast

from ldstore.cli._errors import EXIT_OK, fail
from ldstore.errors import LDStoreError
from ldstore.models import BigSegmentStoreIntegration, BigSegmentStoreIntegrationCollection
from ldstore.result import Err, Ok, Result
from ldstore.wire import to_wire

__all__ = [
    "emit",
    "finish",
    "render_integration",
    "render_table",
    "when",
    "write",
    "yes_no",
]


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
        write(json.dumps(to_wire(value), indent=2))
    elif isinstance(value, BigSegmentStoreIntegration):
        write(render_integration(value))
    elif items is not None:
        if items:
            write(render_table(items))
        else:
            _ = sys.stderr.write("ldstore: no integrations found\n")
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
    """One integration as a key/value view, its config included (secrets come masked)."""
    status = integration.status
    fields: list[tuple[str, str]] = [
        ("ID", integration.id),
        ("Name", integration.name),
        ("Project", integration.project_key),
        ("Environment", integration.environment_key),
        ("Store", str(integration.integration_key)),
        ("On", yes_no(integration.on)),
        ("Tags", ", ".join(integration.tags) or "-"),
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
        lines.append(f"{'Error:':<{width}}{when(error.timestamp)}{code} {error.message or ''}")
    if integration.config is not None:
        config: Mapping[str, Any] = integration.config
        lines.append("Config:")
        key_width = max((len(key) for key in config), default=0) + 2
        lines.extend(f"  {key + ':':<{key_width}}{_scalar(config[key])}" for key in config)
    return "\n".join(lines)
