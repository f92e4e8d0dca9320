"""The MCP server: eight tools over one Core, their descriptions, annotations and results."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Final, TypeAlias

import attrs
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import Field, StrictBool, ValidationError

from ldstore.core import Core
from ldstore.errors import InputValidationError
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
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchBody, PatchWithComment
from ldstore.result import Err, Ok
from ldstore.wire import outcomes_to_wire, plan_to_wire, to_wire
from ldstore.workflows import Plan, apply, plan, wait_until_available

from ._convert import (
    desired_integrations,
    failure,
    patch_operations,
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

__all__ = ["INSTRUCTIONS", "READ_ONLY_TOOLS", "TOOL_NAMES", "build_server"]

_MIN_SECRET = 8  # a shorter token would garble every message while protecting nothing
_WAIT_LIMIT = 900.0  # seconds; agents' clients time out long before
# How pydantic names the members of a union in an error's location (config.port.int).
_UNION_TAGS = frozenset({"str", "int", "bool", "float", "list", "dict", "none"})

INSTRUCTIONS = """\
Manage LaunchDarkly big segment store integrations (persistent store integrations, beta).
A big segment store is a Redis or DynamoDB database that LaunchDarkly keeps in sync with an
environment's big segments (very large user lists), so that server-side SDKs read segment
membership from it instead of from LaunchDarkly. An integration is identified by project
key, environment key, store kind (integration_key: redis or dynamodb) and its ID.
Read with list/get; make changes with create/patch/delete, or declare the whole desired
state with plan (shows what would change) and apply (makes it so, idempotently). After a
create or switching an integration on, wait_until_big_segment_store_available reports
when LaunchDarkly has synced the store. Failed calls return isError with
structuredContent {"error": {kind, status, code, message, id, retry_after, field}}.
Secrets (the Redis password) are write-only: results show them masked."""

_KEYS = "Arguments: project_key, environment_key, integration_key ('redis' or 'dynamodb')"


# Tools. Each returns a CallToolResult whose structuredContent the Annotated model
# describes (the SDK publishes it as outputSchema and checks successful results).


def _core(ctx: Context[Core, Any]) -> Core:
    return ctx.request_context.lifespan_context


def _secrets(core: Core) -> tuple[str, ...]:
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
            return success(to_wire(integration), _described(integration, verb), _secrets(core))
        case Err(error):
            return failure(error, _secrets(core))


def _get_request(
    project_key: str, environment_key: str, integration_key: str, integration_id: str
) -> GetBigSegmentStoreIntegrationRequest:
    return GetBigSegmentStoreIntegrationRequest(
        project_key=project_key,
        environment_key=environment_key,
        integration_key=integration_key,
        integration_id=integration_id,
    )


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
        return failure(result.error, _secrets(core))
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
    return success(_collection_wire(collection), summary, _secrets(core))


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
        return failure(typed.error, _secrets(core))
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
) -> Annotated[CallToolResult, Integration]:
    core = _core(ctx)
    operations = patch_operations(patch, integration_key)
    if isinstance(operations, Err):
        return failure(operations.error, _secrets(core))
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


async def delete_integration(
    *,
    ctx: Context[Core, Any],
    project_key: ProjectKey,
    environment_key: EnvironmentKey,
    integration_key: IntegrationKeyArg,
    integration_id: IntegrationId,
) -> Annotated[CallToolResult, Deleted]:
    core = _core(ctx)
    request = DeleteBigSegmentStoreIntegrationRequest(
        project_key=project_key,
        environment_key=environment_key,
        integration_key=integration_key,
        integration_id=integration_id,
    )
    result = await delete_big_segment_store_integration(core, request)
    if isinstance(result, Err):
        return failure(result.error, _secrets(core))
    deleted = {
        "deleted": True,
        "_id": integration_id,
        "projectKey": project_key,
        "environmentKey": environment_key,
        "integrationKey": integration_key,
    }
    summary = f"deleted {integration_key} {project_key}/{environment_key} ({integration_id})"
    return success(deleted, summary, _secrets(core))


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
        return failure(built.error, _secrets(core))
    planned = await plan(core, built.value, prune=prune)
    if isinstance(planned, Err):
        return failure(planned.error, _secrets(core))
    document = {"dryRun": True, "plan": plan_to_wire(planned.value)}
    return success(document, _plan_summary(planned.value), _secrets(core))


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
) -> Annotated[CallToolResult, ApplyOutput]:
    core = _core(ctx)
    secrets = _secrets(core)
    built = desired_integrations(desired)
    if isinstance(built, Err):
        return failure(built.error, secrets)
    planned = await plan(core, built.value, prune=prune)
    if isinstance(planned, Err):
        return failure(planned.error, secrets)
    applied = await apply(core, planned.value)
    if isinstance(applied, Err):  # pragma: no cover - only for a bad concurrency
        return failure(applied.error, secrets)
    report = applied.value
    document = {
        "dryRun": False,
        "plan": plan_to_wire(report.plan),
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


# The registry: names, titles, annotations and descriptions an agent reads.


@attrs.frozen
class _Spec:
    name: str
    title: str
    fn: Callable[..., Any]
    annotations: ToolAnnotations
    description: str


def _reads(title: str) -> ToolAnnotations:
    return ToolAnnotations(
        title=title,
        read_only_hint=True,
        destructive_hint=False,
        idempotent_hint=True,
        open_world_hint=True,
    )


def _writes(title: str, *, destructive: bool, idempotent: bool) -> ToolAnnotations:
    return ToolAnnotations(
        title=title,
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )


_SPECS: Final = (
    _Spec(
        "list_big_segment_store_integrations",
        "List big segment store integrations",
        list_integrations,
        _reads("List big segment store integrations"),
        "List the big segment store integrations of the account: the Redis or DynamoDB "
        "databases LaunchDarkly keeps in sync with an environment's big segments for "
        "server-side SDKs. Every key is an optional filter. Items leave `config` out: use "
        "get_big_segment_store_integration for one integration's settings. Use this to "
        "find an integration's ID (`_id`), and to check whether a create whose answer was "
        "lost happened after all.",
    ),
    _Spec(
        "get_big_segment_store_integration",
        "Get a big segment store integration",
        get_integration,
        _reads("Get a big segment store integration"),
        f"Read one big segment store integration by ID, with its `config` (secrets masked) "
        f"and `_status` (available, potentiallyStale, lastSync, errors). {_KEYS}, "
        "integration_id. Read it before a patch to learn its `version`.",
    ),
    _Spec(
        "create_big_segment_store_integration",
        "Create a big segment store integration",
        create_integration,
        _writes("Create a big segment store integration", destructive=False, idempotent=False),
        f"Connect a Redis or DynamoDB database to an environment as its big segment store, "
        f"so LaunchDarkly syncs big segments into it. {_KEYS}, name, config (the API's keys: "
        "Redis host, port, username, password, tlsEnabled; DynamoDB tableName, region, "
        "roleArn, externalId), on (default false), tags. The Redis port is a string on the "
        'wire ("6379"); 6379 is accepted here and sent as a string. Not idempotent: calling '
        "it twice creates two integrations (a duplicate name is a 409). If the answer is "
        "lost it is not retried: list to see whether it was made. To converge on a desired "
        "state instead, use plan/apply_big_segment_store_integrations.",
    ),
    _Spec(
        "patch_big_segment_store_integration",
        "Update a big segment store integration (JSON Patch)",
        patch_integration,
        _writes(
            "Update a big segment store integration (JSON Patch)",
            destructive=True,
            idempotent=False,
        ),
        f"Change an integration with a JSON Patch (RFC 6902): rename (/name), switch "
        f"syncing on or off (/on), retag (/tags), change settings (/config/host...). {_KEYS}, "
        "integration_id, patch, comment (for the audit log). Start the patch with "
        '{"op": "test", "path": "/version", "value": <version from get>} so that it fails '
        "with a 409 StatusConflictError instead of overwriting someone else's change; then "
        'get it again and decide. Redis /config/port is a string: "6380". Secrets are '
        "masked in results, so never copy a masked value into a patch.",
    ),
    _Spec(
        "delete_big_segment_store_integration",
        "Delete a big segment store integration",
        delete_integration,
        _writes("Delete a big segment store integration", destructive=True, idempotent=True),
        f"Delete an integration: LaunchDarkly stops syncing the store (the database itself "
        f"is left as it is) and SDKs reading it lose big segment updates. {_KEYS}, "
        "integration_id. Deleting one already gone is a 404 NotFoundError.",
    ),
    _Spec(
        "wait_until_big_segment_store_available",
        "Wait until a big segment store is synced",
        wait_integration,
        _reads("Wait until a big segment store is synced"),
        f"Poll an integration until LaunchDarkly reports its store available and not stale, "
        f"e.g. after a create or after switching it on (an integration that is off is never "
        f"synced). {_KEYS}, integration_id, timeout in seconds (default 60). Returns the "
        "integration, or isError with kind NotAvailableError saying why (not synced yet, "
        "store errors, stale) when time runs out. Reports progress while it waits.",
    ),
    _Spec(
        "plan_big_segment_store_integrations",
        "Plan big segment store changes (dry run)",
        plan_integrations,
        _reads("Plan big segment store changes (dry run)"),
        "Compare the desired integrations with what exists and say what "
        "apply_big_segment_store_integrations would do (create, update with the exact "
        "patch, delete with prune, or unchanged), changing nothing. `desired` items have "
        "the shape of an `ldstore apply` file's items: project, environment, store "
        "('redis' or 'dynamodb'), name, on, tags, rotate_secrets, config (the API's keys). "
        "An item is matched by project, environment, store and name. Show the plan to the "
        "user before applying.",
    ),
    _Spec(
        "apply_big_segment_store_integrations",
        "Apply desired big segment store integrations",
        apply_integrations,
        _writes("Apply desired big segment store integrations", destructive=True, idempotent=True),
        "Make the integrations match `desired` (same shape as for "
        "plan_big_segment_store_integrations): create what is missing, update what differs "
        "(each update conditional on the version it saw), and with prune delete what no "
        "item matches within the scopes the items mention. Idempotent: applying the same "
        "desired state again changes nothing. Each item's outcome is reported; if any "
        "failed the result is isError with the first failure in `error`. Secrets are sent "
        "on create, and on update only with rotate_secrets.",
    ),
)

TOOL_NAMES: Final = tuple(spec.name for spec in _SPECS)
"""Every tool's name, in the order they are listed."""

READ_ONLY_TOOLS: Final = tuple(
    spec.name for spec in _SPECS if spec.annotations.read_only_hint is True
)
"""The tools that change nothing (``ldstore mcp --read-only`` serves only these)."""


class _Server(MCPServer[Core]):
    """MCPServer whose every refusal carries the ``{"error": ...}`` body.

    Unknown tools and unknown arguments are refused here (pydantic would ignore an
    unknown argument: a misspelt filter would silently list everything); arguments off
    the schema become an ``InputValidationError`` naming the field.
    """

    def __init__(
        self,
        served: tuple[str, ...],
        lifespan: Callable[[MCPServer[Core]], AbstractAsyncContextManager[Core]],
    ) -> None:
        tools = _tools()
        super().__init__(
            "ldstore",
            title="LaunchDarkly big segment stores (ldstore)",
            instructions=INSTRUCTIONS,
            version=_version(),
            lifespan=lifespan,
            tools=[tools[name] for name in served],
        )
        self.served = served

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Core, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if name not in self.served:
            message = f"unknown tool {name!r}; this server serves {', '.join(self.served)}"
            return failure(InputValidationError(message=message, field="name"), ())
        known = _tools()[name].parameters["properties"]
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            message = (
                f"invalid arguments: unknown argument(s) {', '.join(unknown)}; "
                f"{name} takes {', '.join(known) or 'none'}"
            )
            return failure(InputValidationError(message=message, field=unknown[0]), ())
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                # A crash: the SDK logs the traceback on stderr and tells the client only
                # "Error executing tool <name>", which leaks nothing.
                raise  # pragma: no cover - no input reaches it; it is the SDK's own path
            return failure(_argument_error(cause), ())


def _argument_error(error: ValidationError) -> InputValidationError:
    # Field names and pydantic's messages only: the rejected values may be secrets.
    problems: dict[str, list[str]] = {}
    for problem in error.errors():
        parts = [str(part) for part in problem["loc"] if part not in _UNION_TAGS]
        messages = problems.setdefault(".".join(parts), [])
        if problem["msg"] not in messages:
            messages.append(problem["msg"])
    described = "; ".join(f"{loc}: {' or '.join(msgs)}" for loc, msgs in problems.items())
    return InputValidationError(
        message=f"invalid arguments: {described}", field=next(iter(problems), None)
    )


def _version() -> str:
    try:
        return version("ldstore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def build_server(core: Core, *, tools: Collection[str] | None = None) -> MCPServer[Core]:
    """An MCP server whose tools share ``core`` (and its limiter) for the server's life.

    ``tools`` names the tools to serve (default: all of ``TOOL_NAMES``); an unknown
    name raises ``ValueError``. The server closes ``core`` when it stops.
    """
    selected = TOOL_NAMES if tools is None else tuple(tools)
    unknown = sorted(set(selected) - set(TOOL_NAMES))
    if unknown:
        msg = f"unknown tool(s) {', '.join(unknown)}; known: {', '.join(TOOL_NAMES)}"
        raise ValueError(msg)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Core]) -> AsyncGenerator[Core, None]:
        async with core:
            yield core

    return _Server(tuple(name for name in TOOL_NAMES if name in selected), lifespan)


@functools.cache
def _tools() -> Mapping[str, Tool]:
    """The tools, built once: their schemas take a while and depend on no server."""
    tools = {
        spec.name: Tool.from_function(
            spec.fn,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations,
            structured_output=True,
        )
        for spec in _SPECS
    }
    for tool in tools.values():
        tool.parameters["additionalProperties"] = False  # refused in _Server.call_tool
    return tools
