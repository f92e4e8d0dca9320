"""The tools' JSON shapes: argument types (with descriptions an agent reads) and outputs.

Outputs mirror the REST API's JSON (``_id``, ``_links``, ``integrationKey``...), the same
shape ``ldstore --output json`` prints; they exist to publish an ``outputSchema`` and to
check each result against it before it leaves the server.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

__all__ = [
    "MAX_DESIRED",
    "MAX_PATCH",
    "MAX_TAGS",
    "ApplyOutput",
    "ConfigArg",
    "Deleted",
    "DesiredItem",
    "EnvironmentKey",
    "ErrorBody",
    "Integration",
    "IntegrationCollection",
    "IntegrationId",
    "IntegrationKeyArg",
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

CONFIG_HELP = """\
The store's settings under the API's own keys.
Redis: host (required), port (default 6379), username, password, tlsEnabled (boolean).
DynamoDB: tableName, region (an AWS region such as us-east-1), roleArn (arn:aws:iam::...),
externalId, all required.
Redis `port` travels as a string on the wire; here 6380 and "6380" are both accepted."""

# Arguments.

ProjectKey: TypeAlias = Annotated[
    str, Field(min_length=1, description="The project's key, e.g. 'default'.")
]
EnvironmentKey: TypeAlias = Annotated[
    str, Field(min_length=1, description="The environment's key, e.g. 'production'.")
]
IntegrationKeyArg: TypeAlias = Annotated[
    StoreKind, Field(description="The store kind: 'redis' or 'dynamodb'.")
]
IntegrationId: TypeAlias = Annotated[
    str,
    Field(
        min_length=1,
        description="The integration's ID: `_id` in the results of the list and get tools.",
    ),
]
ConfigValue: TypeAlias = StrictStr | StrictInt | StrictBool
ConfigArg: TypeAlias = Annotated[dict[str, ConfigValue], Field(description=CONFIG_HELP)]


def _no_default(schema: dict[str, Any]) -> None:
    # Absent is not null in JSON Patch: the schema must not suggest sending null.
    _ = schema.pop("default", None)


class PatchOperationArg(BaseModel):
    """One JSON Patch (RFC 6902) operation on the integration's JSON."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    op: Literal["add", "remove", "replace", "move", "copy", "test"] = Field(
        description="'replace' to change a field, 'test' to make the patch conditional."
    )
    path: StrictStr = Field(
        description="A JSON Pointer: /name, /on, /tags, /config/host, /config/port, /version..."
    )
    value: Any = Field(
        default=None,
        json_schema_extra=_no_default,
        description="The value for add, replace and test (leave it out for remove, move, copy). "
        'Redis /config/port is a string: "6380", not 6380.',
    )
    from_: StrictStr | None = Field(
        default=None,
        alias="from",
        json_schema_extra=_no_default,
        description="The source pointer, for move and copy only.",
    )


class DesiredItem(BaseModel):
    """One integration as it should be, in the shape of an `ldstore apply` file's item."""

    model_config = ConfigDict(extra="forbid")

    project: StrictStr = Field(min_length=1, description="Project key.")
    environment: StrictStr = Field(min_length=1, description="Environment key.")
    store: StoreKind = Field(description="The store kind: 'redis' or 'dynamodb'.")
    name: StrictStr = Field(
        min_length=1,
        description="The integration's name; with project, environment and store it "
        "identifies the integration.",
    )
    on: StrictBool = Field(default=False, description="Whether LaunchDarkly syncs the store.")
    tags: list[StrictStr] = Field(default_factory=list, max_length=MAX_TAGS, description="Tags.")
    rotate_secrets: StrictBool = Field(
        default=False,
        description="Send secrets (the Redis password) on update too; the API never shows "
        "them back, so they are otherwise only sent on create.",
    )
    config: dict[str, ConfigValue] = Field(description=CONFIG_HELP)


# Outputs: the API's JSON. Unknown keys are allowed, as the API may add fields.


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class Link(_Wire):
    href: str | None = None
    type: str | None = None


class StoreError(_Wire):
    status_code: int | None = Field(default=None, alias="statusCode")
    message: str | None = None
    timestamp: int | None = Field(default=None, description="Unix milliseconds.")


class Status(_Wire):
    available: bool | None = Field(
        default=None, description="Whether LaunchDarkly has synced the store."
    )
    potentially_stale: bool | None = Field(default=None, alias="potentiallyStale")
    last_sync: int | None = Field(default=None, alias="lastSync", description="Unix milliseconds.")
    last_error: int | None = Field(
        default=None, alias="lastError", description="Unix milliseconds."
    )
    errors: list[StoreError] | None = None


class Integration(_Wire):
    """A big segment store integration, as the API returns it."""

    links: dict[str, Link] = Field(alias="_links")
    id: str = Field(alias="_id", description="The integration's ID.")
    integration_key: str = Field(alias="integrationKey", description="'redis' or 'dynamodb'.")
    project_key: str = Field(alias="projectKey")
    environment_key: str = Field(alias="environmentKey")
    on: bool
    tags: list[str]
    name: str
    version: int = Field(description="Increases with every change; test it in a patch.")
    status: Status = Field(alias="_status")
    config: dict[str, Any] | None = Field(
        default=None,
        description="The store's settings (only when read by ID); secrets come back masked.",
    )
    access: dict[str, Any] | None = Field(default=None, alias="_access")


class IntegrationCollection(_Wire):
    """The API's list answer (``items`` leave ``config`` out)."""

    links: dict[str, Link] = Field(alias="_links")
    items: list[Integration]


class Deleted(_Wire):
    """What a delete removed (the API answers 204 with no body)."""

    deleted: bool
    id: str = Field(alias="_id")
    project_key: str = Field(alias="projectKey")
    environment_key: str = Field(alias="environmentKey")
    integration_key: str = Field(alias="integrationKey")


class ErrorBody(_Wire):
    """Why a call failed: the ldstore error class, and the API's status, code and error id."""

    kind: str = Field(
        description="The ldstore error class: NotFoundError, StatusConflictError, "
        "RateLimitedError, InputValidationError, NotAvailableError, ..."
    )
    status: int | None = Field(description="The HTTP status, when the API answered.")
    code: str | None = Field(description="The API's error code, e.g. 'not_found'.")
    message: str
    id: str | None = Field(description="The API's error id, for LaunchDarkly support.")
    retry_after: float | None = Field(description="Seconds to wait before retrying (429).")
    field: str | None = Field(default=None, description="The argument at fault, for invalid input.")


class PlanStep(_Wire):
    action: Literal["create", "update", "unchanged", "delete"]
    project_key: str = Field(alias="projectKey")
    environment_key: str = Field(alias="environmentKey")
    integration_key: str = Field(alias="integrationKey")
    name: str
    id: str | None = Field(alias="_id", description="None for a create.")
    changes: list[str] = Field(description="What an update changes, in words.")
    patch: list[dict[str, Any]] = Field(description="The JSON Patch an update sends.")
    fields: dict[str, Any] | None = Field(
        default=None, description="What a create sends (secrets masked)."
    )


class PlanOutput(_Wire):
    """What applying ``desired`` would do; nothing was changed."""

    dry_run: bool = Field(alias="dryRun")
    plan: list[PlanStep]


class Outcome(_Wire):
    action: Literal["create", "update", "unchanged", "delete"]
    project_key: str = Field(alias="projectKey")
    environment_key: str = Field(alias="environmentKey")
    integration_key: str = Field(alias="integrationKey")
    name: str
    id: str | None = Field(alias="_id")
    ok: bool
    integration: Integration | None
    error: ErrorBody | None


class NotChanged(_Wire):
    """The user did not confirm: nothing was sent."""

    changed: Literal[False]
    answer: Literal["decline", "cancel"]
    message: str


class ApplyOutput(PlanOutput):
    """The plan carried out: each step's outcome, in order."""

    outcomes: list[Outcome]
