"""The codec's fast path: generated decoders that build the same objects as cattrs, faster.

``_codec`` holds the wire rules (names, timestamps, omissions); this module only makes
decoding them cheaper, the way cattrs keeps its ``gen`` package apart from its
converters. It depends on one private name of cattrs, the hook it uses for ``str``,
``int``, ``bool``, ... (``Converter._structure_call``); ``tests/test_codec_gen.py``
checks, for every model on arbitrary wire data, that these decoders and cattrs' own
``make_dict_structure_fn`` agree, so a cattrs change that breaks the assumption fails
there.
"""

from __future__ import annotations

import gc
import linecache
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, Union, get_args, get_origin

import attrs
from cattrs import Converter

__all__ = [
    "builder",
    "exact",
    "homogeneous_tuple",
    "json_kind",
    "refuse",
    "settings_unstructure_fn",
    "slot_structure_fn",
    "tuple_structure_fn",
]


def homogeneous_tuple(type_: Any) -> bool:
    """Whether ``type_`` is ``tuple[X, ...]``."""
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis  # noqa: PLR2004


_KINDS: dict[type, str] = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def json_kind(value: object) -> str:
    """What a parsed JSON value is, in JSON's words (``"a string"``, ``"null"``, ...)."""
    return _KINDS.get(type(value)) or f"a {type(value).__name__}"


def refuse(value: object, expected: str) -> NoReturn:
    """Raise the ``TypeError`` for a wire value of the wrong JSON type."""
    msg = f"expected {expected}, not {json_kind(value)}"
    raise TypeError(msg)


# The hooks made by ``exact``, each with the type it passes through unchanged.
_EXACT: dict[object, type] = {}


def exact(type_: type, otherwise: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    """A structure hook keeping a value of exactly ``type_`` as it is and handing any other
    to ``otherwise`` (which converts it or raises): the strict rule for JSON scalars (a
    bool is not an int, null is not a string). The generated decoders inline its test."""

    def hook(value: Any, _: Any) -> Any:
        if value.__class__ is type_:
            return value
        return otherwise(value)

    _EXACT[hook] = type_
    return hook


def _exact_type(hook: object) -> type | None:
    try:
        return _EXACT.get(hook)
    except TypeError:  # an unhashable hook (a partial of a dict, say): not one of ours
        return None


def _calls_the_type(converter: Converter, hook: object) -> bool:
    """Whether ``hook`` is cattrs' hook for str, int, bool, ...: ``type_(value)``."""
    # cattrs has no public name for it.
    return hook == converter._structure_call  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]


def tuple_structure_fn(
    type_: Any, converter: Converter
) -> Callable[[Iterable[Any], Any], tuple[Any, ...]]:
    """A hook for ``tuple[X, ...]`` that looks X's hook up once, not for every tuple."""
    element = get_args(type_)[0]
    hook = converter.get_structure_hook(element)
    passed = _exact_type(hook)
    if passed is not None:
        return _exact_each(element, hook, passed)
    if _calls_the_type(converter, hook):
        return _call_each(element)

    def structure_each(value: Iterable[Any], _: Any) -> tuple[Any, ...]:
        # Empty lists are common (an integration's _access): skip the comprehension.
        if value == []:
            return ()
        if value.__class__ is not list:
            refuse(value, "an array")
        if isinstance(value, list) and len(value) >= GC_PAUSE_ITEMS and gc.isenabled():  # pyright: ignore[reportUnknownArgumentType]
            # CPython's cyclic GC runs every 700 new containers and rescans the young
            # ones each time: while a long list is decoded into thousands of instances
            # that all survive, every run is wasted (9% of decoding 2000 integrations).
            # Paused for the list only, and switched back on whatever happens;
            # tests/test_codec_gen.py (test_a_long_list_decodes_without_gc_runs) fails
            # if the pause stops holding.
            gc.disable()
            try:
                return tuple([hook(item, element) for item in value])
            finally:
                gc.enable()
        return tuple([hook(item, element) for item in value])

    return structure_each


GC_PAUSE_ITEMS = 64  # a list this long is decoded with the cyclic GC paused


def _exact_each(
    element: Any, hook: Callable[[Any, Any], Any], passed: type
) -> Callable[[Any, Any], tuple[Any, ...]]:
    """A list's hook for elements of an ``exact`` hook: kept when all are of its type."""

    def exact_each(value: Any, _: Any) -> tuple[Any, ...]:
        if value.__class__ is not list:
            refuse(value, "an array")
        for item in value:  # pyright: ignore[reportUnknownVariableType]
            if item.__class__ is not passed:  # pyright: ignore[reportUnknownMemberType]
                # converted or refused, one by one
                return tuple([hook(item, element) for item in value])  # pyright: ignore[reportUnknownVariableType]
        return tuple(value)  # pyright: ignore[reportUnknownArgumentType]

    return exact_each


def _call_each(element: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
    """A list's hook for elements cattrs makes by calling their type."""

    def call_each(value: Any, _: Any) -> tuple[Any, ...]:
        if value.__class__ is not list:
            refuse(value, "an array")
        return tuple(map(element, value))  # pyright: ignore[reportUnknownArgumentType]

    return call_each


# Decoding a list of 2000 integrations builds 16,000 model instances, so per-instance
# costs dominate. A frozen attrs __init__ sets each field through object.__setattr__, and
# cattrs' generated function gathers keyword arguments in a dict before calling it. For a
# class whose __init__ only assigns (no validator, converter, factory or post-init), the
# decoder generated below fills a builder (see ``builder``) with plain attribute stores
# and then makes it the model, resolving every field's hook when it is generated: the
# same instances, in about a fifth of the time.
def slot_structure_fn(
    cls: type[Any], converter: Converter, wire_name: Callable[[str], str]
) -> Callable[[Any, Any], Any] | None:
    """A decoder filling ``cls``'s slots from wire keys, or None when ``__init__`` does more."""
    if _builder(cls) is None:
        return None
    name = f"structure_{cls.__name__}"
    scope: dict[str, Any] = {}
    body = _build(cls, "o", "obj", "", 0, scope, converter, wire_name)
    lines = [f"def {name}(o, _=None):", *_indented(body), "    return obj"]
    function: Callable[[Any, Any], Any] = _compiled(name, lines, scope)
    _GENERATED[function] = cls
    return function


def builder(cls: type[Any]) -> type[Any]:
    """A subclass of the frozen ``cls`` whose instances take plain attribute stores;
    ``obj.__class__ = cls`` then makes one a ``cls``, equal to one built by ``cls(...)``.

    Why: an attribute store on a frozen class goes through its ``__setattr__`` (it
    refuses) or a slot descriptor's ``__set__`` (a C call, ~700 instructions), while a
    store on this subclass is CPython's specialised slot store (~90), and the class
    switch costs about what one ``__set__`` does. The subclass adds no slot and no
    ``__dict__``, which is what lets CPython switch an instance's class between the two
    (``tests/test_codec_gen.py::test_a_built_model_is_the_model`` fails if that stops
    holding). ``TypeError`` when ``__init__`` does more than assign.
    """
    made = _builder(cls)
    if made is None:
        msg = f"{cls.__name__}.__init__ does more than assign its fields"
        raise TypeError(msg)
    return made


# The decoders generated so far, each with its class: a model nested in another (an
# integration's links, status, access) is built inline in its parent's decoder, which
# spares a call per nested model (7 per integration).
_GENERATED: dict[Callable[[Any, Any], Any], type[Any]] = {}
_MAX_INLINE_DEPTH = 3  # deeper models are called, not inlined
_BUILDERS: dict[type[Any], type[Any] | None] = {}


def _indented(lines: list[str]) -> list[str]:
    return [f"    {line}" for line in lines]


def _build(  # noqa: PLR0913, PLR0917 (one generation step's whole context)
    cls: type[Any],
    source: str,
    target: str,
    prefix: str,
    depth: int,
    scope: dict[str, Any],
    converter: Converter,
    wire_name: Callable[[str], str],
) -> list[str]:
    """Lines building a ``cls`` from the mapping named ``source`` into ``target``."""
    scope[f"__cls{prefix}"] = cls
    scope[f"__builder{prefix}"] = _builder(cls)
    scope["__refuse"] = refuse
    scope["__Mapping"] = Mapping
    fields = attrs.fields(cls)
    lines = [f"{target} = __builder{prefix}()"]
    if not fields or fields[0].default is not attrs.NOTHING:
        # A string or a list would answer `in` and sink a model's defaults: objects (or a
        # caller's mappings) only; the ABC is asked only of what is not a dict. A
        # required first field needs no test: `value[key]` raises for anything else.
        test = f"type({source}) is not dict and not isinstance({source}, __Mapping)"
        lines.insert(0, f"if {test}: __refuse({source}, 'an object')")
    v = f"v{depth}"
    for number, field in enumerate(fields):
        suffix = f"{prefix}_{number}"
        store = f"{target}.{field.name}"
        key = repr(wire_name(field.name))
        prepare, value = _value(field.type, suffix, v, depth, scope, converter, wire_name)
        if field.default is attrs.NOTHING:  # required: a missing key is a KeyError
            lines += [f"{v} = {source}[{key}]", *prepare, f"{store} = {value}"]
        else:
            scope[f"__default{suffix}"] = field.default
            lines += [
                f"if {key} in {source}:",
                f"    {v} = {source}[{key}]",
                *_indented(prepare),
                f"    {store} = {value}",
                "else:",
                f"    {store} = __default{suffix}",
            ]
    return [*lines, f"{target}.__class__ = __cls{prefix}"]


def _value(  # noqa: PLR0913, PLR0917 (one generation step's whole context)
    type_: Any,
    suffix: str,
    v: str,
    depth: int,
    scope: dict[str, Any],
    converter: Converter,
    wire_name: Callable[[str], str],
) -> tuple[list[str], str]:
    """Lines to run first and the expression structuring ``v`` as ``type_``."""
    args = get_args(type_)
    optional = (
        get_origin(type_) in (Union, types.UnionType) and len(args) == 2 and type(None) in args  # noqa: PLR2004
    )
    inner = next(arg for arg in args if arg is not type(None)) if optional else type_
    nested = _GENERATED.get(converter.get_structure_hook(inner))
    if nested is None or depth >= _MAX_INLINE_DEPTH:
        return [], _value_source(type_, suffix, scope, converter, v)
    target = f"n{suffix}"
    build = _build(nested, v, target, suffix, depth + 1, scope, converter, wire_name)
    if optional:  # the same result as cattrs' optional hook
        build = [f"if {v} is None:", f"    {target} = None", "else:", *_indented(build)]
    return build, target


def _builder(cls: type[Any]) -> type[Any] | None:
    """``builder(cls)``, made once; None when ``__init__`` does more than assign."""
    if cls not in _BUILDERS:
        _BUILDERS[cls] = _make_builder(cls) if _only_assigns(cls) else None
    return _BUILDERS[cls]


def _make_builder(cls: type[Any]) -> type[Any]:
    return type(
        f"{cls.__name__}Builder",
        (cls,),
        {
            "__slots__": (),  # cls's slots only: the layout the class switch requires
            # Not the frozen refusals: both, as they share one C slot, which must be
            # CPython's generic one for its attribute stores to be specialised.
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__init__": object.__init__,  # built empty, then filled
            "__module__": __name__,
        },
    )


def _only_assigns(cls: type[Any]) -> bool:
    """Whether ``cls.__init__`` only assigns its fields, each to its own slot."""
    fields = attrs.fields(attrs.resolve_types(cls))
    # A slot that is not a field (a cached hash, say) is one __init__ sets too.
    unknown_slots = set(getattr(cls, "__slots__", ())) - {f.name for f in fields} - {"__weakref__"}
    if unknown_slots or hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    for field in fields:
        # An inherited field's slot belongs to the base class that declared it.
        slot = next((k.__dict__[field.name] for k in cls.__mro__ if field.name in k.__dict__), None)
        if (
            not isinstance(slot, types.MemberDescriptorType)
            or not field.init
            or field.validator is not None
            or field.converter is not None
            or isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]  # a class at run time
        ):
            return False
    return True


def _value_source(
    type_: Any, suffix: str, scope: dict[str, Any], converter: Converter, v: str
) -> str:
    """Source structuring the variable ``v`` as ``type_``, with the hooks it calls put in
    ``scope``."""
    args = get_args(type_)
    optional = (
        get_origin(type_) in (Union, types.UnionType) and len(args) == 2 and type(None) in args  # noqa: PLR2004
    )
    inner = next(arg for arg in args if arg is not type(None)) if optional else type_
    hook = converter.get_structure_hook(inner)
    scope[f"__type{suffix}"] = inner
    passed = _exact_type(hook)
    if passed is str:
        # The strict rule in three bytecodes, not eight: `s + ""` is `s` itself for a
        # string and a TypeError for any other JSON value (the hook, which locate()
        # calls, then names the fault).
        source = f"{v} + ''"
    elif passed is not None:  # what the hook does, with its common case inlined
        scope[f"__hook{suffix}"] = hook
        scope[f"__exact{suffix}"] = passed
        source = f"{v} if type({v}) is __exact{suffix} else __hook{suffix}({v}, __type{suffix})"
    elif _calls_the_type(converter, hook):
        source = f"__type{suffix}({v})"
    else:
        scope[f"__hook{suffix}"] = hook
        source = f"__hook{suffix}({v}, __type{suffix})"
        if homogeneous_tuple(inner):
            # What tuple_structure_fn's hook answers an empty list (an integration's
            # _access has two), without the call.
            source = f"() if {v} == [] else {source}"
    # The same result as cattrs' optional hook, without its per-value dispatch.
    return f"None if {v} is None else {source}" if optional else source


def settings_unstructure_fn(
    name: str, settings: Sequence[tuple[str, str, Callable[[Any], Any] | None]]
) -> Callable[[Any], dict[str, Any]]:
    """An encoder for a store config: each ``(wire key, attribute, to_wire or None)``.

    Builds what a loop over ``settings`` would (``None`` values left off, ``to_wire``
    applied where given), generated so that a create costs what the hand-written hooks
    it replaced cost.
    """
    scope: dict[str, Any] = {}
    lines = [f"def unstructure_{name}(c):", "    w = {}"]
    for number, (key, attribute, to_wire) in enumerate(settings):
        scope[f"__to{number}"] = to_wire
        value = "v" if to_wire is None else f"__to{number}(v)"
        lines += [f"    v = c.{attribute}", f"    if v is not None: w[{key!r}] = {value}"]
    lines.append("    return w")
    function: Callable[[Any], dict[str, Any]] = _compiled(f"unstructure_{name}", lines, scope)
    return function


def _compiled(name: str, lines: list[str], scope: dict[str, Any]) -> Any:
    source = "\n".join(lines) + "\n"
    filename = f"<ldstore generated {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), scope)  # noqa: S102 (generated from our own names)
    return scope[name]
