import pytest

from ldstore import patch
from ldstore.patch import ABSENT, PatchOperation


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
