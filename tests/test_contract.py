"""The models against the OpenAPI subset shipped in ldstore.testing: same schemas, same wire names."""

from typing import Any

import attrs
import pytest

import ldstore.models
from ldstore._codec import wire_name
from ldstore.testing import openapi_document

SCHEMAS: dict[str, Any] = openapi_document()["components"]["schemas"]
OBJECT_SCHEMAS = sorted(
    name
    for name, schema in SCHEMAS.items()
    if schema.get("type") == "object" and "properties" in schema and not name.endswith("ErrorRep")
)
# Documented departures from the subset, each with its reason.
OPTIONAL_ON_PURPOSE = {
    # The reference page: list items arrive without config although the schema requires it.
    ("BigSegmentStoreIntegration", "config"),
}
EXTRA_ON_PURPOSE = {
    # RFC 6902's "from" for move/copy; the subset's PatchOperation leaves it out.
    ("PatchOperation", "from"),
}


def _model(schema_name: str) -> type[Any]:
    model = getattr(ldstore.models, schema_name, None)
    assert model is not None, f"no model for the schema {schema_name}"
    assert attrs.has(model)
    return model


@pytest.mark.parametrize("schema_name", OBJECT_SCHEMAS)
def test_every_schema_has_a_model_with_its_wire_names(schema_name: str) -> None:
    """Each object schema has a model whose fields map to exactly its properties."""
    schema = SCHEMAS[schema_name]
    model = _model(schema_name)

    wire = {wire_name(field.name) for field in attrs.fields(model)}
    extra = {
        name
        for name in wire - set(schema["properties"])
        if (schema_name, name) not in EXTRA_ON_PURPOSE
    }

    assert wire >= set(schema["properties"]), f"{schema_name} lacks wire fields"
    assert not extra, f"{schema_name} has fields the schema does not: {extra}"


@pytest.mark.parametrize("schema_name", OBJECT_SCHEMAS)
def test_required_properties_are_required_fields(schema_name: str) -> None:
    """A property the schema requires has no default, except the documented absences."""
    schema = SCHEMAS[schema_name]
    fields = {wire_name(field.name): field for field in attrs.fields(_model(schema_name))}

    for name, field in fields.items():
        required = (
            name in schema.get("required", []) and (schema_name, name) not in OPTIONAL_ON_PURPOSE
        )
        assert (field.default is attrs.NOTHING) == required, f"{schema_name}.{name}"


def test_the_collection_and_patch_schemas_are_covered() -> None:
    """The schemas this test walks include the ones every operation returns or takes."""
    assert {
        "BigSegmentStoreIntegration",
        "BigSegmentStoreIntegrationCollection",
        "PatchOperation",
    } <= set(OBJECT_SCHEMAS)
