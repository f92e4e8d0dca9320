"""JSON Patch (RFC 6902) documents for updates, built without typos.

>>> from ldstore import patch
>>> ops = [patch.if_version(3), patch.replace_name("Prod store"), patch.set_on(True)]
>>> body = patch.PatchWithComment(patch=ops, comment="rename for the audit log")
"""

import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias, cast

import attrs

from ldstore.configs import masked_secret, redact

__all__ = [
    "ABSENT",
    "MAX_DEPTH",
    "Absent",
    "PatchBody",
    "PatchOp",
    "PatchOperation",
    "PatchWithComment",
    "add_tag",
    "body_from_wire",
    "body_to_wire",
    "escape_pointer",
    "from_wire",
    "if_version",
    "loads",
    "masked_write",
    "remove_config",
    "remove_tag",
    "replace_name",
    "replace_tags",
    "set_config",
    "set_on",
    "to_wire",
    "unescape_pointer",
    "with_comment",
]


class Absent(enum.Enum):
    """The type of ``ABSENT``: a patch ``value`` that is not sent at all (``null`` is a value)."""

    ABSENT = enum.auto()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = Absent.ABSENT

PatchOp: TypeAlias = Literal["add", "remove", "replace", "move", "copy", "test"]
_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})  # PatchOp's values
_NEEDS_VALUE = frozenset({"add", "replace", "test"})
_NEEDS_FROM = frozenset({"move", "copy"})


def _check(instance: "PatchOperation", _: object, __: object) -> None:
    if instance.op not in _OPS:
        msg = f"op must be one of {sorted(_OPS)}, not {instance.op!r}"
        raise ValueError(msg)
    for name, pointer in (("path", instance.path), ("from_", instance.from_)):
        if pointer and not pointer.startswith("/"):
            msg = f"{name} must be a JSON Pointer starting with '/', not {pointer!r}"
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


@attrs.frozen(repr=False)
class PatchOperation:
    """One JSON Patch operation. ``value`` stays off the wire when ``ABSENT``.

    Its ``repr`` masks a secret value (``set_config("password", ...)``, or a password
    inside a whole ``/config``), as every repr in ldstore does.
    """

    op: PatchOp = attrs.field(validator=_check)
    path: str
    value: Any = ABSENT
    from_: str | None = None  # "from" on the wire, for move and copy

    def redacted(self) -> "PatchOperation":
        """This operation as it may be shown: a secret value masked (``models.redact``)."""
        if self.value is ABSENT:
            return self
        # The value sits under the path's last token: mask it as that member would be.
        token = unescape_pointer(self.path.rpartition("/")[2])
        shown = redact({token: self.value})[token]
        return self if shown is self.value else attrs.evolve(self, value=shown)

    def __repr__(self) -> str:
        shown = self.redacted()
        return f"PatchOperation(op={shown.op!r}, path={shown.path!r}, value={shown.value!r}, from_={shown.from_!r})"


@attrs.frozen
class PatchWithComment:
    """A patch with a comment for the audit log: ``{"comment": ..., "patch": [...]}``."""

    patch: Sequence[PatchOperation]
    comment: str


PatchBody: TypeAlias = Sequence[PatchOperation] | PatchWithComment


def escape_pointer(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901): ``~`` then ``/``."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape_pointer(token: str) -> str:
    """The reference token ``escape_pointer`` escaped: ``~1`` then ``~0``."""
    return token.replace("~1", "/").replace("~0", "~")


# Builders for the editable fields.


def if_version(version: int) -> PatchOperation:
    """``test`` of ``/version``: the update fails with a 409 if someone else updated first.

    Put it first, with the version you read; ``ldstore.workflows.apply`` does so itself.
    """
    return PatchOperation("test", "/version", version)


def replace_name(name: str) -> PatchOperation:
    """Rename the integration (``replace /name``)."""
    return PatchOperation("replace", "/name", name)


def set_on(on: bool) -> PatchOperation:  # noqa: FBT001
    """Switch the integration on or off (``replace /on``); LaunchDarkly syncs only stores that are on."""
    return PatchOperation("replace", "/on", on)


def replace_tags(tags: Iterable[str]) -> PatchOperation:
    """Set the whole tag list (``replace /tags``)."""
    return PatchOperation("replace", "/tags", list(tags))


def add_tag(tag: str) -> PatchOperation:
    """Append one tag (``add /tags/-``). A repeated tag is appended again: check first."""
    return PatchOperation("add", "/tags/-", tag)


def remove_tag(current: Iterable[str], tag: str) -> PatchOperation:
    """Remove ``tag`` from ``current``, the tags you read: ``replace /tags`` with the rest.

    JSON Patch removes list items by index only, so this replaces the list. Put
    ``if_version`` of the version you read the tags at before it, so that a change made
    in between fails with a 409 rather than being lost (``ldstore update --remove-tag``
    does both).

    >>> [patch.if_version(integration.version), patch.remove_tag(integration.tags, "legacy")]
    """
    return replace_tags(kept for kept in current if kept != tag)


def set_config(key: str, value: Any) -> PatchOperation:
    """Set one ``config`` key (``add /config/KEY``), by its wire name (``tlsEnabled``).

    ``add`` on an object member replaces it when present, so this works either way. The
    value travels as given: the Redis ``port`` is a string on the wire
    (``ldstore.models.parse_config_value`` checks and converts one for you). A secret
    (``password``) is masked in this operation's repr. The API's mask (``MASKED``) is no
    value: a patch that writes it as a secret is refused before it is sent.
    """
    return PatchOperation("add", f"/config/{escape_pointer(key)}", value)


def remove_config(key: str) -> PatchOperation:
    """Remove one ``config`` key (``remove /config/KEY``), so the store's default applies."""
    return PatchOperation("remove", f"/config/{escape_pointer(key)}")


def with_comment(operations: Iterable[PatchOperation], comment: str) -> PatchWithComment:
    """The operations with a comment for the audit log (the ``{comment, patch}`` envelope)."""
    return PatchWithComment(list(operations), comment)


_WRITES = frozenset({"add", "replace"})


def masked_write(body: object) -> str | None:
    """Where a patch body would write the API's mask (``MASKED``) as a secret: the dotted
    path (``config.password``) of the first such value, or None.

    The mask is how the API shows a stored secret, never its value:
    ``patch_big_segment_store_integration`` refuses such a patch before sending it, and a
    front end may ask first (before asking a person to confirm it).
    """
    operations = body.patch if isinstance(body, PatchWithComment) else body
    for operation in (
        cast("Sequence[object]", operations) if isinstance(operations, Sequence) else ()
    ):
        if (
            not isinstance(operation, PatchOperation)
            or operation.op not in _WRITES
            or operation.value is ABSENT
        ):
            continue
        parent, _, last = operation.path.rpartition("/")
        found = masked_secret(operation.value, unescape_pointer(last))
        if found is not None:
            tokens = [unescape_pointer(token) for token in parent.split("/")[1:]]
            return ".".join([*tokens, found])
    return None


# The wire, both ways: what the codec sends and what the CLI reads from a patch file.

MAX_DEPTH: Final = 64
"""How deeply a patch read by ``loads`` may nest; more is refused (no real patch comes close)."""


def _same(value: Any) -> Any:
    return value


def to_wire(
    operation: PatchOperation, encode_value: Callable[[Any], Any] = _same
) -> dict[str, Any]:
    """One operation as a JSON object: ``value`` off when ``ABSENT``, ``from_`` as ``from``.

    ``encode_value`` turns the value into JSON (the codec passes its converter, so a
    typed config encodes as its wire object).
    """
    wire: dict[str, Any] = {"op": operation.op, "path": operation.path}
    if operation.value is not ABSENT:
        wire["value"] = encode_value(operation.value)
    if operation.from_ is not None:
        wire["from"] = operation.from_
    return wire


def from_wire(entry: object) -> PatchOperation:
    """One JSON object as an operation; ``ValueError`` naming what is wrong.

    ``op`` must be one of the six, ``path`` (and ``from``, for move and copy) a JSON
    Pointer string, ``value`` present exactly for add, replace and test. Other members
    are ignored, as RFC 6902 says.
    """
    if not isinstance(entry, Mapping):
        msg = f"is not an object but {_json_type(entry)}"
        raise ValueError(msg)  # noqa: TRY004 (one error type for every malformed patch)
    fields = cast("Mapping[str, object]", entry)
    op, path, source = fields.get("op"), fields.get("path"), fields.get("from")
    if op not in _OPS or not isinstance(path, str) or not isinstance(source, str | None):
        msg = f"needs an op ({', '.join(_OP_ORDER)}) and a string path (and a string from)"
        raise ValueError(msg)
    try:
        return PatchOperation(cast("PatchOp", op), path, fields.get("value", ABSENT), source)
    except (TypeError, ValueError) as error:
        raise ValueError(str(error)) from None


def body_to_wire(body: PatchBody, encode_value: Callable[[Any], Any] = _same) -> object:
    """A request body as JSON: an array of operations, or the ``{comment, patch}`` envelope."""
    if isinstance(body, PatchWithComment):
        return {
            "comment": body.comment,
            "patch": [to_wire(operation, encode_value) for operation in body.patch],
        }
    return [to_wire(operation, encode_value) for operation in body]


def body_from_wire(document: object) -> PatchBody:
    """A JSON Patch array, or a ``{comment, patch}`` envelope, as a body; ``ValueError``.

    The message of an invalid operation starts with its number (``operation 2: ...``),
    counted from 1.
    """
    comment: object = None
    if isinstance(document, Mapping):
        envelope = cast("Mapping[str, object]", document)
        comment = envelope.get("comment")
        document = envelope.get("patch")
    if not isinstance(document, list) or not isinstance(comment, str | None):
        msg = "must hold a JSON Patch array or a {comment, patch} object with a string comment"
        raise ValueError(msg)  # noqa: TRY004 (one error type for every malformed patch)
    entries = enumerate(cast("list[object]", document), start=1)
    operations = [_numbered(number, entry) for number, entry in entries]
    return operations if comment is None else PatchWithComment(operations, comment)


def _numbered(number: int, entry: object) -> PatchOperation:
    try:
        return from_wire(entry)
    except ValueError as error:
        joiner = " " if str(error).startswith(("is ", "needs ")) else ": "
        msg = f"operation {number}{joiner}{error}"
        raise ValueError(msg) from None


def loads(data: str | bytes) -> PatchBody:
    """A patch document's text (UTF-8 bytes or str) as a body, as ``body_from_wire`` reads it.

    Never raises anything but ``ValueError`` for what the text holds: bytes that are not
    UTF-8, text that is not JSON, JSON nested deeper than ``MAX_DEPTH`` (which Python's
    parser would answer with a ``RecursionError``), or not a JSON Patch.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        msg = f"is not UTF-8 text: {error.reason} at byte {error.start}"
        raise ValueError(msg) from None
    try:
        document: object = json.loads(text)
    except RecursionError:
        document = _TOO_DEEP
    except ValueError as error:  # json.JSONDecodeError
        msg = f"is not JSON: {error}"
        raise ValueError(msg) from None
    if document is _TOO_DEEP or _deeper_than(document, MAX_DEPTH):
        msg = f"is not a JSON Patch: it nests more than {MAX_DEPTH} levels deep"
        raise ValueError(msg)
    return body_from_wire(document)


_TOO_DEEP = object()
_OP_ORDER = ("add", "remove", "replace", "move", "copy", "test")


def _deeper_than(document: object, limit: int) -> bool:
    # Iterative: a recursive walk would fail on the very documents it looks for.
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in cast("dict[str, object]", value).values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in cast("list[object]", value))
    return False


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else "an array"
