"""The store settings on the command line: ``create``'s typed flags, ``--set-config``,
``--unset-config`` and ``--patch FILE``.

Nothing here spells out a store's settings: the flags, their help, which are required
and which are secret come from ``ldstore.models.config_fields``, values are checked by
the models' own validators (``parse_config_value``), and a patch file is read by
``ldstore.patch.loads``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ldstore import patch
from ldstore.cli._errors import UsageError
from ldstore.models import (
    ConfigError,
    ConfigField,
    TypedConfig,
    config_class,
    config_field,
    config_fields,
    parse_config_value,
    store_kinds,
)
from ldstore.patch import PatchOperation, PatchWithComment, remove_config, set_config

__all__ = [
    "add_store_flags",
    "read_patch",
    "set_config_operation",
    "store_config",
    "unset_config_operation",
]

_STDIN = "_stdin"  # the dest suffix of a secret's --X-stdin flag


def _classes() -> list[tuple[str, type[TypedConfig]]]:
    return [(kind, cls) for kind in store_kinds() if (cls := config_class(kind)) is not None]


def add_store_flags(parser: argparse.ArgumentParser) -> None:
    """One argument group per store kind, a flag per setting (dest: the attribute's name).

    A bool setting is a switch; a secret gets ``--X-stdin`` beside ``--X``; a setting
    with a list of values offers them as choices.
    """
    for kind, cls in _classes():
        fields = config_fields(cls)
        every = all(field.required for field in fields)
        title = f"{cls.title} store (--integration {kind}{'; all required' if every else ''})"
        group = parser.add_argument_group(title)
        for field in fields:
            _add_flag(group, field, say_required=not every)


def _add_flag(
    group: argparse._ArgumentGroup,  # pyright: ignore[reportPrivateUsage]
    field: ConfigField,
    *,
    say_required: bool,
) -> None:
    if field.kind is bool:
        _ = group.add_argument(
            field.flag, dest=field.name, action="store_true", default=None, help=field.help
        )
        return
    note = ""
    if field.required and say_required:
        note = " (required)"
    elif field.default is not None and not field.required:
        note = f" (default: {field.default})"
    if field.secret:
        exclusive = group.add_mutually_exclusive_group()
        _ = exclusive.add_argument(
            field.flag,
            dest=field.name,
            help=f"{field.help} (visible to other users: prefer {field.flag}-stdin)",
        )
        _ = exclusive.add_argument(
            f"{field.flag}-stdin",
            dest=field.name + _STDIN,
            action="store_true",
            default=None,
            help=f"read the {field.help} from standard input",
        )
        return
    choices = sorted(field.choices) if field.choices is not None else None
    metavar = field.name.upper() if choices is not None else None
    _ = group.add_argument(
        field.flag, dest=field.name, choices=choices, metavar=metavar, help=field.help + note
    )


def _given_flags(args: argparse.Namespace, fields: tuple[ConfigField, ...]) -> list[str]:
    given: list[str] = []
    for field in fields:
        if getattr(args, field.name, None) is not None:
            given.append(field.flag)
        if field.secret and getattr(args, field.name + _STDIN, None):
            given.append(f"{field.flag}-stdin")
    return given


def store_config(args: argparse.Namespace) -> TypedConfig:
    """The typed config ``create``'s flags describe for ``--integration``; ``UsageError``."""
    kind: str = args.integration
    cls = config_class(kind)
    if cls is None:  # pragma: no cover - argparse offers only the known kinds
        msg = f"--integration {kind} has no typed config"
        raise UsageError(msg)
    fields = config_fields(cls)
    wrong = [
        flag
        for other, other_cls in _classes()
        if other != kind
        for flag in _given_flags(args, config_fields(other_cls))
    ]
    if wrong:
        accepted = ", ".join(flag for field in fields for flag in _flags_of(field))
        verb = "does" if len(wrong) == 1 else "do"
        msg = f"{' '.join(wrong)} {verb} not apply to --integration {kind}, which takes {accepted}"
        raise UsageError(msg)
    values = {field.name: _flag_value(args, field) for field in fields}
    missing = [field.flag for field in fields if field.required and values[field.name] is None]
    if missing:
        msg = f"--integration {kind} needs {', '.join(missing)}"
        raise UsageError(msg)
    try:
        # Values as argparse gives them (strings); the model converts and validates them.
        arguments: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        return cls(**arguments)
    except (TypeError, ValueError) as error:
        msg = f"invalid {cls.title} config: {error}"
        raise UsageError(msg) from None


def _flags_of(field: ConfigField) -> list[str]:
    return [field.flag, f"{field.flag}-stdin"] if field.secret else [field.flag]


def _flag_value(args: argparse.Namespace, field: ConfigField) -> object:
    value: object = getattr(args, field.name)
    if field.secret and getattr(args, field.name + _STDIN):
        try:
            value = sys.stdin.read().rstrip("\r\n")
        except UnicodeDecodeError:
            msg = f"{field.flag}-stdin: standard input is not UTF-8 text"
            raise UsageError(msg) from None
        if not value:
            msg = f"{field.flag}-stdin: standard input held no {field.wire}"
            raise UsageError(msg)
    return value


def set_config_operation(kind: str, item: str) -> PatchOperation:
    """``--set-config KEY=VALUE`` as a patch operation, the value checked and typed by the model.

    KEY is a wire name (``tlsEnabled``) or an attribute's name (``tls_enabled``,
    ``tls-enabled``).
    """
    key, sep, text = item.partition("=")
    if not sep or not key:
        msg = f"--set-config takes KEY=VALUE, not {item!r}"
        raise UsageError(msg)
    cls = config_class(kind)
    if cls is None:  # pragma: no cover - argparse offers only the known kinds
        return set_config(key, text)
    try:
        wire, value = parse_config_value(cls, key, text)
    except ConfigError as error:
        msg = f"--set-config: {error}"
        raise UsageError(msg) from None
    return set_config(wire, value)


def unset_config_operation(kind: str, key: str) -> PatchOperation:
    """``--unset-config KEY``: a known setting by any of its names, another key as given."""
    cls = config_class(kind)
    field = None if cls is None else config_field(cls, key)
    return remove_config(key if field is None else field.wire)


def read_patch(source: str) -> tuple[list[PatchOperation], str | None]:
    """The operations (and comment, from an envelope) of a JSON Patch file, or stdin for ``-``.

    Anything wrong with what the file holds (not UTF-8, not JSON, nested absurdly deep,
    not a JSON Patch) is a ``UsageError`` naming the file.
    """
    name = "standard input" if source == "-" else source
    try:
        if source == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        else:
            data = Path(source).read_bytes()
    except OSError as error:
        msg = f"--patch: cannot read {name}: {error.strerror}"
        raise UsageError(msg) from None
    try:
        body = patch.loads(data)
    except ValueError as error:
        msg = f"--patch: {name}: {error}"
        raise UsageError(msg) from None
    if isinstance(body, PatchWithComment):
        return list(body.patch), body.comment
    return list(body), None
