"""The tools' JSON shapes: argument types (with descriptions an agent reads) and outputs.

Outputs mirror the REST API's JSON (``_id``, ``_links``, ``integrationKey``...), the same
shape ``ldstore --output json`` prints; they exist to publish an ``outputSchema`` and to
check each result against it before it leaves the server.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from ldstore.models import config_class, config_fields, store_kinds

__all__ = [
    "MAX_CONTEXTS",
    "MAX_DESIRED",
    "MAX_PATCH",
    "MAX_TAGS",
    "ApplyOutput",
    "ConfigArg",
    "Deleted",
    "DesiredItem",
    "Diagnosis",
    "EnvironmentKey",
    "ErrorBody",
    "Integration",
    "IntegrationCollection",
    "IntegrationId",
    "IntegrationKeyArg",
    "Membership",
    "NotChanged",
    "PatchOperationArg",
    "PlanOutput",
    "ProjectKey",
    "StoreKind",
]

StoreKind: TypeAlias = Literal["redis", "dynamodb"]

# Bounds on what one call may ask for, far above real use: an agent's runaway loop is
# refused before it becomes thousands of requests.
MAX_DESIRED = 500  # desired items in one plan or apply
MAX_PATCH = 100  # operations in one patch
MAX_TAGS = 100  # tags on one integration
MAX_CONTEXTS = 20  # contexts whose memberships one diagnosis reads


def _settings_help() -> str:
    """What each store's settings are, in the words of their one description (``models``)."""
    kinds: list[str] = []
    for kind in store_kinds():
        cls = config_class(kind)
        fields = () if cls is None else config_fields(cls)
        described = ", ".join(
            f"{field.wire}{'*' if field.required else ''} ({field.help}"
            f"{', secret' if field.secret else ''})"
            for field in fields
        )
        kinds.append(f"{kind}: {described}")
    return f"Store settings by the API's keys, * required. {'; '.join(kinds)}."


CONFIG_HELP: Final = _settings_help()

# Arguments.

ProjectKey: TypeAlias = Annotated[str, Field(min_length=1, description="e.g. 'default'")]
EnvironmentKey: TypeAlias = Annotated[str, Field(min_length=1, description="e.g. 'production'")]
IntegrationKeyArg: TypeAlias = StoreKind
IntegrationId: TypeAlias = Annotated[
    str, Field(min_length=1, description="`_id` from the list or get tool")
]
ConfigValue: TypeAlias = StrictStr | StrictInt | StrictBool
ConfigArg: TypeAlias = Annotated[dict[str, ConfigValue], Field(description=CONFIG_HELP)]


def _no_default(schema: dict[str, Any]) -> None:
    # Absent is not null in JSON Patch: the schema must not suggest sending null.
    _ = schema.pop("default", None)


class PatchOperationArg(BaseModel):
    """One JSON Patch (RFC 6902) operation."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: StrictStr = Field(description="JSON Pointer: /name, /on, /tags, /config/host...")
    value: Any = Field(
        default=None,
        json_schema_extra=_no_default,
        description="For add, replace, test; Redis /config/port is a string",
    )
    from_: StrictStr | None = Field(
        default=None, alias="from", json_schema_extra=_no_default, description="For move, copy"
    )


class DesiredItem(BaseModel):
    """One integration as it should be (an `ldstore apply` file's item); project,
    environment, store and name identify it."""

    model_config = ConfigDict(extra="forbid")

    project: StrictStr = Field(min_length=1)
    environment: StrictStr = Field(min_length=1)
    store: StoreKind
    name: StrictStr = Field(min_length=1)
    on: StrictBool = False
    tags: list[StrictStr] = Field(default_factory=list, max_length=MAX_TAGS)
    rotate_secrets: StrictBool = Field(
        default=False, description="Send secrets on update too (the API never shows them)"
    )
    config: dict[str, ConfigValue] = Field(description=CONFIG_HELP)


# Outputs: the API's JSON. Unknown keys are allowed, as the API may add fields. The
# schemas name what an agent relies on and leave the rest open (objects): every tool's
# outputSchema is read into the model's context, and the API's full shape is in the
# results themselves.


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class Integration(_Wire):
    """A big segment store integration, as the API returns it."""

    links: dict[str, Any] = Field(alias="_links")
    id: str = Field(alias="_id")
    integration_key: str = Field(alias="integrationKey")
    project_key: str = Field(alias="projectKey")
    environment_key: str = Field(alias="environmentKey")
    on: bool
    tags: list[str]
    name: str
    version: int
    status: dict[str, Any] = Field(alias="_status")


class IntegrationCollection(_Wire):
    """The API's list answer (``items`` leave ``config`` out)."""

    links: dict[str, Any] = Field(alias="_links")
    items: list[Integration]


class Deleted(_Wire):
    """What a delete removed (the API answers 204 with no body)."""

    deleted: bool
    id: str = Field(alias="_id")
    project_key: str = Field(alias="projectKey")
    environment_key: str = Field(alias="environmentKey")
    integration_key: str = Field(alias="integrationKey")


class ErrorBody(_Wire):
    """Why a call failed (in a failed result's text, never as structuredContent)."""

    kind: str
    status: int | None
    code: str | None
    message: str
    id: str | None
    retry_after: float | None
    field: str | None = None


class PlanStep(_Wire):
    action: Literal["create", "update", "unchanged", "delete"]
    project_key: str = Field(alias="projectKey")
    environment_key: str = Field(alias="environmentKey")
    integration_key: str = Field(alias="integrationKey")
    name: str
    id: str | None = Field(alias="_id")
    changes: list[str]
    patch: list[dict[str, Any]]
    fields: dict[str, Any] | None = None


class PlanOutput(_Wire):
    """What applying ``desired`` would do; nothing was changed."""

    dry_run: bool = Field(alias="dryRun")
    plan: list[PlanStep]


class Outcome(_Wire):
    action: Literal["create", "update", "unchanged", "delete"]
    name: str
    id: str | None = Field(alias="_id")
    ok: bool
    integration: dict[str, Any] | None
    error: dict[str, Any] | None


class NotChanged(_Wire):
    """The user did not confirm: nothing was sent."""

    changed: Literal[False]
    answer: Literal["decline", "cancel"]
    message: str


class ApplyOutput(PlanOutput):
    """The plan carried out: each step's outcome, in order."""

    outcomes: list[Outcome]


class CheckOut(BaseModel):
    name: str
    status: Literal["ok", "warning", "failure"]
    detail: str


class Diagnosis(_Wire):
    """The doctor's report (``ldstore doctor --output json``)."""

    store: str
    prefix: str | None
    healthy: bool
    stale: bool
    checks: list[CheckOut]


class Membership(_Wire):
    """One context's membership in one big segment: the API's answer against the store's."""

    agrees: bool
    detail: str
    api: dict[str, Any]
    store: dict[str, Any]
    diagnosis: Diagnosis
