"""The environment and segment reads against the fake, whose answers the suite checks
against the shipped OpenAPI subset (``openapi_document("segments")``)."""

from __future__ import annotations

from typing import Any

import aiohttp
import attrs
import pytest
from sdk import ENVIRONMENT, PROJECT, core_for

from ldstore import Err, Ok
from ldstore._codec import wire_name
from ldstore.errors import InvalidRequestError, NotFoundError
from ldstore.funcs import get_big_segment_membership, get_environment, get_segment
from ldstore.models import BigSegmentMembership, Environment, Segment
from ldstore.operations import (
    GetBigSegmentMembershipRequest,
    GetEnvironmentRequest,
    GetSegmentRequest,
)
from ldstore.testing import FakeLaunchDarkly, openapi_document

SCHEMAS: dict[str, Any] = openapi_document("segments")["components"]["schemas"]
# Our model, and the schema of LaunchDarkly's spec it reads a part of.
READ_MODELS = [
    (Environment, "Environment"),
    (Segment, "UserSegment"),
    (BigSegmentMembership, "BigSegmentTarget"),
]


@pytest.mark.parametrize(("model", "schema_name"), READ_MODELS)
def test_the_read_models_are_a_subset_of_their_schemas(model: type[Any], schema_name: str) -> None:
    """Every field maps to a property of the schema; a field without a default is one the
    schema requires, so a real answer always decodes."""
    schema = SCHEMAS[schema_name]
    fields = {wire_name(field.name): field for field in attrs.fields(model)}

    assert set(fields) <= set(schema["properties"])
    required = {name for name, field in fields.items() if field.default is attrs.NOTHING}
    assert required <= set(schema["required"])


def test_the_environment_model_has_no_secret_field() -> None:
    """apiKey and mobileKey are in the schema, never in the model."""
    wire = {wire_name(field.name) for field in attrs.fields(Environment)}

    assert {"apiKey", "mobileKey"} <= set(SCHEMAS["Environment"]["properties"])
    assert not wire & {"apiKey", "mobileKey"}


async def test_the_environment_id_is_the_fakes_client_side_id(fake: FakeLaunchDarkly) -> None:
    """getEnvironment against the fake: the client-side ID the fake's stores are keyed by."""
    async with core_for(fake) as core:
        result = await get_environment(core, GetEnvironmentRequest(PROJECT, ENVIRONMENT))

    assert isinstance(result, Ok)
    assert result.value.id == fake.client_side_id(PROJECT, ENVIRONMENT)
    assert result.value.key == ENVIRONMENT
    assert [request.operation_id for request in fake.requests] == ["getEnvironment"]


async def test_a_big_segment_and_its_members_read_back(fake: FakeLaunchDarkly) -> None:
    """A seeded big segment: unbounded, generation 1; an included, an excluded and an
    unknown context (any Unicode key) answer included / excluded / neither."""
    _ = fake.add_big_segment(
        PROJECT, ENVIRONMENT, "vip", included=["ü/1 名"], excluded=["out"], context_kind="device"
    )

    async with core_for(fake) as core:
        segment = await get_segment(core, GetSegmentRequest(PROJECT, ENVIRONMENT, "vip"))
        members = [
            await get_big_segment_membership(
                core, GetBigSegmentMembershipRequest(PROJECT, ENVIRONMENT, "vip", key)
            )
            for key in ("ü/1 名", "out", "nobody")
        ]

    assert isinstance(segment, Ok)
    assert (segment.value.unbounded, segment.value.generation) == (True, 1)
    assert segment.value.unbounded_context_kind == "device"
    assert segment.value.ref == "vip.g1"
    assert [(m.value.included, m.value.excluded) for m in members if isinstance(m, Ok)] == [
        (True, False),
        (False, True),
        (False, False),
    ]
    assert [m.value.user_key for m in members if isinstance(m, Ok)] == ["ü/1 名", "out", "nobody"]


async def test_a_re_created_segment_reads_at_the_next_generation(fake: FakeLaunchDarkly) -> None:
    """Deleted and created again: generation 2, ref vip.g2, and its old members are gone."""
    _ = fake.add_big_segment(PROJECT, ENVIRONMENT, "vip", included=["a"])
    fake.delete_segment(PROJECT, ENVIRONMENT, "vip")
    _ = fake.add_big_segment(PROJECT, ENVIRONMENT, "vip")

    async with core_for(fake) as core:
        segment = await get_segment(core, GetSegmentRequest(PROJECT, ENVIRONMENT, "vip"))
        member = await get_big_segment_membership(
            core, GetBigSegmentMembershipRequest(PROJECT, ENVIRONMENT, "vip", "a")
        )

    assert isinstance(segment, Ok)
    assert segment.value.ref == "vip.g2"
    assert isinstance(member, Ok)
    assert member.value.included is False


async def test_unknown_segments_and_environments_are_not_found(fake: FakeLaunchDarkly) -> None:
    """The fake's documented 404s come back as Err(NotFoundError)."""
    async with core_for(fake) as core:
        results = [
            await get_segment(core, GetSegmentRequest(PROJECT, ENVIRONMENT, "nope")),
            await get_big_segment_membership(
                core, GetBigSegmentMembershipRequest(PROJECT, ENVIRONMENT, "nope", "a")
            ),
            await get_environment(core, GetEnvironmentRequest("no-such-project", ENVIRONMENT)),
        ]

    assert all(isinstance(r, Err) and isinstance(r.error, NotFoundError) for r in results)


async def test_membership_of_a_standard_segment_is_refused(fake: FakeLaunchDarkly) -> None:
    """A standard segment (made as a user would, by POST) has no membership route: 400."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fake.url}/api/v2/segments/{PROJECT}/{ENVIRONMENT}",
            json={"key": "plain", "name": "Plain"},
            headers={"Authorization": fake.token},
        ) as created,
    ):
        assert created.status == 201
    async with core_for(fake) as core:
        segment = await get_segment(core, GetSegmentRequest(PROJECT, ENVIRONMENT, "plain"))
        member = await get_big_segment_membership(
            core, GetBigSegmentMembershipRequest(PROJECT, ENVIRONMENT, "plain", "a")
        )

    assert isinstance(segment, Ok)
    assert segment.value.unbounded is False
    assert isinstance(member, Err)
    assert isinstance(member.error, InvalidRequestError)
