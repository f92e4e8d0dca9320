"""plan() and apply(): make the integrations that exist match the ones desired."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import attrs

from ldstore.core import Core
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.funcs import (
    create_big_segment_store_integration,
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.models import (
    MASKED,
    BigSegmentStoreIntegration,
    IntegrationDeliveryConfigurationPost,
    IntegrationKey,
    config_class,
    config_fields,
    masked_secret,
    redact,
    secret_keys,
)
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import (
    PatchOperation,
    if_version,
    remove_config,
    replace_tags,
    set_config,
    set_on,
)
from ldstore.result import Err, Ok, Result
from ldstore.workflows._desired import DesiredIntegration, kind_of, wire_config
from ldstore.workflows._fanout import gather

__all__ = ["Action", "ApplyReport", "ItemOutcome", "Plan", "PlanItem", "apply", "plan"]

Action: TypeAlias = Literal["create", "update", "unchanged", "delete"]
_SYMBOLS: Mapping[str, str] = {"create": "+", "update": "~", "unchanged": "=", "delete": "-"}
_Identity: TypeAlias = tuple[str, str, str, str]


@attrs.frozen(kw_only=True)
class PlanItem:
    """One step of a plan: what happens to one integration, and why.

    ``patch`` is the minimal JSON Patch of an update (a ``test`` of ``/version`` first);
    ``changes`` says in words what it changes (``on: false -> true``); secrets appear in
    ``changes`` only as rotated, never by value, and are masked in ``repr`` (as every
    ``PatchOperation``'s repr masks them).
    """

    action: Action
    project_key: str
    environment_key: str
    integration_key: IntegrationKey | str
    name: str
    integration_id: str | None = None  # None for a create
    desired: DesiredIntegration | None = None  # None for a delete
    current: BigSegmentStoreIntegration | None = None  # None for a create
    patch: tuple[PatchOperation, ...] = ()
    changes: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.integration_key} {self.project_key}/{self.environment_key}"
        ident = f" ({self.integration_id})" if self.integration_id else ""
        line = f"{_SYMBOLS[self.action]} {self.action} {where} {self.name!r}{ident}"
        return "\n".join([line, *(f"    {change}" for change in self.changes)])


@attrs.frozen(kw_only=True)
class Plan:
    """The steps that make what exists match what is desired, in the desired order.

    ``unmatched`` lists integrations inside the desired scopes that nothing desired
    matches: ``prune=True`` deletes them (they are then ``delete`` items as well).
    """

    items: tuple[PlanItem, ...]
    unmatched: tuple[BigSegmentStoreIntegration, ...] = ()

    @property
    def changes(self) -> tuple[PlanItem, ...]:
        """The items that change something (every action but ``unchanged``)."""
        return tuple(item for item in self.items if item.action != "unchanged")

    def __str__(self) -> str:
        return "\n".join(str(item) for item in self.items) or "(nothing desired)"


@attrs.frozen(kw_only=True)
class ItemOutcome:
    """One plan item and its Result: the integration created, updated or left unchanged,
    ``None`` once deleted, or the item's own error (``StatusConflictError`` when the
    integration changed after the plan was made)."""

    item: PlanItem
    result: Result[BigSegmentStoreIntegration | None, LDStoreError]

    @property
    def ok(self) -> bool:
        return isinstance(self.result, Ok)


@attrs.frozen(kw_only=True)
class ApplyReport:
    """Every item's outcome, in the plan's order; ``ok`` when all of them succeeded."""

    plan: Plan
    items: tuple[ItemOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.items)

    @property
    def failed(self) -> tuple[ItemOutcome, ...]:
        return tuple(outcome for outcome in self.items if not outcome.ok)


async def plan(
    core: Core, desired: Sequence[DesiredIntegration], *, prune: bool = False
) -> Result[Plan, LDStoreError]:
    """Compare ``desired`` with what exists; ``Ok(Plan)``. Reads only, never writes.

    An integration is matched by project, environment, store kind and name. Lists
    leave ``config`` out, so each matched integration is read by ID to compare it.
    ``create`` when nothing matches; ``update`` with the minimal patch when ``on``,
    ``tags`` (order aside) or a config key differs (a key missing from the desired
    config is removed); ``unchanged`` otherwise.

    Secrets are write-only: the API shows them masked (``MASKED``), so they are never
    compared. A secret (the Redis ``password``, or any value the API shows as
    ``MASKED``) is sent on create, and on update only when the item has
    ``rotate_secrets=True``; it is never removed, and a ``MASKED`` value is never sent: it
    means "keep the stored secret", so a create with one is refused (nothing to keep).

    With ``prune=True``, integrations that nothing desired matches are deleted, but only
    within the (project, environment, store kind) scopes the desired items mention:
    an environment or store kind absent from ``desired`` is never touched.

    ``Err``: ``InputValidationError`` when two desired items share an identity or an
    item to create has a ``MASKED`` secret, or any error of listing or reading the
    integrations (the plan needs all of them).
    """
    duplicate = _duplicate(desired)
    if duplicate is not None:
        return Err(duplicate)
    listed = await get_big_segment_store_integrations(core)
    if isinstance(listed, Err):
        return listed
    scopes = {item.scope for item in desired}
    existing: dict[_Identity, BigSegmentStoreIntegration] = {}
    unmatched: list[BigSegmentStoreIntegration] = []
    wanted = {item.identity for item in desired}
    for integration in listed.value.items:
        identity = _identity(integration)
        if identity[:3] not in scopes:
            continue
        if identity in wanted and identity not in existing:
            existing[identity] = integration
        else:
            unmatched.append(integration)

    matched = [existing[item.identity] for item in desired if item.identity in existing]
    details = await gather(*(get_big_segment_store_integration(core, _get(i)) for i in matched))
    current: dict[_Identity, BigSegmentStoreIntegration] = {}
    for summary, result in zip(matched, details, strict=True):
        if isinstance(result, Err):
            return result
        current[_identity(summary)] = result.value

    items = [_step(item, current.get(item.identity)) for item in desired]
    refused = _masked_create(items)
    if refused is not None:
        return Err(refused)
    if prune:
        items.extend(_deletion(integration) for integration in unmatched)
    return Ok(Plan(items=tuple(items), unmatched=tuple(unmatched)))


async def apply(
    core: Core,
    plan_or_desired: Plan | Sequence[DesiredIntegration],
    *,
    prune: bool = False,
    concurrency: int = 8,
) -> Result[ApplyReport, LDStoreError]:
    """Carry out a plan (made first from ``desired`` if that is given); ``Ok(ApplyReport)``.

    Up to ``concurrency`` items run at once (the Core's limiter applies underneath).
    One item's failure does not stop the others: each item's Result is in the report,
    and ``report.ok`` says whether all succeeded. Updates are conditional on the version
    the plan saw, so a change made in between is that item's ``Err(StatusConflictError)``
    rather than a lost update; plan again to see it. Applying the same desired state
    twice changes nothing the second time. ``prune`` is used only when planning here.

    ``Err``: the plan's errors, or ``InputValidationError`` for ``concurrency < 1``.
    """
    if concurrency < 1:
        message = f"concurrency must be at least 1, not {concurrency!r}"
        return Err(InputValidationError(message=message, field="concurrency"))
    if isinstance(plan_or_desired, Plan):
        steps = plan_or_desired
    else:
        planned = await plan(core, plan_or_desired, prune=prune)
        if isinstance(planned, Err):
            return planned
        steps = planned.value
    results = await gather(*(_execute(core, item) for item in steps.items), limit=concurrency)
    outcomes = tuple(
        ItemOutcome(item=item, result=result)
        for item, result in zip(steps.items, results, strict=True)
    )
    return Ok(ApplyReport(plan=steps, items=outcomes))


def _identity(integration: BigSegmentStoreIntegration) -> _Identity:
    return (
        integration.project_key,
        integration.environment_key,
        kind_of(integration.integration_key),
        integration.name,
    )


def _duplicate(desired: Sequence[DesiredIntegration]) -> InputValidationError | None:
    seen: set[_Identity] = set()
    for index, item in enumerate(desired):
        if item.identity in seen:
            project, environment, kind, name = item.identity
            message = f"desired[{index}] repeats {kind} {project}/{environment} {name!r}"
            return InputValidationError(message=message, field=f"desired[{index}]")
        seen.add(item.identity)
    return None


def _get(integration: BigSegmentStoreIntegration) -> GetBigSegmentStoreIntegrationRequest:
    return GetBigSegmentStoreIntegrationRequest(
        project_key=integration.project_key,
        environment_key=integration.environment_key,
        integration_key=integration.integration_key,
        integration_id=integration.id,
    )


def _step(desired: DesiredIntegration, current: BigSegmentStoreIntegration | None) -> PlanItem:
    fields: dict[str, Any] = {
        "project_key": desired.project_key,
        "environment_key": desired.environment_key,
        "integration_key": desired.integration_key,
        "name": desired.name,
        "desired": desired,
    }
    if current is None:
        return PlanItem(action="create", **fields)
    operations, changes = _diff(desired, current)
    return PlanItem(
        action="update" if operations else "unchanged",
        integration_id=current.id,
        current=current,
        patch=(if_version(current.version), *operations) if operations else (),
        changes=tuple(changes),
        **fields,
    )


def _deletion(integration: BigSegmentStoreIntegration) -> PlanItem:
    return PlanItem(
        action="delete",
        project_key=integration.project_key,
        environment_key=integration.environment_key,
        integration_key=integration.integration_key,
        name=integration.name,
        integration_id=integration.id,
        current=integration,
    )


def _diff(
    desired: DesiredIntegration, current: BigSegmentStoreIntegration
) -> tuple[list[PatchOperation], list[str]]:
    """The patch operations (without the version test) and their descriptions."""
    operations: list[PatchOperation] = []
    changes: list[str] = []
    if current.on != desired.on:
        operations.append(set_on(desired.on))
        changes.append(f"on: {_shown(current.on)} -> {_shown(desired.on)}")
    if sorted(current.tags) != sorted(desired.tags):
        operations.append(replace_tags(desired.tags))
        changes.append(f"tags: {_shown(list(current.tags))} -> {_shown(list(desired.tags))}")
    # A null the API shows is "not set": the same as a key left out.
    have = {key: value for key, value in (current.config or {}).items() if value is not None}
    want = wire_config(desired.config)
    # A setting left out is the API's default (Redis port 6379, tlsEnabled false): no change.
    defaults = _wire_defaults(desired.integration_key)
    secrets = secret_keys(desired.integration_key) | {
        key for key, value in have.items() if _masked(value)
    }
    for key, value in want.items():
        if _masked(value):
            continue  # a mask copied from a response is not a value: never send it back
        if key in secrets:
            if desired.rotate_secrets:
                operations.append(set_config(key, value))
                changes.append(f"config.{key}: (secret) rotated")
        elif not _same(have.get(key, defaults.get(key, _UNSET)), value):
            before = _shown(have[key]) if key in have else "(unset)"
            operations.append(set_config(key, value))
            changes.append(f"config.{key}: {before} -> {_shown(value)}")
    for key, value in have.items():
        if key not in want and key not in secrets and not _same(value, defaults.get(key, _UNSET)):
            operations.append(remove_config(key))
            changes.append(f"config.{key}: {_shown(value)} -> (removed)")
    return operations, changes


def _masked_create(items: Sequence[PlanItem]) -> InputValidationError | None:
    """The error for the first create whose config has a ``MASKED`` secret, if any."""
    for index, item in enumerate(items):
        if item.action == "create" and item.desired is not None:
            where = masked_secret(wire_config(item.desired.config))
            if where is not None:
                return _nothing_to_keep(index, item, where)
    return None


def _nothing_to_keep(index: int, item: PlanItem, where: str) -> InputValidationError:
    message = (
        f"desired[{index}] ({item.integration_key} {item.project_key}/{item.environment_key}"
        f" {item.name!r}) does not exist yet, but its config.{where} is {MASKED!r}, which"
        " means 'keep the stored secret': there is none to keep; give the value"
    )
    return InputValidationError(message=message, field=f"desired[{index}].config.{where}")


_UNSET = object()  # a key with no default: absent differs from every value


def _wire_defaults(integration_key: IntegrationKey | str) -> dict[str, Any]:
    """Each setting's default as the wire holds it (``port``: ``"6379"``); none for None."""
    cls = config_class(kind_of(integration_key))
    fields = config_fields(cls) if cls is not None else ()
    return {
        field.wire: field.to_wire(field.default)
        for field in fields
        if field.default is not attrs.NOTHING and field.default is not None
    }


def _masked(value: object) -> bool:
    return isinstance(value, str) and value == MASKED


def _same(left: object, right: object) -> bool:
    # As JSON: true is not 1, and "6379" is not 6379.
    if left is _UNSET or right is _UNSET:
        return left is right
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def _shown(value: object) -> str:
    return json.dumps(redact(value))  # a secret nested in a value is masked too


async def _execute(
    core: Core, item: PlanItem
) -> Result[BigSegmentStoreIntegration | None, LDStoreError]:
    desired, current = item.desired, item.current
    scope = (item.project_key, item.environment_key, item.integration_key)
    if item.action == "create" and desired is not None:
        # A masked secret is refused by the create itself (plan() refuses it first).
        post = IntegrationDeliveryConfigurationPost(
            config=wire_config(desired.config),
            on=desired.on,
            tags=list(desired.tags),
            name=desired.name,
        )
        created = await create_big_segment_store_integration(
            core, CreateBigSegmentStoreIntegrationRequest(*scope, post)
        )
        return _widen(created)
    if item.action == "update" and item.integration_id is not None:
        updated = await patch_big_segment_store_integration(
            core,
            PatchBigSegmentStoreIntegrationRequest(*scope, item.integration_id, list(item.patch)),
        )
        return _widen(updated)
    if item.action == "delete" and item.integration_id is not None:
        return await delete_big_segment_store_integration(
            core, DeleteBigSegmentStoreIntegrationRequest(*scope, item.integration_id)
        )
    if item.action == "unchanged":
        return Ok(current)
    message = f"a {item.action} plan item needs {'desired' if item.action == 'create' else 'integration_id'}"
    return Err(InputValidationError(message=message, field="plan"))


def _widen(
    result: Result[BigSegmentStoreIntegration, LDStoreError],
) -> Result[BigSegmentStoreIntegration | None, LDStoreError]:
    return result  # Ok is covariant; named so the widening reads as intended
