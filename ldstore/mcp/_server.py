"""The MCP server: the tools' names, descriptions, annotations and schemas, over one Core."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final, cast

import attrs
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import TypeAdapter, ValidationError

from ldstore.core import Core
from ldstore.errors import InputValidationError
from ldstore.watch import StoresFile

from ._convert import failure
from ._doctor import check_membership, diagnose_store
from ._shapes import (
    ApplyOutput,
    Deleted,
    Diagnosis,
    Integration,
    IntegrationCollection,
    Membership,
    NotChanged,
    PlanOutput,
)
from ._tools import (
    apply_integrations,
    create_integration,
    delete_integration,
    get_integration,
    list_integrations,
    patch_integration,
    plan_integrations,
    secrets_of,
    wait_integration,
)

__all__ = ["INSTRUCTIONS", "READ_ONLY_TOOLS", "TOOL_NAMES", "build_server"]

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
when LaunchDarkly has synced the store. Every result's text is a summary line, then its
JSON; a failed call is isError with {"error": {kind, status, code, message, id,
retry_after, field}} there. Deleting, and switching a store off or changing its
connection, are confirmed by the user first. Secrets (the Redis password) are
write-only: results show them masked. diagnose_big_segment_store reads the store itself
(read-only) and says whether SDKs will trust it; check_big_segment_membership compares
one context's membership in one big segment as the API says it with what the store holds.
Both read the store named by url (Redis) or table (DynamoDB), or the one the server's
stores file maps the integration to; passwords come only from the server's environment."""

# The registry: names, titles, annotations and descriptions an agent reads. They are kept
# short (tools/list is read into the model's context on every conversation): each says what
# the tool does, when to use it and what is easy to get wrong; the argument names and
# schemas, and the instructions, say the rest.


@attrs.frozen
class _Spec:
    name: str
    title: str
    fn: Callable[..., Any]
    annotations: ToolAnnotations
    description: str


def _reads() -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    )


def _writes(*, destructive: bool, idempotent: bool) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )


_CONFIRMED = " Asks the user to confirm first."

_SPECS: Final = (
    _Spec(
        "list_big_segment_store_integrations",
        "List big segment store integrations",
        list_integrations,
        _reads(),
        "List the account's big segment store integrations (Redis or DynamoDB stores "
        "LaunchDarkly syncs big segments into), optionally filtered. Items leave out "
        "`config`. Finds an integration's `_id`, or whether a create whose answer was lost "
        "happened.",
    ),
    _Spec(
        "get_big_segment_store_integration",
        "Get a big segment store integration",
        get_integration,
        _reads(),
        "Read one integration: `config` (secrets masked), `_status` (available, "
        "potentiallyStale, lastSync, errors) and `version` (for a patch's test).",
    ),
    _Spec(
        "create_big_segment_store_integration",
        "Create a big segment store integration",
        create_integration,
        _writes(destructive=False, idempotent=False),
        "Connect a Redis or DynamoDB store to an environment. Not idempotent: a second call "
        "makes a second integration (a duplicate name is a 409), and a lost answer is not "
        "retried (list to check). To converge on a desired state, use plan/apply.",
    ),
    _Spec(
        "patch_big_segment_store_integration",
        "Update a big segment store integration (JSON Patch)",
        patch_integration,
        _writes(destructive=True, idempotent=False),
        "Change an integration with a JSON Patch: /name, /on, /tags, /config/.... Start with "
        '{"op":"test","path":"/version","value":<version>} so a concurrent change fails '
        "with a 409 instead of being overwritten. Never copy a masked secret into a patch. "
        "Switching a store off or changing /config asks the user to confirm first.",
    ),
    _Spec(
        "delete_big_segment_store_integration",
        "Delete a big segment store integration",
        delete_integration,
        _writes(destructive=True, idempotent=True),
        "Delete an integration: LaunchDarkly stops syncing the store (its data is left) "
        "and SDKs reading it get no more updates. A second delete is a 404." + _CONFIRMED,
    ),
    _Spec(
        "wait_until_big_segment_store_available",
        "Wait until a big segment store is synced",
        wait_integration,
        _reads(),
        "Poll an integration (reporting progress) until LaunchDarkly reports its store "
        "available and not stale, e.g. after a create or switching it on; an integration "
        "that is off never syncs. On timeout: NotAvailableError saying why.",
    ),
    _Spec(
        "plan_big_segment_store_integrations",
        "Plan big segment store changes (dry run)",
        plan_integrations,
        _reads(),
        "Say what apply_big_segment_store_integrations would do with `desired` (create, "
        "update with its patch, delete with prune, unchanged), changing nothing. Show it "
        "to the user before applying.",
    ),
    _Spec(
        "apply_big_segment_store_integrations",
        "Apply desired big segment store integrations",
        apply_integrations,
        _writes(destructive=True, idempotent=True),
        "Make the integrations match `desired`: create what is missing, update what "
        "differs (each conditional on the version seen), with prune delete what no item "
        "matches in the scopes the items name. Idempotent. isError if any item failed, "
        "each item's outcome in the JSON. Deleting, switching off or changing a store's "
        "config asks the user to confirm first.",
    ),
    _Spec(
        "diagnose_big_segment_store",
        "Diagnose a big segment store",
        diagnose_store,
        _reads(),
        "Read a Redis or DynamoDB big segment store itself (never writes) and say whether "
        "SDKs will trust it: reachable, metadata fresh, keys well typed, the prefix the "
        "environment's client-side ID. Gives `ldstore doctor`'s JSON; `healthy` false is a "
        "finding, not an error. The store: url or table, else integration_id and the "
        "server's stores file.",
    ),
    _Spec(
        "check_big_segment_membership",
        "Check a big segment membership end to end",
        check_membership,
        _reads(),
        "Whether a context's membership in a big segment as the API gives it agrees with "
        "the store SDKs read (the segment's current generation); else the fault: missing "
        "include, stale generation, include where excluded, ref in both sets. The store "
        "as for diagnose_big_segment_store.",
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
        secrets: tuple[str, ...],
        *,
        allow_unconfirmed: bool,
        stores: StoresFile | None,
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
        self.secrets = secrets  # a refused argument's name may be anything, even the token
        self.allow_unconfirmed = allow_unconfirmed
        self.stores = stores  # the doctor's tools find an integration's store here

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Core, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if name not in self.served:
            message = f"unknown tool {name!r}; this server serves {', '.join(self.served)}"
            return failure(InputValidationError(message=message, field="name"), self.secrets)
        known = _tools()[name].parameters["properties"]
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            message = (
                f"invalid arguments: unknown argument(s) {', '.join(unknown)}; "
                f"{name} takes {', '.join(known) or 'none'}"
            )
            return failure(InputValidationError(message=message, field=unknown[0]), self.secrets)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                # A crash: the SDK logs the traceback on stderr and tells the client only
                # "Error executing tool <name>", which leaks nothing.
                raise  # pragma: no cover - no input reaches it; it is the SDK's own path
            return failure(_argument_error(cause), self.secrets)


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


def build_server(
    core: Core,
    *,
    tools: Collection[str] | None = None,
    allow_unconfirmed: bool = False,
    stores: StoresFile | None = None,
) -> MCPServer[Core]:
    """An MCP server whose tools share ``core`` (and its limiter) for the server's life.

    ``tools`` names the tools to serve (default: all of ``TOOL_NAMES``); an unknown
    name raises ``ValueError``. The server closes ``core`` when it stops. What cannot be
    undone (a delete, an apply that deletes, a patch switching a store off or changing
    its connection) is confirmed by the user through MCP elicitation first, unless
    ``allow_unconfirmed``. ``stores`` (``ldstore.watch.load_stores``) maps integrations
    to their stores for the doctor's tools, passwords by environment variable.
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

    served = tuple(name for name in TOOL_NAMES if name in selected)
    return _Server(
        served, lifespan, secrets_of(core), allow_unconfirmed=allow_unconfirmed, stores=stores
    )


# What each tool's structuredContent is: published as its outputSchema, and checked before
# a successful result leaves the server. A tool that asks the user first may also answer
# NotChanged (declined), so its schema admits both: an anyOf under a root object, which
# the spec and the TypeScript SDK require of an outputSchema.
OUTPUTS: Final[Mapping[str, Any]] = {
    "list_big_segment_store_integrations": IntegrationCollection,
    "get_big_segment_store_integration": Integration,
    "create_big_segment_store_integration": Integration,
    "patch_big_segment_store_integration": Integration | NotChanged,
    "delete_big_segment_store_integration": Deleted | NotChanged,
    "wait_until_big_segment_store_available": Integration,
    "plan_big_segment_store_integrations": PlanOutput,
    "apply_big_segment_store_integrations": ApplyOutput | NotChanged,
    "diagnose_big_segment_store": Diagnosis,
    "check_big_segment_membership": Membership,
}


def _output_schema(output: Any) -> dict[str, Any]:
    schema = TypeAdapter(output).json_schema(by_alias=True, mode="serialization")
    return {"type": "object", **compact(schema, descriptions=False)}


_NULLABLE_SIMPLE = frozenset({"string", "integer", "number", "boolean", "object", "array"})


def compact(schema: Any, *, descriptions: bool) -> Any:
    """``schema`` as it is published, the same constraints in fewer tokens (tools/list is
    read into the model's context on every conversation).

    Left out: pydantic's ``title`` on every property (the property's name says it), the
    ``null`` defaults (``required`` says what is optional), ``additionalProperties: true``
    (JSON Schema's default) and, with ``descriptions=False`` (output schemas), the
    descriptions (each tool's description says what the result means). ``anyOf`` a simple
    type (with its own keywords, such as ``minLength``) or null becomes a list of types,
    as JSON Schema allows.
    """
    if isinstance(schema, list):
        items: list[Any] = schema  # pyright: ignore[reportUnknownVariableType] - JSON
        return [compact(item, descriptions=descriptions) for item in items]
    if not isinstance(schema, dict):
        return schema
    node = cast("dict[str, Any]", schema)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            members = cast("dict[str, Any]", value)
            out[key] = {
                name: compact(item, descriptions=descriptions) for name, item in members.items()
            }
        elif (
            key == "title"
            or (key == "description" and not descriptions)
            or (key == "default" and value is None)
            or (key == "additionalProperties" and value is True)
        ):
            continue
        else:
            out[key] = compact(value, descriptions=descriptions)
    options: list[dict[str, Any]] = out.get("anyOf") or []
    if len(options) == 2 and {"type": "null"} in options:  # noqa: PLR2004 - X | None
        (other,) = [option for option in options if option != {"type": "null"}]
        # Keywords such as minLength apply to their own type only, so they stay valid with
        # null allowed; an enum or const would have to list null too, so those are kept.
        if other.get("type") in _NULLABLE_SIMPLE and not {"enum", "const"} & set(other):
            del out["anyOf"]
            out.update(other, type=[other["type"], "null"])
    return out


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
    for name, tool in tools.items():
        parameters = compact(tool.parameters, descriptions=True)
        tool.parameters.clear()
        # A title that reads as a name, not the Python function's ("list_integrationsArguments").
        tool.parameters.update(title=f"{name} arguments", **parameters)
        tool.parameters["additionalProperties"] = False  # refused in _Server.call_tool
        tool.fn_metadata.output_model = OUTPUTS[name]
        tool.fn_metadata.output_schema = _output_schema(OUTPUTS[name])
    return tools
