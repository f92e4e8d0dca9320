"""The speed extra's C parser (msgspec) gives exactly json.loads's outcomes on any body."""

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldstore import _json
from ldstore.models import BigSegmentStoreIntegration, BigSegmentStoreIntegrationCollection
from ldstore.wire import from_wire, to_wire

Loader = Callable[[bytes], object]
ACCELERATED: Loader = _json.loads
STDLIB: Loader = _json.loads_stdlib
MARK = "@@mutated@@"  # a string value the mutation replaces with raw JSON text

text = st.text(max_size=8)
json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
link = st.fixed_dictionaries({}, optional={"href": text, "type": text})
integration: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "_links": st.fixed_dictionaries(
            {"self": link, "parent": link, "project": link, "environment": link}
        ),
        "_id": text,
        "integrationKey": st.sampled_from(["redis", "dynamodb", "a-later-kind"]),
        "projectKey": text,
        "environmentKey": text,
        "on": st.booleans(),
        "tags": st.lists(text, max_size=3),
        "name": text,
        "version": st.integers(1, 10**6),
        "_status": st.fixed_dictionaries(
            {}, optional={"available": st.booleans(), "lastSync": st.integers(0, 2**42)}
        ),
    },
    optional={"config": st.dictionaries(text, json_values, max_size=3)},
)


def _nested(depth: int, *, objects: bool, inner: str = "1") -> str:
    if objects:
        return '{"a":' * depth + inner + "}" * depth
    return "[" * depth + inner + "]" * depth


# Raw JSON text where the parsers are known to differ, or might.
hard_literals = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E-400", "-0"]),
    st.integers(2**63 - 2, 2**200).map(str),  # beyond 64 bits
    st.integers(-(2**200), -(2**63) + 1).map(str),
    st.integers(4290, 4310).map(lambda digits: "9" * digits),  # around int_max_str_digits
    st.floats().map(repr).filter(lambda f: f not in {"nan", "inf", "-inf"}),
    st.sampled_from(
        [
            '"\\ud800"',  # lone surrogates, escaped
            '"\\udfff x"',
            '"\\ud83d\\ude00"',  # a valid pair
            '"\\ud83d"',
            '"\\u0000"',
            '"\\uZZZZ"',
            '"\\x41"',
        ]
    ),
    st.tuples(st.integers(1, 2000), st.booleans()).map(
        lambda spec: _nested(spec[0], objects=spec[1])
    ),
    st.booleans().map(lambda objects: _nested(100_000, objects=objects)),
    json_values.map(json.dumps),
)
# Raw bytes placed inside a string value: invalid and odd UTF-8.
hard_bytes = st.sampled_from(
    [
        b"\xff",
        b"\xc0\xaf",  # overlong
        b"\xed\xa0\x80",  # a surrogate encoded in UTF-8
        b"\xf4\x90\x80\x80",  # beyond U+10FFFF
        b"\xe2\x82",  # truncated
        b"\xef\xbf\xbf",  # a noncharacter
        b"\x7f",
        b"\x01",  # a raw control character
    ]
) | st.binary(min_size=1, max_size=4)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Integration or list JSON, with at most one mutation that parsers may disagree on."""
    item = draw(integration)
    kind = draw(
        st.sampled_from(["valid", "literal", "bytes", "duplicate", "flip", "encoding", "list"])
    )
    if kind == "literal":
        field = draw(st.sampled_from(["name", "version", "_id", "on", "config", "_status"]))
        item[field] = MARK
    if kind == "bytes":
        item["name"] = MARK
    if kind == "list":
        items = [item, draw(integration)]
        body = json.dumps({"_links": {"self": {}}, "items": items}).encode()
    else:
        body = json.dumps(item, ensure_ascii=draw(st.booleans())).encode()
    mark = json.dumps(MARK).encode()
    if kind == "literal":
        body = body.replace(mark, draw(hard_literals).encode())
    elif kind == "bytes":
        body = body.replace(mark, b'"' + draw(hard_bytes) + b'"')
    elif kind == "duplicate":
        key = draw(st.sampled_from(["name", "_id", "version", "on", "config"]))
        value = draw(hard_literals | json_values.map(json.dumps))
        repeat = f'"{key}":{value},'.encode()
        body = (
            b"{" + repeat + body[1:]
            if draw(st.booleans())
            else body[:-1] + b"," + repeat[:-1] + b"}"
        )
    elif kind == "flip":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + draw(st.binary(max_size=3)) + body[at + draw(st.integers(0, 2)) :]
    elif kind == "encoding":
        encoding = draw(st.sampled_from(["utf-8-sig", "utf-16", "utf-16-le", "utf-32"]))
        body = body.decode().encode(encoding)
    return body


def _shape(value: object) -> list[tuple[str, str]]:
    """The value as a flat token list: exact (types, reprs, NaN included) and not recursive,
    so a value nested as deep as the parsers allow can be compared."""
    tokens: list[tuple[str, str]] = []
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            entries = cast("dict[object, object]", item)
            tokens.append(("dict", str(len(entries))))
            for key, child in reversed(list(entries.items())):
                stack += [child, key]
        elif isinstance(item, list):
            elements = cast("list[object]", item)
            tokens.append(("list", str(len(elements))))
            stack += reversed(elements)
        else:
            tokens.append((type(item).__name__, repr(item)))
    return tokens


def parsed(loader: Loader, body: bytes) -> tuple[str, object]:
    """What a loader made of a body: the value's shape, or the exception's type and text."""
    try:
        value = loader(body)
    except (ValueError, RecursionError) as error:
        return type(error).__name__, str(error)
    return "ok", _shape(value)


def decoded(loader: Loader, body: bytes, cls: type[Any]) -> tuple[str, object]:
    """What decoding a body into a model gave: its wire shape, or the kind of error."""
    try:
        model = from_wire(loader(body), cls)
    except RecursionError:
        return "too deep", None
    except Exception as error:  # noqa: BLE001 (the kind of failure is what is compared)
        return "invalid", type(error).__name__
    try:
        return "ok", _shape(to_wire(model))
    except RecursionError:  # a config nested deeper than unstructuring can follow
        return "ok, too deep to compare", type(model).__name__


def test_the_test_extra_installs_the_accelerator() -> None:
    """The suite runs with msgspec, so the comparisons below compare two parsers."""
    assert _json.ACCELERATOR is not None
    assert _json.ACCELERATOR.startswith("msgspec ")
    assert ACCELERATED is not STDLIB


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_accelerated_parse_equals_the_stdlib(body: bytes) -> None:
    """For integration JSON with NaN, huge ints, surrogates, duplicate keys, deep nesting,
    bad UTF-8 or other encodings: the same value, or the same exception and message."""
    assert parsed(ACCELERATED, body) == parsed(STDLIB, body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_decoded_models_are_equal_with_and_without_the_accelerator(body: bytes) -> None:
    """A body decodes to equal models with either parser, or fails the same way."""
    cls = BigSegmentStoreIntegrationCollection if b'"items"' in body else BigSegmentStoreIntegration

    assert decoded(ACCELERATED, body, cls) == decoded(STDLIB, body, cls)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=32).map(str.encode))
def test_arbitrary_bytes_parse_the_same(body: bytes) -> None:
    """Any bytes at all: the same value or the same exception."""
    assert parsed(ACCELERATED, body) == parsed(STDLIB, body)


@pytest.mark.parametrize("objects", [False, True], ids=["arrays", "objects"])
def test_100k_levels_of_nesting_are_a_recursion_error_not_a_crash(objects: bool) -> None:  # noqa: FBT001
    """100,000 nested arrays or objects, bare or as a config: RecursionError from both
    parsers (the interpreter survives; funcs turn it into an Err)."""
    deep = _nested(100_000, objects=objects)
    wrapped = json.dumps({"name": "x", "config": MARK}).replace(json.dumps(MARK), deep)

    for body in (deep.encode(), wrapped.encode()):
        for loader in (ACCELERATED, STDLIB):
            with pytest.raises(RecursionError):
                _ = loader(body)


def _deepest(loader: Loader, *, objects: bool) -> int:
    """The deepest nesting ``loader`` accepts from this frame (a binary search)."""
    accepted, refused = 1, 200_000
    while refused - accepted > 1:
        depth = (accepted + refused) // 2
        try:
            _ = loader(_nested(depth, objects=objects).encode())
        except RecursionError:
            refused = depth
        else:
            accepted = depth
    return accepted


@pytest.mark.parametrize("objects", [False, True], ids=["arrays", "objects"])
def test_nesting_limit_is_the_stdlibs(objects: bool) -> None:  # noqa: FBT001
    """The accelerated parse refuses exactly the nesting json.loads refuses, from any depth
    of the caller's stack (the CPython-specific frame count in ldstore/_json.py holds)."""

    def at_depth(frames: int) -> tuple[int, int]:
        if frames:
            return at_depth(frames - 1)
        return _deepest(STDLIB, objects=objects), _deepest(ACCELERATED, objects=objects)

    for frames in (0, 100, 400):
        stdlib, accelerated = at_depth(frames)
        assert stdlib == accelerated
        assert stdlib > 100


def test_without_msgspec_the_stdlib_parses() -> None:
    """With msgspec not importable, loads is json.loads's wrapper and no accelerator is named."""
    program = (
        "import sys; sys.modules['msgspec'] = None\n"
        "from ldstore import _json\n"
        "assert _json.ACCELERATOR is None, _json.ACCELERATOR\n"
        "assert _json.loads is _json.loads_stdlib\n"
        "print(_json.loads(b'[1, NaN]'))\n"
    )

    done = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, nan]"
