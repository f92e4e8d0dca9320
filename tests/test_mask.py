"""The API's mask of a stored secret is never written back (issue 21, point 7).

One rule in the SDK (``configs.masked_secret``, ``patch.masked_write``), applied by the
create and patch funcs before anything is sent, and by plan() for an apply file, where the
mask means "keep the stored secret".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile import answer, core_at, integration, serve
from hypothesis import given
from hypothesis import strategies as st
from sdk import REDIS_WIRE, core_for, seed_redis, sent

from ldstore import Err, Ok
from ldstore.configs import masked_secret
from ldstore.errors import InputValidationError
from ldstore.funcs import create_big_segment_store_integration, patch_big_segment_store_integration
from ldstore.models import MASKED, IntegrationDeliveryConfigurationPost, RedisConfig
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import (
    PatchBody,
    PatchOperation,
    PatchWithComment,
    if_version,
    masked_write,
    set_config,
)
from ldstore.testing import FakeLaunchDarkly
from ldstore.text import MASK
from ldstore.workflows import apply, load_desired, plan


def test_the_mask_is_one_constant() -> None:
    """models.MASKED is ldstore.text.MASK: one edit follows the real API if it differs."""
    assert MASKED is MASK
    assert MASK == "********"


def _patch(body: PatchBody) -> PatchBigSegmentStoreIntegrationRequest:
    return PatchBigSegmentStoreIntegrationRequest("default", "production", "redis", "abc", body)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([set_config("password", MASKED)], "config.password"),
        ([if_version(3), PatchOperation("replace", "/config/password", MASKED)], "config.password"),
        (PatchWithComment([set_config("password", MASKED)], "copy"), "config.password"),
        (
            [PatchOperation("replace", "/config", {**REDIS_WIRE, "password": MASKED})],
            "config.password",
        ),
        ([PatchOperation("add", "/config", RedisConfig("h", password=MASKED))], "config.password"),
    ],
    ids=["set_config", "replace", "with-comment", "whole-config", "typed-config"],
)
async def test_a_patch_writing_the_mask_sends_nothing(body: PatchBody, field: str) -> None:
    """Writing "********" as the password, however spelt: Err(InputValidationError) naming
    the field; 0 requests reach the server."""
    async with serve(answer(200, integration())) as server, core_at(server.url) as core:
        result = await patch_big_segment_store_integration(core, _patch(body))

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert result.error.field == field
    assert field in str(result.error)
    assert server.hits == []


@pytest.mark.parametrize(
    "body",
    [
        [set_config("host", MASKED)],  # not a secret: a (strange) host name
        [PatchOperation("test", "/config/password", MASKED)],  # a test writes nothing
        [PatchOperation("remove", "/config/password")],
        [set_config("password", "********-but-longer")],
    ],
    ids=["not-a-secret", "test-op", "remove", "not-the-mask"],
)
async def test_other_patches_are_sent(body: PatchBody) -> None:
    """Only a secret written as exactly the mask is refused: these reach the server once."""
    async with serve(answer(200, integration())) as server, core_at(server.url) as core:
        result = await patch_big_segment_store_integration(core, _patch(body))

    assert isinstance(result, Ok)
    assert len(server.hits) == 1


@pytest.mark.parametrize(
    "config",
    [RedisConfig("h", password=MASKED), {"host": "h", "password": MASKED}],
    ids=["typed", "mapping"],
)
async def test_a_create_with_a_masked_password_sends_nothing(config: Any) -> None:
    """A create whose password is the mask: Err naming config.password; 0 requests."""
    request = CreateBigSegmentStoreIntegrationRequest(
        "default", "production", "redis", IntegrationDeliveryConfigurationPost(config, name="n")
    )

    async with serve(answer(201, integration())) as server, core_at(server.url) as core:
        result = await create_big_segment_store_integration(core, request)

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert result.error.field == "config.password"
    assert server.hits == []


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([MASKED, "x", "password"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["password", "host", "config"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def _holds_masked_secret(value: object, member: str | None) -> bool:
    """The rule, written the slow way: a "password" member anywhere equal to the mask."""
    if member == "password" and value == MASKED:
        return True
    if isinstance(value, dict):
        return any(_holds_masked_secret(v, k) for k, v in value.items())  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    if isinstance(value, list):
        return any(_holds_masked_secret(v, None) for v in value)  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return False


@given(_VALUES, st.sampled_from(["password", "host", "tags"]))
def test_the_rule_finds_every_masked_secret(value: object, member: str) -> None:
    """For any JSON value written under any member: a masked secret is found exactly when
    one is there, and the patch rule agrees with the value rule."""
    found = masked_secret(value, member)
    operation = PatchOperation("add", f"/config/{member}", value)

    assert (found is not None) == _holds_masked_secret(value, member)
    assert masked_write([operation]) == (None if found is None else f"config.{found}")


def _apply_file(tmp_path: Path, name: str, password: str) -> Path:
    file = tmp_path / "stores.json"
    item = {
        "project": "default",
        "environment": "production",
        "store": "redis",
        "name": name,
        "on": True,
        "config": {**REDIS_WIRE, "password": password},
    }
    _ = file.write_text(json.dumps({"integration": [item]}))
    return file


async def test_in_an_apply_file_the_mask_keeps_the_stored_secret(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """An apply file copied from a read (password "********"): the update keeps the stored
    password, and no request carries the mask or the word password."""
    integration_id = seed_redis(fake, "Cache", config={**REDIS_WIRE, "password": "s3cret"})
    desired = load_desired(_apply_file(tmp_path, "Cache", MASKED)).unwrap()

    async with core_for(fake) as core:
        report = await apply(core, desired)

    assert isinstance(report, Ok)
    assert report.value.ok
    assert [json.loads(request.body) for request in sent(fake, "PATCH")] == [
        [
            {"op": "test", "path": "/version", "value": 1},
            {"op": "replace", "path": "/on", "value": True},
        ]
    ]
    assert all(MASKED.encode() not in request.raw_body for request in fake.requests)
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert stored["config"]["password"] == "s3cret"


async def test_an_apply_file_cannot_create_with_the_mask(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A new integration whose password is "********": plan() refuses it naming the field
    (there is no stored secret to keep); only the list call reaches the server."""
    desired = load_desired(_apply_file(tmp_path, "New", MASKED)).unwrap()

    async with core_for(fake) as core:
        planned = await plan(core, desired)

    assert isinstance(planned, Err)
    assert isinstance(planned.error, InputValidationError)
    assert planned.error.field == "desired[0].config.password"
    assert [request.method for request in fake.requests] == ["GET"]
