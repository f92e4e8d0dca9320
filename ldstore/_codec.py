"""The one cattrs converter: the wire rules (names, timestamps, store configs, omissions).

Store configs and JSON Patch bring their own rules (``models.config_fields``,
``patch.to_wire``); the hooks here apply them. The generated fast decoders live apart,
in ``_codec_gen``.
"""

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs
from cattrs import BaseValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from ldstore import _codec_gen, _json, models, patch
from ldstore.models import IntegrationKey
from ldstore.patch import PatchOperation, PatchWithComment

__all__ = ["DecodeError", "converter", "decode", "encode", "wire_name"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)
_META = frozenset({"id", "links", "status", "access"})  # sent as "_id", "_links", ...
_VERBATIM = frozenset({"role_name"})  # the API's one snake_case field (AccessAllowedReason)

# Lenient: unknown keys are ignored, as the API adds fields over time. Keep it so.
# Detailed validation is off: it makes every decode slower to improve the rare failure's
# message, and the failure still names what was wrong.
converter = make_converter(detailed_validation=False)

# What a failed decode can raise with detailed validation off.
DecodeError = (BaseValidationError, ValueError, TypeError, KeyError, AttributeError, OverflowError)


def wire_name(attribute: str) -> str:
    """The JSON name of an attribute: camelCase, ``_`` before metadata, no trailing ``_``."""
    if attribute in _VERBATIM:
        return attribute
    if attribute in _META:
        return f"_{attribute}"
    head, *rest = attribute.rstrip("_").split("_")
    return head + "".join(word.title() for word in rest)


@converter.register_structure_hook  # simple types first: class hooks capture them
def _from_millis(value: object, _: type) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"a timestamp must be integer milliseconds, not {value!r}"
        raise TypeError(msg)
    return _EPOCH + _MILLISECOND * value  # exact, and twice as fast as timedelta(milliseconds=)


@converter.register_unstructure_hook
def _to_millis(value: datetime) -> int:
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
    return {str(key): item for key, item in value.items()}  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]


converter.register_structure_hook_func(lambda t: t == Mapping[str, Any], _json_object)


def _renames(cls: type[Any]) -> dict[str, Any]:
    return {a.name: override(rename=wire_name(a.name)) for a in attrs.fields(cls)}


def dict_structure_fn(cls: type[Any]) -> Callable[[Any, Any], Any]:
    """cattrs' own decoder for a model, with our wire names: what the fast path must equal."""
    return make_dict_structure_fn(cls, converter, **_renames(cls))


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
    """The model for a response body; raises one of ``DecodeError`` when it does not fit."""
    hook = _root_hooks.get(cls)
    if hook is None:
        hook = _root_hooks[cls] = converter.get_structure_hook(cls)
    result: T = hook(_json.loads(body), cls)  # converter.structure, minus its dispatch
    return result


# The hook per model decoded: the hooks are all registered above, at import, so the
# converter would answer the same each time. Keyed by the few classes funcs decode.
_root_hooks: dict[type[Any], Callable[[Any, Any], Any]] = {}
