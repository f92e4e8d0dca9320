"""The generated fast decoders build exactly what cattrs' own decoders build.

``ldstore._codec_gen`` relies on a private name of cattrs; this property is what guards
it: on arbitrary wire data, for every model, the fast decoder and
``make_dict_structure_fn`` return equal objects, or both raise.
"""

import collections
import json
import os
import subprocess
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldstore import _codec, _codec_gen, models
from ldstore._codec import converter, dict_structure_fn, wire_name

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _decodable(cls: type[Any]) -> bool:
    try:
        _ = dict_structure_fn(cls)
    except Exception:  # noqa: BLE001 (a request body or a helper: not decoded from the wire)
        return False
    return True


def _models() -> list[type[Any]]:
    found: list[type[Any]] = []
    for name in models.__all__:
        value: object = getattr(models, name)
        if isinstance(value, type) and attrs.has(value) and _decodable(value):
            found.append(value)
    return sorted(found, key=lambda cls: cls.__name__)


MODELS = _models()


def fitting(type_: Any, *, chaos: bool) -> st.SearchStrategy[Any]:
    """Wire values that decode as ``type_``; with ``chaos``, often ones that do not."""
    args = get_args(type_)
    if get_origin(type_) in (Union, types.UnionType):
        return st.one_of([fitting(arg, chaos=chaos) for arg in args])
    if type_ is type(None):
        return st.none()
    if isinstance(type_, type) and attrs.has(type_):
        return wire_objects(type_, chaos=chaos)
    if get_origin(type_) in (tuple, list, Sequence):
        return st.lists(fitting(args[0], chaos=chaos), max_size=2)
    if get_origin(type_) in (dict, Mapping) and args[1] is not Any:  # e.g. a Segment's links
        return st.dictionaries(st.text(max_size=6), fitting(args[1], chaos=chaos), max_size=2)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=8),
        models.IntegrationKey: st.sampled_from(["redis", "dynamodb", "cassandra"]),
        bool: st.booleans(),
        int: st.integers(-(2**40), 2**40),
        float: st.floats(allow_nan=False, allow_infinity=False),
        datetime: st.integers(-(2**42), 2**42),
        Mapping[str, Any]: st.dictionaries(st.text(max_size=6), json_values, max_size=3),
    }
    return simple.get(type_, json_values)


_BUILT: dict[tuple[str, bool], st.SearchStrategy[dict[str, Any]]] = {}


def wire_objects(cls: type[Any], *, chaos: bool) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects for ``cls`` with unknown keys added; with ``chaos``, keys left out and
    values of any JSON type, at every level."""
    key = (cls.__qualname__, chaos)
    if key not in _BUILT:
        _BUILT[key] = _wire_objects(cls, chaos=chaos)
    return _BUILT[key]


def _wire_objects(cls: type[Any], *, chaos: bool) -> st.SearchStrategy[dict[str, Any]]:
    fields = attrs.fields(attrs.resolve_types(cls))
    values = {
        wire_name(field.name): st.one_of(fitting(field.type, chaos=chaos), json_scalars)
        if chaos
        else fitting(field.type, chaos=chaos)
        for field in fields
    }
    required = {wire_name(field.name) for field in fields if field.default is attrs.NOTHING}
    shaped = st.fixed_dictionaries(
        {key: value for key, value in values.items() if key in required and not chaos},
        optional={key: value for key, value in values.items() if key not in required or chaos},
    )
    extra = st.dictionaries(st.text(max_size=6), json_scalars, max_size=1)
    return st.builds(_merged, shaped, extra)


def _merged(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    return {**more, **base}


def outcome(decode: Callable[[Any, Any], Any], wire: object, cls: type[Any]) -> tuple[str, Any]:
    try:
        return ("ok", decode(wire, cls))
    except Exception:  # noqa: BLE001 (which error each raises may differ; that both raise may not)
        return ("raised", None)


def test_the_fast_path_covers_the_response_models() -> None:
    """The models a list or get decodes all take the generated path, so the property tests it."""
    fast = {
        cls.__name__
        for cls in MODELS
        if _codec_gen.slot_structure_fn(cls, converter, wire_name) is not None
    }

    assert {
        "BigSegmentStoreIntegrationCollection",
        "BigSegmentStoreIntegration",
        "BigSegmentStoreStatus",
        "StoreIntegrationError",
        "Access",
        "AccessAllowedReason",
        "Link",
    } <= fast
    assert len(MODELS) >= len(fast) >= 12


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_fast_decoders_equal_cattrs_own(cls: type[Any], data: st.DataObject) -> None:
    """On arbitrary wire data the codec's decoder and make_dict_structure_fn agree (or both raise)."""
    wire = data.draw(wire_objects(cls, chaos=False) | wire_objects(cls, chaos=True))
    fast = _codec.converter.get_structure_hook(cls)
    slow = dict_structure_fn(cls)

    assert outcome(fast, wire, cls) == outcome(slow, wire, cls)


redis_configs = st.builds(
    models.RedisConfig,
    host=st.text(min_size=1).filter(str.strip),
    port=st.integers(1, 65535),
    username=st.none() | st.text(),
    password=st.none() | st.text(),
    tls_enabled=st.booleans(),
)
dynamodb_configs = st.builds(
    models.DynamoDBConfig,
    table_name=st.text(min_size=1).filter(str.strip),
    region=st.sampled_from(sorted(models.DYNAMODB_REGIONS)),
    role_arn=st.text().map(lambda rest: f"arn:{rest}"),
    external_id=st.text(min_size=1).filter(str.strip),
)


@given(redis_configs | dynamodb_configs)
def test_generated_config_encoders_equal_the_metadata_rule(config: models.TypedConfig) -> None:
    """The generated encoder gives what the rule says: each set value, by wire name, to_wire'd."""
    rule = {
        field.wire: field.to_wire(value)
        for field in models.config_fields(type(config))
        if (value := getattr(config, field.name)) is not None
    }

    assert converter.unstructure(config) == rule


def test_a_built_model_is_the_model() -> None:
    """The decoders fill a builder and switch its class: CPython must allow the switch,
    and what it gives must be the frozen model itself, equal to one from ``__init__``."""
    built: Any = _codec_gen.builder(models.Link)()
    built.href = "/a"
    built.type = "application/json"
    built.__class__ = models.Link

    made = models.Link(href="/a", type="application/json")
    assert type(built) is models.Link
    assert built == made
    assert hash(built) == hash(made)
    assert repr(built) == repr(made)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.href = "/b"  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]  # what it refuses
    assert built.href == "/a"


_SPECIALISED = """
import dis
from ldstore import _codec, models
hook = _codec.converter.get_structure_hook(models.Link)
for _ in range(64):  # past the warm-up after which CPython specialises
    hook({"href": "/a", "type": "t"}, models.Link)
print(sorted({i.opname for i in dis.get_instructions(hook, adaptive=True)}))
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="CPython specialises from 3.11")
def test_a_builders_stores_are_specialised() -> None:
    """Why the builders exist: their attribute stores become CPython's specialised slot
    stores (a frozen model's go through a C setter call, eight times the instructions).
    If CPython stops specialising them, the decoders keep working but lose their point.
    In a child process without coverage: a tracer turns specialisation off."""
    untraced = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE")}
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", _SPECIALISED],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=untraced,
    )

    assert "STORE_ATTR_SLOT" in done.stdout


def test_a_config_mapping_decodes_as_cattrs_decodes_it() -> None:
    """A JSON object's config is copied whole; any other mapping (keys that are not str,
    a dict subclass) goes through cattrs' rule, keys made str."""
    hook = converter.get_structure_hook(Mapping[str, Any])
    wire = {"host": "h", "port": "6379"}

    copied = hook(wire, Mapping[str, Any])
    assert copied == wire
    assert copied is not wire  # the model never shares the caller's dict
    assert hook({1: "a", "b": 2}, Mapping[str, Any]) == {"1": "a", "b": 2}
    assert type(hook(collections.OrderedDict(wire), Mapping[str, Any])) is dict


# The response models: every model but the request bodies and the store configs (which
# the caller builds), so that models added later are covered as they come.
RESPONSE_MODELS = [
    cls
    for cls in MODELS
    if not models.config_fields(cls)
    and cls not in (models.PatchOperation, models.IntegrationDeliveryConfigurationPost)
]
FIELDS = [
    (cls, field.name) for cls in RESPONSE_MODELS for field in attrs.fields(attrs.resolve_types(cls))
]
# One strategy per JSON kind; an "integral" number (2.0) is an integer, as JSON Schema says.
KINDS: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(-(2**63), 2**63),
    "integral": st.integers(-(2**50), 2**50).map(float),
    "fraction": st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda number: not number.is_integer()
    ),
    "string": st.text(max_size=5),
    "array": st.lists(json_scalars, max_size=2),
    "object": st.dictionaries(st.text(max_size=4), json_scalars, max_size=2),
}


def accepted(type_: Any) -> set[str]:  # noqa: PLR0911 (one answer per kind of type)
    """The JSON kinds a field of ``type_`` takes (null only where it is optional)."""
    args = get_args(type_)
    if get_origin(type_) in (Union, types.UnionType):
        kinds: set[str] = set()
        for arg in args:
            kinds |= accepted(arg)
        return kinds
    if type_ is type(None):
        return {"null"}
    if type_ in (str, models.IntegrationKey):
        return {"string"}
    if type_ is bool:
        return {"boolean"}
    if type_ in (int, datetime):
        return {"integer", "integral"}
    if type_ is float:
        return {"integer", "integral", "fraction"}
    if get_origin(type_) in (tuple, list, Sequence):
        return {"array"}
    if get_origin(type_) in (dict, Mapping) or attrs.has(type_):
        return {"object"}
    pytest.skip(f"no rule for {type_!r} here yet: add its JSON kinds to accepted()")


@pytest.mark.parametrize(("cls", "name"), FIELDS, ids=lambda x: getattr(x, "__name__", x))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_a_field_of_the_wrong_json_type_is_refused_naming_it(
    cls: type[Any], name: str, data: st.DataObject
) -> None:
    """A value of a JSON type its field does not take (a bool for an int, an int for a
    bool, null for a required string, a string for a list, 1.9 for an int) is refused by
    the fast decoder and cattrs' alike, and the error names the field."""
    field = attrs.fields_dict(attrs.resolve_types(cls))[name]
    wrong = sorted(set(KINDS) - accepted(field.type))
    wire = data.draw(wire_objects(cls, chaos=False))
    wire[wire_name(name)] = data.draw(st.one_of([KINDS[kind] for kind in wrong]))

    assert outcome(converter.get_structure_hook(cls), wire, cls)[0] == "raised"
    assert outcome(dict_structure_fn(cls), wire, cls)[0] == "raised"
    with pytest.raises(_codec.WrongShapeError) as refused:
        _ = _codec.decode(json.dumps(wire).encode(), cls)
    assert refused.value.field == wire_name(name)


def test_the_classic_wrong_types_are_refused() -> None:
    """The probe's examples: "false" is not False, null is not 'None', a string is not a
    tuple of its characters, 1.9 is not 1; each names its field, nested ones by path."""
    cases: list[tuple[dict[str, Any], type[Any], str]] = [
        ({"available": "false"}, models.BigSegmentStoreStatus, "available"),
        (
            {"errors": [{}, {"statusCode": 1.9}]},
            models.BigSegmentStoreStatus,
            "errors[1].statusCode",
        ),
        ({"effect": None}, models.AccessAllowedReason, "effect"),
        ({"effect": "allow", "resources": "abc"}, models.AccessAllowedReason, "resources"),
        ({"statusCode": True}, models.StoreIntegrationError, "statusCode"),
        ({"self": "https://x"}, models.BigSegmentStoreIntegrationCollectionLinks, "self"),
        ({"self": {}, "parent": []}, models.BigSegmentStoreIntegrationCollectionLinks, "parent"),
    ]

    for wire, cls, path in cases:
        with pytest.raises(_codec.WrongShapeError) as refused:
            _ = _codec.decode(json.dumps(wire).encode(), cls)
        assert refused.value.field == path, wire


def test_a_missing_required_field_is_named() -> None:
    """A required key left out is named as missing, at its path."""
    with pytest.raises(_codec.WrongShapeError) as refused:
        _ = _codec.decode(
            b'{"_links": {}, "items": []}', models.BigSegmentStoreIntegrationCollection
        )

    assert refused.value.field == "_links.self"
    assert "missing" in refused.value.problem


@pytest.mark.parametrize("cls", RESPONSE_MODELS, ids=lambda cls: cls.__name__)
def test_both_decoders_take_objects_only(cls: type[Any]) -> None:
    """A model is decoded from a JSON object only: a string or a list would answer the
    decoders' `key in value` tests and make a model of defaults (a Link from "abc")."""
    for value in ("", "href", [], ["href", "self"], 0, None, True):
        assert outcome(converter.get_structure_hook(cls), value, cls)[0] == "raised", value
        assert outcome(dict_structure_fn(cls), value, cls)[0] == "raised", value


@pytest.mark.parametrize("cls", RESPONSE_MODELS, ids=lambda cls: cls.__name__)
def test_a_model_given_another_json_value_says_it_expected_an_object(cls: type[Any]) -> None:
    """Whether or not its fast decoder tests the type first (one whose first field is
    required lets `value[key]` raise instead), the fault is named in JSON's words."""
    for value, kind in (("abc", "a string"), ([1], "an array"), (0, "an integer"), (None, "null")):
        with pytest.raises(_codec.WrongShapeError) as refused:
            _ = _codec.decode(json.dumps(value).encode(), cls)
        assert (refused.value.field, refused.value.problem) == (
            "",
            f"expected an object, not {kind}",
        )
    nested = {"_links": "abc", "_id": "x"}
    with pytest.raises(_codec.WrongShapeError) as refused:
        _ = _codec.decode(json.dumps(nested).encode(), models.BigSegmentStoreIntegration)
    assert (refused.value.field, refused.value.problem) == (
        "_links",
        "expected an object, not a string",
    )


def test_a_string_subclass_is_its_plain_string_in_both_decoders() -> None:
    """A Python caller's str subclass (an enum member) in a string field: the generated
    decoder's inline test and cattrs' hook both keep its plain string."""
    wire = {"href": models.IntegrationKey.REDIS, "type": "application/json"}

    fast = converter.get_structure_hook(models.Link)(wire, models.Link)
    slow = dict_structure_fn(models.Link)(wire, models.Link)

    assert fast == slow
    assert (fast.href, type(fast.href), type(slow.href)) == ("redis", str, str)


@pytest.mark.parametrize("cls", RESPONSE_MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_a_mapping_of_another_type_decodes_as_its_dict(cls: type[Any], data: st.DataObject) -> None:
    """A caller's mapping that is not a dict (a read-only view, an OrderedDict) decodes as
    the dict it holds would, by the generated decoder and cattrs' alike."""
    wire = data.draw(wire_objects(cls, chaos=False))
    as_dict = outcome(converter.get_structure_hook(cls), wire, cls)
    for other in (types.MappingProxyType(wire), collections.OrderedDict(wire)):
        assert outcome(converter.get_structure_hook(cls), other, cls) == as_dict
        assert outcome(dict_structure_fn(cls), other, cls) == as_dict
