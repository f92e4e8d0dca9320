"""The tools: one async function per MCP tool, over one Core, each returning a CallToolResult."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any, TypeAlias

import attrs
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import Field, StrictBool

from ldstore.core import Core
from ldstore.errors import mask_written
from ldstore.funcs import (
    create_big_segment_store_integration,
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.models import (
    BigSegmentStoreIntegration,
    BigSegmentStoreIntegrationCollection,
    IntegrationDeliveryConfigurationPost,
)
from ldstore.models import redact as mask_secrets
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchBody, PatchOperation, PatchWithComment, masked_write
from ldstore.result import Err, Ok
from ldstore.wire import outcomes_to_wire, plan_to_wire, to_wire
from ldstore.workflows import Plan, apply, plan, wait_until_available

from ._confirm import ask, patch_reasons, plan_reasons, refused
from ._convert import (
    desired_integrations,
    failure,
    patch_operations,
    redact,
    success,
    typed_config,
)
from ._shapes import (
    MAX_DESIRED,
    MAX_PATCH,
    MAX_TAGS,
    ApplyOutput,
    ConfigArg,
    Deleted,
    DesiredItem,
    EnvironmentKey,
    Integration,
    IntegrationCollection,
    IntegrationId,
    IntegrationKeyArg,
    PatchOperationArg,
    PlanOutput,
    ProjectKey,
    StoreKind,
)

__all__ = [
    "apply_integrations",
    "create_integration",
    "delete_integration",
    "get_integration",
    "list_integrations",
    "patch_integration",
    "plan_integrations",
    "secrets_of",
    "wait_integration",
]

_MIN_SECRET = 8  # a shorter token would garble every message while protecting nothing
_WAIT_LIMIT = 900.0  # seconds; agents' clients time out long before


# Tools. Each returns a CallToolResult whose structuredContent the Annotated model
# describes (the SDK publishes it as outputSchema and checks successful results).


def _core(ctx: Context[Core, Any]) -> Core:
    return ctx.request_context.lifespan_context


def secrets_of(core: Core) -> tuple[str, ...]:
    key = core.api_key
    return (key,) if isinstance(key, str) and len(key) >= _MIN_SECRET else ()


def _label(integration: BigSegmentStoreIntegration) -> str:
    where = f"{integration.integration_key} {integration.project_key}/{integration.environment_key}"
    return f"{where} {integration.name!r} ({integration.id})"


def _described(integration: BigSegmentStoreIntegration, verb: str = "") -> str:
    status = integration.status
    available = {True: "available", False: "not available", None: "availability unknown"}
    stale = ", potentially stale" if status.potentially_stale else ""
    on = "on" if integration.on else "off"
    lead = f"{verb} " if verb else ""
    return (
        f"{lead}{_label(integration)}: {on}, {available[status.available]}{stale}, "
        f"version {integration.version}"
    )


def _integration(
    core: Core, result: Ok[BigSegmentStoreIntegration] | Err[Any], verb: str = ""
) -> CallToolResult:
    match result:
        case Ok(integration):
            return success(to_wire(integration), _described(integration, verb), secrets_of(core))
        case Err(error):
            return failure(error, secrets_of(core))


def _get_request(
    project_key: str, environment_key: str, integration_key: str, integration_id: str
) -> GetBigSegmentStoreIntegrationRequest:
    return GetBigSegmentStoreIntegrationRequest(
        project_key=project_key,
        environment_key=environment_key,
        integration_key=integration_key,
        integration_id=integration_id,
    )


def _unconfirmed(ctx: Context[Core, Any]) -> bool:
    # The operator's --allow-unconfirmed, kept on the server (never a tool argument).
    return getattr(ctx.mcp_server, "allow_unconfirmed", False) is True


async def _confirmed(
    ctx: Context[Core, Any], tool: str, what: str, reasons: list[str]
) -> CallToolResult | InputRequiredResult | None:
    """``None`` to go ahead; otherwise the result to return, nothing having been sent.

    Declined or cancelled: a success saying nothing changed (``NotChanged``, which the
    output schema of every tool that asks admits: ``_server.OUTPUTS``). A client that
    cannot ask: an error (fail closed), unless the operator started the server with
    ``--allow-unconfirmed``.
    """
    if not reasons or _unconfirmed(ctx):
        return None
    secrets = secrets_of(_core(ctx))
    # The user's screen is output too: the token never shows, whatever the arguments hold.
    answer = await ask(ctx, redact(what, secrets), [redact(line, secrets) for line in reasons])
    if isinstance(answer, InputRequiredResult):
        return answer
    match answer:
        case "accept":
            return None
        case "unsupported":
            return failure(refused(tool), secrets)
        case "decline" | "cancel":
            verb = "declined" if answer == "decline" else "cancelled"
            message = f"Nothing was changed: the user {verb}. {what}"
            document = {"changed": False, "answer": answer, "message": message}
            return success(document, message, secrets)


async def list_integrations(
    *,
    ctx: Context[Core, Any],
    project_key: Annotated[
        str | None, Field(min_length=1, description="Only this project's integrations.")
    ] = None,
    environment_key: Annotated[
        str | None, Field(min_length=1, description="Only this environment's integrations.")
    ] = None,
    integration_key: Annotated[
        StoreKind | None, Field(description="Only this store kind: 'redis' or 'dynamodb'.")
    ] = None,
) -> Annotated[CallToolResult, IntegrationCollection]:
    core = _core(ctx)
    result = await get_big_segment_store_integrations(core)
    if isinstance(result, Err):
        return failure(result.error, secrets_of(core))
    wanted = {"project_key": project_key, "environment_key": environment_key}
    items = [
        item
        for item in result.value.items
        if all(value is None or getattr(item, name) == value for name, value in wanted.items())
        and (integration_key is None or str(item.integration_key) == integration_key)
    ]
    collection = attrs.evolve(result.value, items=tuple(items))
    kinds = Counter(str(item.integration_key) for item in items)
    breakdown = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    summary = f"{len(items)} integration(s)" + (f": {breakdown}" if breakdown else "")
    return success(_collection_wire(collection), summary, secrets_of(core))


def _collection_wire(collection: BigSegmentStoreIntegrationCollection) -> Mapping[str, Any]:
    wire: Mapping[str, Any] = to_wire(collection)
    return wire


async def get_integration(
    *,
    ctx: Context[Core, Any],
    project_key: ProjectKey,
    environment_key: EnvironmentKey,
    integration_key: IntegrationKeyArg,
    integration_id: IntegrationId,
) -> Annotated[CallToolResult, Integration]:
    core = _core(ctx)
    request = _get_request(project_key, environment_key, integration_key, integration_id)
    return _integration(core, await get_big_segment_store_integration(core, request))


async def create_integration(  # noqa: PLR0913 - the tool's flat arguments
    *,
    ctx: Context[Core, Any],
    project_key: ProjectKey,
    environment_key: EnvironmentKey,
    integration_key: IntegrationKeyArg,
    name: Annotated[str, Field(min_length=1, description="A name for the integration.")],
    config: ConfigArg,
    on: Annotated[
        StrictBool,
        Field(description="Switch syncing on at once (default false: create it off)."),
    ] = False,
    tags: Annotated[
        list[str] | None,
        Field(max_length=MAX_TAGS, description="Tags, e.g. ['team:platform']."),
    ] = None,
) -> Annotated[CallToolResult, Integration]:
    core = _core(ctx)
    typed = typed_config(integration_key, config, "config")
    if isinstance(typed, Err):
        return failure(typed.error, secrets_of(core))
    request = CreateBigSegmentStoreIntegrationRequest(
        project_key=project_key,
        environment_key=environment_key,
        integration_key=integration_key,
        integration_delivery_configuration_post=IntegrationDeliveryConfigurationPost(
            config=typed.value, on=on, tags=list(tags or ()), name=name
        ),
    )
    # A create whose answer was lost is not retried (RetryConfig.retry_non_idempotent is
    # False): it may have been made; list or get to find out before creating again.
    result = await create_big_segment_store_integration(core, request)
    return _integration(core, result, "created")


async def patch_integration(  # noqa: PLR0913 - the tool's flat arguments
    *,
    ctx: Context[Core, Any],
    project_key: ProjectKey,
    environment_key: EnvironmentKey,
    integration_key: IntegrationKeyArg,
    integration_id: IntegrationId,
    patch: Annotated[
        list[PatchOperationArg],
        Field(
            min_length=1,
            max_length=MAX_PATCH,
            description="JSON Patch operations, applied in order, all or none.",
        ),
    ],
    comment: Annotated[
        str | None, Field(description="A comment for LaunchDarkly's audit log.")
    ] = None,
) -> Annotated[CallToolResult, Integration] | InputRequiredResult:
    core = _core(ctx)
    operations = patch_operations(patch, integration_key)
    if isinstance(operations, Err):
        return failure(operations.error, secrets_of(core))
    masked = masked_write(operations.value)
    if masked is not None:  # refused whatever the user answers: not asked
        return failure(mask_written(masked), secrets_of(core))
    where = f"{integration_key} {project_key}/{environment_key} integration {integration_id}"
    asked = await _confirmed(
        ctx,
        "patch_big_segment_store_integration",
        f"Update the {where} with this patch: {_patch_text(operations.value)}",
        patch_reasons(operations.value),
    )
    if asked is not None:
        return asked
    body: PatchBody = (
        PatchWithComment(patch=operations.value, comment=comment) if comment else operations.value
    )
    request = PatchBigSegmentStoreIntegrationRequest(
        project_key=project_key,
        environment_key=environment_key,
        integration_key=integration_key,
        integration_id=integration_id,
        request_body=body,
    )
    return _integration(core, await patch_big_segment_store_integration(core, request), "updated")


def _patch_text(operations: list[PatchOperation]) -> str:
    return json.dumps([to_wire(operation.redacted()) for operation in operations])


async def delete_integration(
    *,
    ctx: Context[Core, Any],
    project_key: ProjectKey,
    environment_key: EnvironmentKey,
    integration_key: IntegrationKeyArg,
    integration_id: IntegrationId,
) -> Annotated[CallToolResult, Deleted] | InputRequiredResult:
    core = _core(ctx)
    where = f"{integration_key} {project_key}/{environment_key}"
    asked = await _confirmed(
        ctx,
        "delete_big_segment_store_integration",
        f"Delete the {where} big segment store integration {integration_id}?",
        ["LaunchDarkly stops syncing the store; SDKs reading it get no more big segment updates"],
    )
    if asked is not None:
        return asked
    request = DeleteBigSegmentStoreIntegrationRequest(
        project_key=project_key,
        environment_key=environment_key,
        integration_key=integration_key,
        integration_id=integration_id,
    )
    result = await delete_big_segment_store_integration(core, request)
    if isinstance(result, Err):
        return failure(result.error, secrets_of(core))
    deleted = {
        "deleted": True,
        "_id": integration_id,
        "projectKey": project_key,
        "environmentKey": environment_key,
        "integrationKey": integration_key,
    }
    summary = f"deleted {integration_key} {project_key}/{environment_key} ({integration_id})"
    return success(deleted, summary, secrets_of(core))


async def wait_integration(  # noqa: PLR0913 - the tool's flat arguments
    *,
    ctx: Context[Core, Any],
    project_key: ProjectKey,
    environment_key: EnvironmentKey,
    integration_key: IntegrationKeyArg,
    integration_id: IntegrationId,
    timeout: Annotated[
        float,
        Field(
            ge=0,
            le=_WAIT_LIMIT,
            description=f"Give up after this many seconds (default 60, at most {_WAIT_LIMIT:g}).",
        ),
    ] = 60.0,
) -> Annotated[CallToolResult, Integration]:
    core = _core(ctx)
    request = _get_request(project_key, environment_key, integration_key, integration_id)

    async def progress(integration: BigSegmentStoreIntegration, elapsed: float) -> None:
        await ctx.report_progress(elapsed, timeout, _described(integration))

    result = await wait_until_available(
        core, request, timeout=timeout, poll_interval=0.5, max_poll_interval=10.0, on_poll=progress
    )
    return _integration(core, result, "available:")


# plan's and apply's one argument shape: the desired integrations.
Desired: TypeAlias = Annotated[
    list[DesiredItem],
    Field(
        max_length=MAX_DESIRED,
        description="Every integration that should exist in the scopes it mentions.",
    ),
]


async def plan_integrations(
    *,
    ctx: Context[Core, Any],
    desired: Desired,
    prune: Annotated[
        StrictBool,
        Field(
            description="Also plan to delete integrations no item matches, within the "
            "(project, environment, store) scopes the items mention."
        ),
    ] = False,
) -> Annotated[CallToolResult, PlanOutput]:
    core = _core(ctx)
    built = desired_integrations(desired)
    if isinstance(built, Err):
        return failure(built.error, secrets_of(core))
    planned = await plan(core, built.value, prune=prune)
    if isinstance(planned, Err):
        return failure(planned.error, secrets_of(core))
    document = {"dryRun": True, "plan": _plan_wire(planned.value)}
    return success(document, _plan_summary(planned.value), secrets_of(core))


def _plan_wire(steps: Plan) -> list[dict[str, Any]]:
    """The plan's JSON, each create with what it sends (secrets masked)."""
    wire = plan_to_wire(steps)
    for step, item in zip(wire, steps.items, strict=True):
        if item.action == "create" and item.desired is not None:
            desired = item.desired
            config = mask_secrets(to_wire(desired.config))
            step["fields"] = {"on": desired.on, "tags": list(desired.tags), "config": config}
    return wire


def _plan_summary(steps: Plan) -> str:
    counts = Counter(item.action for item in steps.items)
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['unchanged']} unchanged."
    )


async def apply_integrations(
    *,
    ctx: Context[Core, Any],
    desired: Desired,
    prune: Annotated[
        StrictBool,
        Field(
            description="Also delete integrations no item matches, within the "
            "(project, environment, store) scopes the items mention."
        ),
    ] = False,
) -> Annotated[CallToolResult, ApplyOutput] | InputRequiredResult:
    core = _core(ctx)
    secrets = secrets_of(core)
    built = desired_integrations(desired)
    if isinstance(built, Err):
        return failure(built.error, secrets)
    planned = await plan(core, built.value, prune=prune)
    if isinstance(planned, Err):
        return failure(planned.error, secrets)
    asked = await _confirmed(
        ctx,
        "apply_big_segment_store_integrations",
        f"Apply this plan? {_plan_summary(planned.value)}",
        plan_reasons(planned.value),
    )
    if asked is not None:
        return asked
    applied = await apply(core, planned.value)
    if isinstance(applied, Err):  # pragma: no cover - only for a bad concurrency
        return failure(applied.error, secrets)
    report = applied.value
    document = {
        "dryRun": False,
        "plan": _plan_wire(report.plan),
        "outcomes": outcomes_to_wire(report),
    }
    changed = sum(1 for o in report.items if o.ok and o.item.action != "unchanged")
    summary = (
        f"Applied: {changed} changed, {len(report.failed)} failed. {_plan_summary(report.plan)}"
    )
    failed = [(o.item, o.result.error) for o in report.items if isinstance(o.result, Err)]
    if not failed:
        return success(document, summary, secrets)
    item, error = failed[0]
    lead = f"{len(failed)} of {len(report.plan.changes)} changes failed"
    text = f"{lead}; first: {item.action} {item.name!r}: {' '.join(str(error).split())}"
    return failure(error, secrets, extra=document, summary=text)
