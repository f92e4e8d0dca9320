"""JSON Patch (RFC 6902) documents for updates, built without typos.

>>> from ldstore import patch
>>> ops = [patch.if_version(3), patch.replace_name("Prod store"), patch.set_on(True)]
>>> body = patch.PatchWithComment(patch=ops, comment="rename for the audit log")
"""

import enum
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal, TypeAlias

import attrs

__all__ = [
    "ABSENT",
    "Absent",
    "PatchBody",
    "PatchOp",
    "PatchOperation",
    "PatchWithComment",
    "add_tag",
    "escape_pointer",
    "if_version",
    "remove_config",
    "replace_name",
    "replace_tags",
    "set_config",
    "set_on",
    "with_comment",
]


class Absent(enum.Enum):
    """The type of ``ABSENT``: a patch ``value`` that is not sent at all (``null`` is a value)."""

    ABSENT = enum.auto()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = Absent.ABSENT

PatchOp: TypeAlias = Literal["add", "remove", "replace", "move", "copy", "test"]
_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
_NEEDS_VALUE = frozenset({"add", "replace", "test"})
_NEEDS_FROM = frozenset({"move", "copy"})


def _check(instance: "PatchOperation", _: object, __: object) -> None:
    if instance.op not in _OPS:
        msg = f"op must be one of {sorted(_OPS)}, not {instance.op!r}"
        raise ValueError(msg)
    if instance.path and not instance.path.startswith("/"):
        msg = f"path must be a JSON Pointer starting with '/', not {instance.path!r}"
        raise ValueError(msg)
    if instance.op in _NEEDS_VALUE and instance.value is ABSENT:
        msg = f"a {instance.op!r} operation needs a value (None sends null)"
        raise ValueError(msg)
    if instance.op not in _NEEDS_VALUE and instance.value is not ABSENT:
        msg = f"a {instance.op!r} operation takes no value"
        raise ValueError(msg)
    if (instance.op in _NEEDS_FROM) != (instance.from_ is not None):
        msg = "from_ is required for move and copy, and only for them"
        raise ValueError(msg)


@attrs.frozen
class PatchOperation:
    """One JSON Patch operation. ``value`` stays off the wire when ``ABSENT``."""

    op: PatchOp = attrs.field(validator=_check)
    path: str
    value: Any = ABSENT
    from_: str | None = None  # "from" on the wire, for move and copy


@attrs.frozen
class PatchWithComment:
    """A patch with a comment for the audit log: ``{"comment": ..., "patch": [...]}``."""

    patch: Sequence[PatchOperation]
    comment: str


PatchBody: TypeAlias = Sequence[PatchOperation] | PatchWithComment


def escape_pointer(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901): ``~`` then ``/``."""
    return token.replace("~", "~0").replace("/", "~1")


def if_version(version: int) -> PatchOperation:
    """Make the update conditional: it fails with a 409 if someone else updated first."""
    return PatchOperation("test", "/version", version)


def replace_name(name: str) -> PatchOperation:
    return PatchOperation("replace", "/name", name)


def set_on(on: bool) -> PatchOperation:  # noqa: FBT001
    return PatchOperation("replace", "/on", on)


def replace_tags(tags: Iterable[str]) -> PatchOperation:
    return PatchOperation("replace", "/tags", list(tags))


def add_tag(tag: str) -> PatchOperation:
    return PatchOperation("add", "/tags/-", tag)


def set_config(key: str, value: Any) -> PatchOperation:
    # "add" on an object member replaces it when present, so this works either way.
    return PatchOperation("add", f"/config/{escape_pointer(key)}", value)


def remove_config(key: str) -> PatchOperation:
    return PatchOperation("remove", f"/config/{escape_pointer(key)}")


def with_comment(operations: Iterable[PatchOperation], comment: str) -> PatchWithComment:
    return PatchWithComment(list(operations), comment)
