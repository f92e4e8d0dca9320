"""The one cattrs converter: the wire rules (names, timestamps, store configs, omissions).

Store configs and JSON Patch bring their own rules (``models.config_fields``,
``patch.to_wire``); the hooks here apply them. The generated fast decoders live apart,
in ``_codec_gen``.
"""

import gc
import json
import types
from collections.abc import Callable, Iterator, Mapping, MutableSequence, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, Union, cast, get_args, get_origin

import attrs
from cattrs import BaseValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from ldstore import _codec_gen, _json, models, patch
from ldstore.models import IntegrationKey, OutOfRangeTimestamp
from ldstore.patch import PatchOperation, PatchWithComment

__all__ = [
    "MAX_VALUES",
    "DecodeError",
    "TooManyValuesError",
    "WrongShapeError",
    "converter",
    "decode",
    "encode",
    "locate",
    "wire_name",
]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)
_META = frozenset({"id", "links", "status", "access"})  # sent as "_id", "_links", ...
_VERBATIM = frozenset({"role_name"})  # the API's one snake_case field (AccessAllowedReason)

# Lenient: unknown keys are ignored, as the API adds fields over time. Keep it so.
# Detailed validation is off: it makes every decode slower to improve the rare failure's
# message, and the failure still names what was wrong.
converter = make_converter(detailed_validation=False)


class WrongShapeError(ValueError):
    """A body that does not fit its model; ``field`` is the path of the value at fault,
    in wire names (``items[3]._status.available``; ``""``: the body itself)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field or 'the body'}: {problem}")
        self.field = field
        self.problem = problem


class TooManyValuesError(ValueError):
    """A body holding more JSON values than ``MAX_VALUES``: refused before it is parsed."""


# What a failed decode can raise with detailed validation off.
DecodeError = (BaseValidationError, ValueError, TypeError, KeyError, AttributeError, OverflowError)

# The work a body may cost, bounded before it is parsed: at most this many commas, so
# about as many JSON values (every value but a container's first follows a comma). A
# list item holds about 60 values (~1.5 KB), so this is ~8,000 integrations, beyond any
# account's list; parsing that many of the costliest values (``[0],``) takes ~0.3 s and
# ~100 MB, where a 32 MB body of them would take seconds and a gigabyte.
MAX_VALUES = 500_000


def wire_name(attribute: str) -> str:
    """The JSON name of an attribute: camelCase, ``_`` before metadata, no trailing ``_``."""
    if attribute in _VERBATIM:
        return attribute
    if attribute in _META:
        return f"_{attribute}"
    head, *rest = attribute.rstrip("_").split("_")
    return head + "".join(word.title() for word in rest)


# Strict JSON scalars: a value of the wrong JSON type is an error, never converted
# (cattrs would call str(None), bool("false"), int(1.9), tuple("abc")). Only an integer
# written with a fraction of zero (1.0) is an integer, as JSON Schema counts it.
def _integral(value: object) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _codec_gen.refuse(value, "an integer")


def _string(value: object) -> str:
    # A str subclass (an enum's member, from a Python caller) is its plain string: what
    # the generated decoders' inline `value + ""` makes of it too.
    if isinstance(value, str):
        return str.__str__(value)
    return _codec_gen.refuse(value, "a string")


converter.register_structure_hook(str, _codec_gen.exact(str, _string))
converter.register_structure_hook(
    bool, _codec_gen.exact(bool, lambda value: _codec_gen.refuse(value, "a boolean"))
)
converter.register_structure_hook(int, _codec_gen.exact(int, _integral))


def _number(value: object) -> float:
    if type(value) is int:  # a JSON number written without a fraction
        return float(value)
    return _codec_gen.refuse(value, "a number")


converter.register_structure_hook(float, _codec_gen.exact(float, _number))


def _array_type(type_: Any) -> bool:
    # list[X] and Sequence[X]: cattrs would iterate a string or an object's keys.
    return get_origin(type_) in (list, Sequence, MutableSequence)


@converter.register_structure_hook_factory(_array_type)
def _array(type_: Any) -> Callable[[Any, Any], Any]:
    element = get_args(type_)[0] if get_args(type_) else Any
    hook = converter.get_structure_hook(element)
    as_tuple = get_origin(type_) is Sequence  # what cattrs builds for a Sequence

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not list:
            _codec_gen.refuse(value, "an array")
        items = [hook(item, element) for item in value]  # pyright: ignore[reportUnknownVariableType]
        return tuple(items) if as_tuple else items

    return structure


def _from_millis(value: object, _: type) -> datetime:
    millis = value if type(value) is int else _integral(value)
    try:
        return (
            _EPOCH + _MILLISECOND * millis
        )  # exact, and twice as fast as timedelta(milliseconds=)
    except OverflowError:
        # int64 milliseconds reach far beyond datetime's years 1-9999: kept, not refused.
        return OutOfRangeTimestamp(millis)


converter.register_structure_hook(datetime, _from_millis)


@converter.register_unstructure_hook
def _to_millis(value: datetime) -> int:
    if isinstance(value, OutOfRangeTimestamp):
        return value.milliseconds
    # Exact. int(value.timestamp() * 1000) is off by one for ~1% of inputs.
    return (value - _EPOCH) // _MILLISECOND


_KNOWN_KEYS: dict[str, IntegrationKey] = {key.value: key for key in IntegrationKey}


def _integration_key(value: object, _: type) -> IntegrationKey | str:
    # A store kind added after this release decodes as a plain string rather than failing
    # the whole list it arrives in.
    if not isinstance(value, str):
        msg = f"integrationKey must be a string, not {value!r}"
        raise TypeError(msg)
    return _KNOWN_KEYS.get(value, value)  # IntegrationKey(value), without its slow lookup


# A predicate hook: the preconf converter's union passthrough would keep a plain str.
converter.register_structure_hook_func(lambda t: t == IntegrationKey | str, _integration_key)


@converter.register_unstructure_hook
def _patch_operation(operation: PatchOperation) -> dict[str, Any]:
    return patch.to_wire(operation, converter.unstructure)


@converter.register_unstructure_hook
def _patch_with_comment(body: PatchWithComment) -> object:
    return patch.body_to_wire(body, converter.unstructure)


_ = converter.register_structure_hook_factory(
    _codec_gen.homogeneous_tuple, _codec_gen.tuple_structure_fn
)


def _json_object(value: Mapping[str, Any], _: type) -> Mapping[str, Any]:
    # What cattrs' generated mapping hook does (keys made str, values kept), minus a call
    # per value; a JSON object's keys are already str, so it is copied whole (half the
    # comprehension's cost, paid once per integration).
    # (pyright cannot type a dict narrowed by `type(value) is dict`: the ignores below.)
    if type(value) is dict:
        for key in value:  # pyright: ignore[reportUnknownVariableType]
            if type(key) is not str:  # pyright: ignore[reportUnknownArgumentType]
                break
        else:
            return value.copy()  # pyright: ignore[reportUnknownVariableType]
    elif not isinstance(value, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]  # JSON of any type
        _codec_gen.refuse(value, "an object")
    return {str(key): item for key, item in value.items()}  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]


converter.register_structure_hook_func(lambda t: t == Mapping[str, Any], _json_object)


def _renames(cls: type[Any]) -> dict[str, Any]:
    return {a.name: override(rename=wire_name(a.name)) for a in attrs.fields(cls)}


def _is_mapping(value: object) -> bool:
    # A plain bool, not a type guard: the callers go on with the value as it was typed.
    return isinstance(value, Mapping)


def dict_structure_fn(cls: type[Any]) -> Callable[[Any, Any], Any]:
    """cattrs' own decoder for a model, with our wire names: what the fast path must equal.

    A JSON object (or a caller's mapping) only: given a string or a list, cattrs would
    answer its ``in`` tests and build a model of defaults.
    """
    made = make_dict_structure_fn(cls, converter, **_renames(cls))

    def structure(value: Any, type_: Any) -> Any:
        if value.__class__ is not dict and not _is_mapping(value):
            _codec_gen.refuse(value, "an object")
        return made(value, type_)

    return structure


@converter.register_structure_hook_factory(attrs.has)
def _structure(cls: type[Any]) -> Any:
    return _codec_gen.slot_structure_fn(cls, converter, wire_name) or dict_structure_fn(cls)


@converter.register_unstructure_hook_factory(attrs.has)
def _unstructure(cls: type[Any]) -> Any:
    # A None default means "not set": leave it off so the server's default applies.
    return make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True, **_renames(cls))


def _store_config_class(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and bool(models.config_fields(cls))


# Registered after the attrs.has factory above: the later registration wins.
@converter.register_unstructure_hook_factory(_store_config_class)
def _store_config(cls: type[attrs.AttrsInstance]) -> Callable[[Any], dict[str, Any]]:
    # From the models' metadata: each setting under its wire name, in its wire type
    # (ConfigField.to_wire: the Redis port as a string), None left off (tlsEnabled, a
    # bool, is always sent).
    settings = [
        # to_wire only where it changes the value: as fast as the hand-written hooks were.
        (field.wire, field.name, field.to_wire if field.as_text else None)
        for field in models.config_fields(cls)
    ]
    return _codec_gen.settings_unstructure_fn(cls.__name__, settings)


def encode(value: object) -> bytes:
    """The JSON body for a request value."""
    # NaN and Infinity are not JSON: refuse them rather than send what servers reject.
    return json.dumps(converter.unstructure(value), separators=(",", ":"), allow_nan=False).encode()


def decode(body: bytes, cls: type[T]) -> T:
    """The model for a response body; raises one of ``DecodeError`` when it does not fit:
    ``WrongShapeError`` naming the field for JSON that does not fit the model,
    ``TooManyValuesError`` for a body over ``MAX_VALUES`` (not parsed)."""
    if len(body) >= GC_PAUSE_BYTES and gc.isenabled():
        return _gc_paused(body, cls)
    # A body shorter than the bound cannot exceed it: most pay nothing for the count.
    if len(body) > MAX_VALUES and _over_bound(body):
        msg = f"it holds more than {MAX_VALUES} JSON values; it was not decoded"
        raise TooManyValuesError(msg)
    # Inline rather than in a helper: a short body (a GET's one integration) is the
    # common case, and a Python frame is a tenth of the decoding a call adds.
    hook = _root_hooks.get(cls)
    if hook is None:
        hook = _root_hooks[cls] = converter.get_structure_hook(cls)
    parsed = _json.loads(body)
    try:
        result: T = hook(parsed, cls)  # converter.structure, minus its dispatch
    except RecursionError:
        raise
    except DecodeError as error:
        field, problem = locate(parsed, cls, error)
        raise WrongShapeError(field, problem) from None
    return result


GC_PAUSE_BYTES = 64 * 1024  # a body this long is decoded with the cyclic GC paused


def _gc_paused(body: bytes, cls: type[T]) -> T:
    # Parsing builds thousands of containers that all survive: CPython's cyclic GC would
    # rescan them again and again (2-3 times the parse's own cost), so it is paused for
    # a long body (decode, called again, then takes the inline path), and switched back
    # on whatever happens.
    gc.disable()
    try:
        return decode(body, cls)
    finally:
        gc.enable()


_SLICE = 1 << 20  # bytes counted per C call: a few milliseconds each


def _over_bound(body: bytes) -> bool:
    """Whether ``body`` holds ``MAX_VALUES`` commas, counted a slice at a time: the count
    stops once it gets there, and between slices another thread (the event loop's, when
    decoding runs off it) gets the interpreter."""
    commas = 0
    for start in range(0, len(body), _SLICE):
        commas += body.count(b",", start, start + _SLICE)
        if commas >= MAX_VALUES:
            return True
    return False


def locate(value: object, type_: Any, error: BaseException) -> tuple[str, str]:
    """Where in ``value`` (parsed JSON) decoding it as ``type_`` fails, and why: the path in
    wire names of the innermost value at fault, and its problem (from ``error``, the
    failure of the whole, when nothing deeper fails)."""
    found = _fault(value, type_, "", depth=0)
    return found if found is not None else ("", _problem(error))


_MAX_DEPTH = 64  # deeper than any model: the search stops and names the level it reached


def _fault(value: object, type_: Any, path: str, depth: int) -> tuple[str, str] | None:
    try:
        _ = converter.get_structure_hook(type_)(value, type_)
    except RecursionError:
        return path, "nested too deep"
    except DecodeError as error:
        failure: BaseException = error
    else:
        return None
    args = get_args(type_)
    if get_origin(type_) in (Union, types.UnionType) and type(None) in args and len(args) == 2:  # noqa: PLR2004 (X | None)
        type_ = next(arg for arg in args if arg is not type(None))
    if isinstance(type_, type) and attrs.has(type_) and not _is_mapping(value):
        # In the decoders' words, whatever a subscript of the value raised.
        return path, f"expected an object, not {_codec_gen.json_kind(value)}"
    found = _deeper(value, type_, path, depth) if depth < _MAX_DEPTH else None
    return found or (path, _problem(failure))


def _deeper(value: object, type_: Any, path: str, depth: int) -> tuple[str, str] | None:
    """The fault inside a model's fields, a list's items or a mapping's values, if one of
    them has it."""
    for where, item, item_type in _children(value, type_, path):
        if item is _MISSING:
            return where, "required, and missing"
        found = _fault(item, item_type, where, depth + 1)
        if found is not None:
            return found
    return None


_MISSING: Any = object()  # a required field the object leaves out


def _children(value: object, type_: Any, path: str) -> Iterator[tuple[str, object, Any]]:
    """Each (path, value, type) one level down in ``value`` decoded as ``type_``."""
    if isinstance(type_, type) and attrs.has(type_) and isinstance(value, dict):
        members = cast("dict[str, object]", value)
        for field in attrs.fields(type_):
            key = wire_name(field.name)
            if key in members or field.default is attrs.NOTHING:
                yield (f"{path}.{key}" if path else key), members.get(key, _MISSING), field.type
    elif (_codec_gen.homogeneous_tuple(type_) or _array_type(type_)) and isinstance(value, list):
        item_type = get_args(type_)[0]
        for index, item in enumerate(cast("list[object]", value)):
            yield f"{path}[{index}]", item, item_type
    elif get_origin(type_) in (dict, Mapping) and isinstance(value, dict):
        item_type = get_args(type_)[1]
        if item_type is not Any:  # a mapping of models (a segment's links)
            for key, item in cast("dict[str, object]", value).items():
                yield f"{path}.{key}", item, item_type


def _problem(error: BaseException) -> str:
    return str(error) if isinstance(error, TypeError | ValueError) and str(error) else repr(error)


# The hook per model decoded: the hooks are all registered above, at import, so the
# converter would answer the same each time. Keyed by the few classes funcs decode.
_root_hooks: dict[type[Any], Callable[[Any, Any], Any]] = {}
