"""The one cattrs converter: wire names, timestamps, store configs and omission rules."""

import json
import linecache
import types
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
from cattrs import BaseValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from ldstore import _json
from ldstore.models import DynamoDBConfig, IntegrationKey, RedisConfig
from ldstore.patch import ABSENT, PatchOperation

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
def _redis_config(config: RedisConfig) -> dict[str, Any]:
    # The manifest's keys and types: port travels as a string, tlsEnabled always.
    wire: dict[str, Any] = {"host": config.host, "port": str(config.port)}
    if config.username is not None:
        wire["username"] = config.username
    if config.password is not None:
        wire["password"] = config.password
    wire["tlsEnabled"] = config.tls_enabled
    return wire


@converter.register_unstructure_hook
def _dynamodb_config(config: DynamoDBConfig) -> dict[str, Any]:
    return {
        "tableName": config.table_name,
        "region": config.region,
        "roleArn": config.role_arn,
        "externalId": config.external_id,
    }


@converter.register_unstructure_hook
def _patch_operation(operation: PatchOperation) -> dict[str, Any]:
    # "value" is absent for remove, move and copy; null is a real value for replace.
    wire: dict[str, Any] = {"op": operation.op, "path": operation.path}
    if operation.value is not ABSENT:
        wire["value"] = converter.unstructure(operation.value)
    if operation.from_ is not None:
        wire["from"] = operation.from_
    return wire


def _homogeneous_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis  # noqa: PLR2004


def _calls_the_type(hook: object) -> bool:
    """Whether ``hook`` is cattrs' hook for str, int, bool, ...: ``type_(value)``."""
    # cattrs has no public name for it.
    return hook == converter._structure_call  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]


@converter.register_structure_hook_factory(_homogeneous_tuple)
def _tuple_of(type_: Any) -> Callable[[Iterable[Any], Any], tuple[Any, ...]]:
    # cattrs' own tuple hook looks the element's hook up again for every tuple it builds.
    element = get_args(type_)[0]
    hook = converter.get_structure_hook(element)
    if _calls_the_type(hook):

        def call_each(value: Iterable[Any], _: Any) -> tuple[Any, ...]:
            return tuple(map(element, value))

        return call_each

    def structure_each(value: Iterable[Any], _: Any) -> tuple[Any, ...]:
        # Empty lists are common (an integration's _access): skip the comprehension.
        return tuple([hook(item, element) for item in value]) if value != [] else ()

    return structure_each


def _json_object(value: Mapping[str, Any], _: type) -> Mapping[str, Any]:
    # What cattrs' generated mapping hook does (keys made str, values kept), minus a call
    # per value.
    return {str(key): item for key, item in value.items()}


converter.register_structure_hook_func(lambda t: t == Mapping[str, Any], _json_object)


def _renames(cls: type[Any]) -> dict[str, Any]:
    return {a.name: override(rename=wire_name(a.name)) for a in attrs.fields(cls)}


@converter.register_structure_hook_factory(attrs.has)
def _structure(cls: type[Any]) -> Any:
    return _slot_structure_fn(cls) or make_dict_structure_fn(cls, converter, **_renames(cls))


# Decoding a list of 2000 integrations builds 16,000 model instances, so per-instance
# costs dominate. A frozen attrs __init__ sets each field through object.__setattr__, and
# cattrs' generated function gathers keyword arguments in a dict before calling it. For a
# class whose __init__ only assigns (no validator, converter, factory or post-init), the
# decoder generated below fills the slots directly and resolves every field's hook when it
# is generated: the same instances, in about a third of the time.
def _slot_structure_fn(cls: type[Any]) -> Callable[[Any, Any], Any] | None:
    setters = _slot_setters(cls)
    if setters is None:
        return None
    name = f"structure_{cls.__name__}"
    scope: dict[str, Any] = {"__new": object.__new__, "__cls": cls, "__map": map}
    lines = [f"def {name}(o, _=None):", "    obj = __new(__cls)"]
    for number, (field, setter) in enumerate(zip(attrs.fields(cls), setters, strict=True)):
        scope[f"__set{number}"] = setter
        key = repr(wire_name(field.name))
        value = _value_source(field.type, f"{number}", scope)
        if field.default is attrs.NOTHING:  # required: a missing key is a KeyError
            lines += [f"    v = o[{key}]", f"    __set{number}(obj, {value})"]
        else:
            scope[f"__default{number}"] = field.default
            lines += [
                f"    if {key} in o:",
                f"        v = o[{key}]",
                f"        __set{number}(obj, {value})",
                "    else:",
                f"        __set{number}(obj, __default{number})",
            ]
    lines.append("    return obj")
    source = "\n".join(lines) + "\n"
    filename = f"<ldstore generated {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), scope)  # noqa: S102 (generated above)
    function: Callable[[Any, Any], Any] = scope[name]
    return function


def _slot_setters(cls: type[Any]) -> list[Callable[[Any, Any], None]] | None:
    """Each field's slot setter, or None when ``__init__`` does more than assign."""
    fields = attrs.fields(attrs.resolve_types(cls))
    # A slot that is not a field (a cached hash, say) is one __init__ sets too.
    unknown_slots = set(getattr(cls, "__slots__", ())) - {f.name for f in fields} - {"__weakref__"}
    if unknown_slots or hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return None
    setters: list[Callable[[Any, Any], None]] = []
    for field in fields:
        slot = cls.__dict__.get(field.name)
        if (
            not isinstance(slot, types.MemberDescriptorType)
            or not field.init
            or field.validator is not None
            or field.converter is not None
            or isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]  # a class at run time
        ):
            return None
        setters.append(slot.__set__)
    return setters


def _value_source(type_: Any, suffix: str, scope: dict[str, Any]) -> str:
    """Source structuring ``v`` as ``type_``, with the hooks it calls put in ``scope``."""
    args = get_args(type_)
    optional = (
        get_origin(type_) in (Union, types.UnionType) and len(args) == 2 and type(None) in args  # noqa: PLR2004
    )
    inner = next(arg for arg in args if arg is not type(None)) if optional else type_
    hook = converter.get_structure_hook(inner)
    scope[f"__type{suffix}"] = inner
    if _calls_the_type(hook):
        source = f"__type{suffix}(v)"
    elif _homogeneous_tuple(inner) and _calls_the_type(
        converter.get_structure_hook(get_args(inner)[0])
    ):  # what _tuple_of returns, inlined
        scope[f"__element{suffix}"] = get_args(inner)[0]
        source = f"tuple(__map(__element{suffix}, v))"
    else:
        scope[f"__hook{suffix}"] = hook
        source = f"__hook{suffix}(v, __type{suffix})"
    # The same result as cattrs' optional hook, without its per-value dispatch.
    return f"None if v is None else {source}" if optional else source


@converter.register_unstructure_hook_factory(attrs.has)
def _unstructure(cls: type[Any]) -> Any:
    # A None default means "not set": leave it off so the server's default applies.
    return make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True, **_renames(cls))


def encode(value: object) -> bytes:
    """The JSON body for a request value."""
    # NaN and Infinity are not JSON: refuse them rather than send what servers reject.
    return json.dumps(converter.unstructure(value), separators=(",", ":"), allow_nan=False).encode()


def decode(body: bytes, cls: type[T]) -> T:
    """The model for a response body; raises one of ``DecodeError`` when it does not fit."""
    return converter.structure(_json.loads(body), cls)
