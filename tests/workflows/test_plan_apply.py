"""plan and apply against the fake: the four actions, minimal patches, secrets, conflicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sdk import ENVIRONMENT, PROJECT, REDIS_WIRE, body, core_for, seed_redis, sent

from ldstore import Err, Ok
from ldstore.errors import InputValidationError, NotFoundError, StatusConflictError
from ldstore.funcs import patch_big_segment_store_integration
from ldstore.models import IntegrationKey, RedisConfig
from ldstore.operations import PatchBigSegmentStoreIntegrationRequest
from ldstore.patch import PatchOperation, set_on
from ldstore.testing import FakeLaunchDarkly
from ldstore.workflows import MASKED, DesiredIntegration, Plan, apply, plan


def desired(
    name: str,
    config: RedisConfig | Mapping[str, Any] | None = None,
    *,
    on: bool = False,
    tags: tuple[str, ...] = (),
    rotate_secrets: bool = False,
) -> DesiredIntegration:
    return DesiredIntegration(
        project_key=PROJECT,
        environment_key=ENVIRONMENT,
        integration_key=IntegrationKey.REDIS,
        name=name,
        config=RedisConfig("redis.internal") if config is None else config,
        on=on,
        tags=tags,
        rotate_secrets=rotate_secrets,
    )


def by_name(steps: Plan) -> dict[str, str]:
    return {item.name: item.action for item in steps.items}


async def test_plan_finds_each_action_and_apply_carries_it_out(fake: FakeLaunchDarkly) -> None:
    """create, update, unchanged and (with prune) delete, then the store matches the desire."""
    _ = seed_redis(fake, "Keep")
    change_id = seed_redis(fake, "Change", tags=["old"])
    gone_id = seed_redis(fake, "Gone")
    elsewhere_id = seed_redis(fake, "Elsewhere", environment="test")
    wanted = [
        desired("Keep"),
        desired("Change", RedisConfig("redis.internal", port=6380), on=True, tags=("new",)),
        desired("New", RedisConfig("redis.new", password="hunter2"), tags=("fresh",)),
    ]

    async with core_for(fake) as core:
        planned = await plan(core, wanted, prune=True)
        assert isinstance(planned, Ok)
        applied = await apply(core, planned.value)

    steps = planned.value
    assert by_name(steps) == {
        "Keep": "unchanged",
        "Change": "update",
        "New": "create",
        "Gone": "delete",
    }
    change = next(item for item in steps.items if item.name == "Change")
    assert change.patch == (
        PatchOperation("test", "/version", 1),
        PatchOperation("replace", "/on", value=True),
        PatchOperation("replace", "/tags", ["new"]),
        PatchOperation("add", "/config/port", "6380"),
    )
    assert change.changes == (
        "on: false -> true",
        'tags: ["old"] -> ["new"]',
        'config.port: "6379" -> "6380"',
    )
    assert isinstance(applied, Ok)
    report = applied.value
    assert report.ok
    assert [outcome.item.action for outcome in report.items] == [
        "unchanged",
        "update",
        "create",
        "delete",
    ]
    stored = {item["name"]: item for item in fake.integrations}
    assert set(stored) == {"Keep", "Change", "New", "Elsewhere"}
    assert stored["Change"]["_id"] == change_id
    assert stored["Change"]["on"] is True
    assert stored["Change"]["config"]["port"] == "6380"
    assert stored["New"]["config"] == {**REDIS_WIRE, "host": "redis.new", "password": "hunter2"}
    assert fake.get_integration(gone_id) is None
    assert fake.get_integration(elsewhere_id) is not None  # outside the desired scopes
    assert body(sent(fake, "PATCH")[0])[1:] == [
        {"op": "replace", "path": "/on", "value": True},
        {"op": "replace", "path": "/tags", "value": ["new"]},
        {"op": "add", "path": "/config/port", "value": "6380"},
    ]


async def test_a_second_plan_after_apply_is_all_unchanged(fake: FakeLaunchDarkly) -> None:
    """apply is idempotent: planning the same desire again finds nothing to do."""
    _ = seed_redis(fake, "Change", config={"host": "old.internal", "username": "ld"})
    wanted = [
        desired("Change", RedisConfig("redis.internal", password="hunter2"), on=True),
        desired("New", RedisConfig("redis.new", password="hunter2"), tags=("a", "b")),
    ]

    async with core_for(fake) as core:
        first = await apply(core, wanted)
        again = await plan(core, wanted)
        writes = [request for request in fake.requests if request.method != "GET"]
        second = await apply(core, wanted)

    assert isinstance(first, Ok)
    assert first.value.ok
    assert isinstance(again, Ok)
    assert by_name(again.value) == {"Change": "unchanged", "New": "unchanged"}
    assert again.value.changes == ()
    assert isinstance(second, Ok)
    assert second.value.ok
    assert [request for request in fake.requests if request.method != "GET"] == writes


async def test_a_config_key_left_out_of_the_desire_is_removed(fake: FakeLaunchDarkly) -> None:
    """A non-secret key the desired config lacks is removed with a remove op."""
    _ = seed_redis(fake, "Cache", config={**REDIS_WIRE, "username": "ld"})

    async with core_for(fake) as core:
        planned = await plan(core, [desired("Cache")])

    assert isinstance(planned, Ok)
    (item,) = planned.value.items
    assert item.patch[1:] == (PatchOperation("remove", "/config/username"),)
    assert item.changes == ('config.username: "ld" -> (removed)',)


async def test_a_masked_secret_is_never_compared_nor_sent_back(fake: FakeLaunchDarkly) -> None:
    """The stored password shows as MASKED: no diff, and no request body ever carries it."""
    integration_id = seed_redis(fake, "Cache", config={**REDIS_WIRE, "password": "s3cret"})
    other = RedisConfig("redis.internal", password="a-different-one")

    async with core_for(fake) as core:
        unchanged = await plan(core, [desired("Cache", other)])
        updated = await apply(core, [desired("Cache", other, on=True)])
        from_a_mapping = await apply(
            core,
            [
                desired("Copied", {**REDIS_WIRE, "password": MASKED}),
            ],
        )

    assert isinstance(unchanged, Ok)
    assert by_name(unchanged.value) == {"Cache": "unchanged"}
    assert isinstance(updated, Ok)
    assert updated.value.ok
    assert body(sent(fake, "PATCH")[0])[1:] == [{"op": "replace", "path": "/on", "value": True}]
    # A create has no stored secret to keep: refused by the plan, nothing sent.
    assert isinstance(from_a_mapping, Err)
    assert isinstance(from_a_mapping.error, InputValidationError)
    assert from_a_mapping.error.field == "desired[0].config.password"
    assert sent(fake, "POST") == []
    assert all(b"password" not in request.body for request in fake.requests)
    assert all(MASKED.encode() not in request.body for request in fake.requests)
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert stored["config"]["password"] == "s3cret"


async def test_rotate_secrets_sends_the_secret_and_never_shows_it(fake: FakeLaunchDarkly) -> None:
    """With rotate_secrets=True the password is patched; plan text and repr hide its value."""
    integration_id = seed_redis(fake, "Cache", config={**REDIS_WIRE, "password": "s3cret"})
    rotated = desired(
        "Cache", RedisConfig("redis.internal", password="n3w-one"), rotate_secrets=True
    )

    async with core_for(fake) as core:
        planned = await plan(core, [rotated])
        assert isinstance(planned, Ok)
        applied = await apply(core, planned.value)

    (item,) = planned.value.items
    assert item.action == "update"
    assert item.changes == ("config.password: (secret) rotated",)
    assert "n3w-one" not in repr(item)
    assert "n3w-one" not in str(planned.value)
    assert isinstance(applied, Ok)
    assert applied.value.ok
    assert body(sent(fake, "PATCH")[0])[1:] == [
        {"op": "add", "path": "/config/password", "value": "n3w-one"}
    ]
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert stored["config"]["password"] == "n3w-one"


async def test_a_change_made_after_planning_is_that_items_conflict(
    fake: FakeLaunchDarkly,
) -> None:
    """The version test fails (409) for the item changed meanwhile; the others still apply."""
    raced_id = seed_redis(fake, "Raced")
    _ = seed_redis(fake, "Calm")
    wanted = [desired("Raced", on=True), desired("Calm", on=True), desired("New")]

    async with core_for(fake) as core:
        planned = await plan(core, wanted)
        assert isinstance(planned, Ok)
        meanwhile = await patch_big_segment_store_integration(
            core,
            PatchBigSegmentStoreIntegrationRequest(
                PROJECT, ENVIRONMENT, "redis", raced_id, [set_on(False)]
            ),
        )
        assert isinstance(meanwhile, Ok)
        applied = await apply(core, planned.value)

    assert isinstance(applied, Ok)
    report = applied.value
    assert not report.ok
    (failed,) = report.failed
    assert failed.item.name == "Raced"
    assert isinstance(failed.result, Err)
    assert isinstance(failed.result.error, StatusConflictError)
    assert {outcome.item.name for outcome in report.items if outcome.ok} == {"Calm", "New"}
    stored = {item["name"]: item for item in fake.integrations}
    assert stored["Raced"]["on"] is False
    assert stored["Calm"]["on"] is True


async def test_one_items_api_error_does_not_stop_the_others(fake: FakeLaunchDarkly) -> None:
    """A create in an unknown project is that item's Err(NotFoundError); the rest apply."""
    wanted = [
        desired("Fine"),
        DesiredIntegration(
            project_key="no-such-project",
            environment_key=ENVIRONMENT,
            integration_key="redis",
            name="Lost",
            config=RedisConfig("h"),
        ),
    ]

    async with core_for(fake) as core:
        applied = await apply(core, wanted, concurrency=1)

    assert isinstance(applied, Ok)
    outcomes = {outcome.item.name: outcome.result for outcome in applied.value.items}
    assert isinstance(outcomes["Fine"], Ok)
    assert isinstance(outcomes["Lost"], Err)
    assert isinstance(outcomes["Lost"].error, NotFoundError)


async def test_without_prune_unmatched_integrations_are_listed_not_deleted(
    fake: FakeLaunchDarkly,
) -> None:
    """Integrations the desire does not name are reported as unmatched and left alone."""
    _ = seed_redis(fake, "Unlisted")

    async with core_for(fake) as core:
        planned = await plan(core, [desired("Listed")])

    assert isinstance(planned, Ok)
    assert by_name(planned.value) == {"Listed": "create"}
    assert [integration.name for integration in planned.value.unmatched] == ["Unlisted"]


async def test_duplicate_desired_items_are_refused_before_any_request(
    fake: FakeLaunchDarkly,
) -> None:
    """Two desired items with one identity are Err(InputValidationError); nothing is sent."""
    async with core_for(fake) as core:
        planned = await plan(core, [desired("Twin"), desired("Twin", on=True)])
        applied = await apply(core, [desired("One")], concurrency=0)

    assert isinstance(planned, Err)
    assert isinstance(planned.error, InputValidationError)
    assert "desired[1] repeats" in str(planned.error)
    assert isinstance(applied, Err)
    assert isinstance(applied.error, InputValidationError)
    assert applied.error.field == "concurrency"
    assert fake.requests == []


async def test_a_masked_desired_secret_never_overwrites_the_stored_one_on_update(
    fake: FakeLaunchDarkly,
) -> None:
    """Update path, rotate_secrets=True, desired password = the mask: it is never sent.

    Bound: the PATCH bodies reaching the fake carry only the `on` change; the stored
    password is the one seeded (the mask filter of the update diff is what keeps it).
    """
    typed_id = seed_redis(fake, "Typed", config={**REDIS_WIRE, "password": "s3cret"})
    mapping_id = seed_redis(fake, "Mapping", config={**REDIS_WIRE, "password": "s3cret"})
    wanted = [
        desired(
            "Typed", RedisConfig("redis.internal", password=MASKED), on=True, rotate_secrets=True
        ),
        desired("Mapping", {**REDIS_WIRE, "password": MASKED}, on=True, rotate_secrets=True),
    ]

    async with core_for(fake) as core:
        applied = await apply(core, wanted)

    assert isinstance(applied, Ok)
    assert applied.value.ok
    assert [item.action for item in applied.value.plan.items] == ["update", "update"]
    patches = [body(request)[1:] for request in sent(fake, "PATCH")]
    assert patches == [[{"op": "replace", "path": "/on", "value": True}]] * 2
    for integration_id in (typed_id, mapping_id):
        stored = fake.get_integration(integration_id)
        assert stored is not None
        assert stored["config"]["password"] == "s3cret"


async def test_plan_text_and_reprs_mask_secrets_wherever_they_sit(fake: FakeLaunchDarkly) -> None:
    """A rotated password and one nested in another config value: masked in str, repr, changes."""
    _ = seed_redis(fake, "Cache", config={**REDIS_WIRE, "password": "s3cret"})
    secrets = {**REDIS_WIRE, "password": "n3w-one", "extra": {"password": "n3sted"}}
    wanted = desired("Cache", secrets, rotate_secrets=True)

    async with core_for(fake) as core:
        planned = await plan(core, [wanted])

    assert isinstance(planned, Ok)
    (item,) = planned.value.items
    assert 'config.extra: (unset) -> {"password": "********"}' in item.changes
    assert "config.password: (secret) rotated" in item.changes
    for shown in (str(planned.value), repr(planned.value), repr(item), repr(wanted)):
        assert "n3w-one" not in shown
        assert "n3sted" not in shown
