import inspect
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldstore import patch
from ldstore.cli import main
from ldstore.patch import ABSENT, PatchOperation, PatchWithComment


def test_helpers_build_the_editable_fields_paths() -> None:
    """Each helper targets the documented field with the right op."""
    assert patch.replace_name("n") == PatchOperation("replace", "/name", "n")
    assert patch.set_on(True) == PatchOperation("replace", "/on", True)  # noqa: FBT003
    assert patch.replace_tags(("a", "b")) == PatchOperation("replace", "/tags", ["a", "b"])
    assert patch.add_tag("c") == PatchOperation("add", "/tags/-", "c")
    assert patch.set_config("host", "h") == PatchOperation("add", "/config/host", "h")
    assert patch.remove_config("password") == PatchOperation("remove", "/config/password")
    assert patch.if_version(4) == PatchOperation("test", "/version", 4)


def test_config_keys_are_escaped_as_json_pointer_tokens() -> None:
    """`/` and `~` inside a key cannot change which member is patched (RFC 6901)."""
    assert patch.escape_pointer("a/b~c") == "a~1b~0c"
    assert patch.set_config("a/b", 1).path == "/config/a~1b"


def test_with_comment_builds_the_envelope() -> None:
    """with_comment keeps the operations in order beside the comment."""
    body = patch.with_comment([patch.if_version(1), patch.set_on(False)], "pause")

    assert body.comment == "pause"
    assert [op.op for op in body.patch] == ["test", "replace"]


@pytest.mark.parametrize(
    ("op", "path", "value", "from_", "words"),
    [
        ("upsert", "/name", "x", None, "op must be one of"),
        ("replace", "name", "x", None, "JSON Pointer"),
        ("replace", "/name", ABSENT, None, "needs a value"),
        ("remove", "/name", None, None, "takes no value"),
        ("move", "/name", ABSENT, None, "from_ is required"),
        ("add", "/name", 1, "/tags", "from_ is required for move and copy, and only"),
    ],
)
def test_malformed_operations_are_refused(
    op: str, path: str, value: object, from_: str | None, words: str
) -> None:
    """A typo in an op, a path without `/`, or a misplaced value fails on construction."""
    with pytest.raises(ValueError, match=words):
        PatchOperation(op, path, value, from_)  # type: ignore[arg-type]  # deliberately wrong op names


def test_null_is_a_legal_replace_value() -> None:
    """`replace` with None means JSON null, distinct from an absent value."""
    operation = PatchOperation("replace", "/name", None)

    assert operation.value is None
    assert repr(ABSENT) == "ABSENT"


def test_every_helper_has_a_docstring() -> None:
    """Each public builder says what it does (help() and IDE tooltips show it)."""
    helpers = [getattr(patch, name) for name in patch.__all__]
    functions = [helper for helper in helpers if inspect.isfunction(helper)]

    assert len(functions) >= 15
    assert [f.__name__ for f in functions if not (f.__doc__ or "").strip()] == []


def test_remove_tag_replaces_the_list_without_it() -> None:
    """remove_tag keeps every other tag in order; a tag not there changes nothing."""
    assert patch.remove_tag(("a", "legacy", "b", "legacy"), "legacy") == PatchOperation(
        "replace", "/tags", ["a", "b"]
    )
    assert patch.remove_tag(["a"], "z") == patch.replace_tags(["a"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=5,
)
pointers = st.lists(st.text(max_size=5).map(patch.escape_pointer), max_size=3).map(
    lambda tokens: "".join(f"/{token}" for token in tokens)
)
operations = st.one_of(
    st.builds(PatchOperation, st.sampled_from(["add", "replace", "test"]), pointers, json_values),
    st.builds(PatchOperation, st.just("remove"), pointers),
    st.builds(
        PatchOperation, st.sampled_from(["move", "copy"]), pointers, from_=pointers.filter(bool)
    ),
)


@given(st.lists(operations, max_size=4), st.none() | st.text(max_size=10))
def test_patches_survive_the_wire_both_ways(ops: list[PatchOperation], comment: str | None) -> None:
    """body_to_wire then JSON then loads gives the same operations (and comment) back."""
    body: patch.PatchBody = ops if comment is None else PatchWithComment(ops, comment)

    text = json.dumps(patch.body_to_wire(body))

    assert patch.loads(text) == body
    assert patch.loads(text.encode()) == body
    assert [patch.from_wire(patch.to_wire(op)) for op in ops] == ops


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("replace", "is not an object but a string"),
        ({"op": "upsert", "path": "/name"}, "needs an op (add, remove, replace, move, copy, test)"),
        ({"op": "add", "path": 3, "value": 1}, "and a string path"),
        ({"op": "copy", "path": "/a", "from": 1}, "and a string from"),
        ({"op": "replace", "path": "/name"}, "a 'replace' operation needs a value"),
        ({"op": "remove", "path": "/name", "value": None}, "takes no value"),
        ({"op": "move", "path": "/a", "from": "a"}, "from_ must be a JSON Pointer"),
        ({"op": "add", "path": "name", "value": 1}, "path must be a JSON Pointer"),
    ],
)
def test_from_wire_refuses_what_is_not_an_operation(entry: object, words: str) -> None:
    """Each malformed wire operation is a ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=re.escape(words)):
        _ = patch.from_wire(entry)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xff\xfe[]", "is not UTF-8 text"),
        ("[{", "is not JSON"),
        ('{"patch": 3}', "must hold a JSON Patch array"),
        ('{"patch": [], "comment": 1}', "with a string comment"),
        ('[{"op": "add", "path": "/a"}]', "operation 1: a 'add' operation needs a value"),
        ('[{"op": "test", "path": "/v", "value": 1}, 7]', "operation 2 is not an object"),
        ("[" * 100_000 + "]" * 100_000, f"nests more than {patch.MAX_DEPTH} levels"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, f"nests more than {patch.MAX_DEPTH} levels"),
        ("[" * 70 + "]" * 70, f"nests more than {patch.MAX_DEPTH} levels"),
    ],
)
def test_loads_refuses_bad_documents_with_a_value_error(data: str | bytes, words: str) -> None:
    """Bad bytes, bad JSON, 100k-deep nesting, bad patches: a ValueError, never RecursionError.

    Bound: 100,000 levels of nesting are refused in well under the test's timeout.
    """
    with pytest.raises(ValueError, match=re.escape(words)):
        _ = patch.loads(data)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xc3\x28 not utf-8", "is not UTF-8 text"),
        (b"[" * 100_000, "nests more than 64 levels"),
        (b'[{"op": "frobnicate", "path": "/name"}]', "operation 1 needs an op"),
    ],
)
def test_a_bad_patch_file_is_one_error_line_and_exit_2(
    content: bytes, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ldstore update --patch FILE`: invalid UTF-8 or 100k-deep JSON is one line, exit 2.

    Bound: nothing is sent (the file is read before any Core exists); no traceback.
    """
    path = tmp_path / "patch.json"
    _ = path.write_bytes(content)

    code = main(
        [
            *("update", "--project", "p", "--environment", "e", "--integration", "redis"),
            *("--integration-id", "i", "--patch", str(path)),
        ]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert err.startswith(f"ldstore: error: --patch: {path}: ")
    assert words in err
