"""The models against the OpenAPI subset shipped in ldstore.testing: same schemas, same wire names."""

from typing import Any

import aiohttp
import attrs
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

import ldstore.models
from ldstore._codec import wire_name
from ldstore.funcs import RESOURCE
from ldstore.testing import FakeLaunchDarkly, openapi_document

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
# Schemas one model serves: a list item is an integration whose config is absent.
SAME_MODEL = {"BigSegmentStoreIntegrationSummary": "BigSegmentStoreIntegration"}
EXTRA_ON_PURPOSE = {
    # RFC 6902's "from" for move/copy; the subset's PatchOperation leaves it out.
    ("PatchOperation", "from"),
}


def _model(schema_name: str) -> type[Any]:
    model = getattr(ldstore.models, SAME_MODEL.get(schema_name, schema_name), None)
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


def _validator(schema_name: str) -> jsonschema.Draft7Validator:
    # The document as shipped, unpatched: what a user's own contract check sees.
    document = openapi_document()
    resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT7)
    registry: Registry[Any] = Registry[Any]().with_resource("urn:shipped", resource)
    return jsonschema.Draft7Validator(
        {"$ref": f"urn:shipped#/components/schemas/{schema_name}"}, registry=registry
    )


async def test_the_shipped_contract_validates_the_fakes_own_list() -> None:
    """openapi_document() as shipped accepts the fake's list answer (items without config)
    and still requires config of a single integration."""
    async with FakeLaunchDarkly() as fake, aiohttp.ClientSession() as session:
        _ = fake.seed_integration("default", "test", "redis", name="r", config={"host": "h"})
        headers = {"Authorization": fake.token, "LD-API-Version": "beta"}
        async with session.get(fake.url + RESOURCE, headers=headers) as response:
            listing: dict[str, Any] = await response.json()

    assert listing["items"]
    assert "config" not in listing["items"][0]
    assert list(_validator("BigSegmentStoreIntegrationCollection").iter_errors(listing)) == []  # pyright: ignore[reportUnknownMemberType]
    errors = list(_validator("BigSegmentStoreIntegration").iter_errors(listing["items"][0]))  # pyright: ignore[reportUnknownMemberType]
    assert [error.message for error in errors] == ["'config' is a required property"]
