"""The eight tools through mcp's in-process client, against the fake API over loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Collection
from contextlib import asynccontextmanager
from typing import Any, cast

import jsonschema
import mcp
import pytest
from conftest import ServeFake
from mcp.client.session import ElicitationFnT
from mcp_support import (
    ENVIRONMENT,
    KEYS,
    PROJECT,
    TOKEN,
    answering,
    dumped,
    error_of,
    failed,
    structured,
    text,
)

from ldstore.core import Core, RetryConfig
from ldstore.mcp import READ_ONLY_TOOLS, TOOL_NAMES, build_server
from ldstore.models import DynamoDBConfig, RedisConfig, config_fields
from ldstore.testing import DropConnection, FakeLaunchDarkly, RateLimited, ServerError

_FAST = RetryConfig(initial_interval=0.01, max_interval=0.05, max_elapsed_time=5.0)
_REDIS = {"host": "redis.internal", "port": "6379", "password": "hunter2-secret"}
_YES, _ = answering("accept")


@pytest.fixture
async def fake(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A running fake with a long token (so redaction applies) and a fast sync."""
    return await serve_fake(FakeLaunchDarkly(TOKEN, sync_delay=0.05))


@asynccontextmanager
async def connected(
    fake: FakeLaunchDarkly,
    *,
    tools: Collection[str] | None = None,
    retry_config: RetryConfig = _FAST,
    elicitation_callback: ElicitationFnT | None = _YES,
    allow_unconfirmed: bool = False,
) -> AsyncGenerator[mcp.Client, None]:
    """mcp's in-memory client connected to a server whose Core points at ``fake``.

    The client declares elicitation and its user confirms everything, unless told otherwise.
    """
    core = Core(fake.token, server_url=fake.url, retry_config=retry_config)
    server = build_server(core, tools=tools, allow_unconfirmed=allow_unconfirmed)
    async with mcp.Client(server, elicitation_callback=elicitation_callback) as client:
        yield client


def seed(fake: FakeLaunchDarkly, name: str = "Seeded", **fields: Any) -> str:
    """Plant a Redis integration in default/production and return its ID."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name=name, config=_REDIS, **fields
    )
    return cast("str", stored["_id"])


def operations(fake: FakeLaunchDarkly) -> list[str | None]:
    """The operationIds that reached the fake, in order."""
    return [request.operation_id for request in fake.requests]


# Listing the tools.


async def test_build_server_serves_every_tool_by_default(fake: FakeLaunchDarkly) -> None:
    """All ten tools, in order, with outputSchema and openWorld; instructions say what a store is."""
    async with connected(fake) as client:
        tools = (await client.list_tools()).tools
        instructions = client.instructions or ""
        server = client.server_info

    assert [tool.name for tool in tools] == list(TOOL_NAMES)
    assert "A big segment store is a Redis or DynamoDB database" in instructions
    assert server is not None
    assert server.name == "ldstore"
    assert all(tool.output_schema is not None for tool in tools)
    assert all(tool.annotations and tool.annotations.open_world_hint for tool in tools)
    assert READ_ONLY_TOOLS == (
        "list_big_segment_store_integrations",
        "get_big_segment_store_integration",
        "wait_until_big_segment_store_available",
        "plan_big_segment_store_integrations",
        "diagnose_big_segment_store",
        "check_big_segment_membership",
    )


async def test_build_server_serves_only_the_tools_named(fake: FakeLaunchDarkly) -> None:
    """``tools=`` limits what is listed, and a tool left out cannot be called."""
    async with connected(fake, tools=["get_big_segment_store_integration"]) as client:
        tools = (await client.list_tools()).tools
        refused = await client.call_tool("list_big_segment_store_integrations", {})

    assert [tool.name for tool in tools] == ["get_big_segment_store_integration"]
    error = error_of(refused)
    assert (error["kind"], error["field"]) == ("InputValidationError", "name")
    assert "get_big_segment_store_integration" in error["message"]
    assert fake.requests == []


async def test_an_unknown_argument_is_refused_not_ignored(fake: FakeLaunchDarkly) -> None:
    """A misspelt filter (``project`` for ``project_key``) is refused: never a list of everything."""
    async with connected(fake) as client:
        result = await client.call_tool("list_big_segment_store_integrations", {"project": "x"})
        schema = (await client.list_tools()).tools[0].input_schema

    error = error_of(result)
    assert (error["kind"], error["field"]) == ("InputValidationError", "project")
    assert "project_key" in error["message"]
    assert schema["additionalProperties"] is False
    assert fake.requests == []


# tools/list is read into the model's context on every conversation. The budget is
# 6,000 tokens (compact JSON characters / 4) for the ten tools; they measure 5,583, pinned
# here so that growth is a decision, not an accident.
TOOL_LIST_BUDGET = 5_600


async def test_the_tool_list_fits_its_token_budget(fake: FakeLaunchDarkly) -> None:
    """The whole tools/list result (names, descriptions, schemas) stays under its budget."""
    async with connected(fake) as client:
        listed = await client.list_tools()

    wire = listed.model_dump(mode="json", by_alias=True, exclude_none=True)
    tokens = len(json.dumps(wire, separators=(",", ":"))) / 4

    assert len(wire["tools"]) == len(TOOL_NAMES)
    assert tokens <= TOOL_LIST_BUDGET


async def test_schemas_read_as_names_and_settings_come_from_the_models(
    fake: FakeLaunchDarkly,
) -> None:
    """Input schema titles name the tool (never the Python function); every store setting
    is described in the models' own words wherever a config is taken."""
    async with connected(fake) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    for name, tool in tools.items():
        assert tool.input_schema["title"] == f"{name} arguments"
        assert "Arguments" not in json.dumps(tool.input_schema)
    create = tools["create_big_segment_store_integration"].input_schema["properties"]
    desired = tools["plan_big_segment_store_integrations"].input_schema["$defs"]["DesiredItem"]
    for cls in (RedisConfig, DynamoDBConfig):
        for field in config_fields(cls):
            words = f"{field.wire}{'*' if field.required else ''} ({field.help}"
            assert words in create["config"]["description"]
            assert words in desired["properties"]["config"]["description"]


async def test_error_results_contradict_no_output_schema(fake: FakeLaunchDarkly) -> None:
    """A failed call carries no structuredContent; its text holds the line and the error
    JSON. A success's structuredContent validates against its outputSchema, and its text
    repeats the same JSON."""
    integration_id = seed(fake)
    async with connected(fake) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        got = await client.call_tool(
            "get_big_segment_store_integration", {**KEYS, "integration_id": integration_id}
        )
        missing = await client.call_tool(
            "get_big_segment_store_integration", {**KEYS, "integration_id": "nope"}
        )

    schema = tools["get_big_segment_store_integration"].output_schema
    assert schema is not None
    jsonschema.validate(structured(got), schema)
    assert missing.structured_content is None
    line = text(missing)
    assert line.startswith("NotFoundError: HTTP 404")
    assert error_of(missing)["status"] == 404


def test_build_server_refuses_an_unknown_tool_name() -> None:
    """A misspelt tool name is a ValueError naming it, not a server missing a tool."""
    core = Core(TOKEN, server_url="http://127.0.0.1:9")

    with pytest.raises(ValueError, match="get_big_segment_store"):
        _ = build_server(core, tools=["get_big_segment_store"])


# Reads.


async def test_list_filters_by_every_key(fake: FakeLaunchDarkly) -> None:
    """Keys filter the list; structuredContent is the API's collection shape."""
    first = seed(fake, "First")
    _ = fake.seed_integration(PROJECT, "test", "redis", name="Elsewhere", config=_REDIS)
    _ = fake.seed_integration(
        PROJECT,
        ENVIRONMENT,
        "dynamodb",
        name="Dynamo",
        config={"tableName": "t", "region": "us-east-1", "roleArn": "arn:x", "externalId": "e"},
    )

    async with connected(fake) as client:
        everything = await client.call_tool("list_big_segment_store_integrations", {})
        filtered = await client.call_tool("list_big_segment_store_integrations", KEYS)

    assert len(structured(everything)["items"]) == 3
    assert text(everything) == "3 integration(s): 1 dynamodb, 2 redis"
    document = structured(filtered)
    assert [item["_id"] for item in document["items"]] == [first]
    assert set(document) == {"_links", "items"}
    assert "config" not in document["items"][0]  # the API's list leaves it out


async def test_get_returns_the_api_json_with_secrets_masked(fake: FakeLaunchDarkly) -> None:
    """get: the integration as the API shows it (password masked), and one summary line."""
    integration_id = seed(fake, "Prod Redis", on=True)

    async with connected(fake) as client:
        result = await client.call_tool(
            "get_big_segment_store_integration", {**KEYS, "integration_id": integration_id}
        )

    assert result.is_error is False
    document = structured(result)
    assert document == json.loads(fake.requests[-1].response_body)
    assert document["config"]["password"] != "hunter2-secret"
    assert "hunter2-secret" not in dumped(result)
    assert text(result).startswith(
        f"redis {PROJECT}/{ENVIRONMENT} 'Prod Redis' ({integration_id}): on"
    )
    assert "\n" not in text(result)


async def test_get_of_an_unknown_id_is_a_structured_404(fake: FakeLaunchDarkly) -> None:
    """A 404 is isError with kind NotFoundError, the status, code and the API's error id."""
    async with connected(fake) as client:
        result = await client.call_tool(
            "get_big_segment_store_integration", {**KEYS, "integration_id": "nope"}
        )

    error = error_of(result)
    body = json.loads(fake.requests[-1].response_body)
    assert error["kind"] == "NotFoundError"
    assert (error["status"], error["code"], error["id"]) == (404, body["code"], body["id"])
    assert error["retry_after"] is None
    assert text(result).startswith("NotFoundError: HTTP 404")


async def test_a_429_past_the_retry_budget_is_structured(fake: FakeLaunchDarkly) -> None:
    """A 429 asking for longer than the budget left comes back at once with retry_after."""
    fake.schedule(RateLimited(retry_after=30))

    async with connected(fake, retry_config=RetryConfig(max_elapsed_time=1.0)) as client:
        result = await client.call_tool("list_big_segment_store_integrations", {})

    error = error_of(result)
    assert (error["kind"], error["status"], error["retry_after"]) == ("RateLimitedError", 429, 30)
    assert "retry in 30 s" in text(result)
    assert len(fake.requests) == 1


# Creating.


async def test_create_sends_the_port_as_a_string(fake: FakeLaunchDarkly) -> None:
    """create: a numeric port is validated and sent as the API's string; the result is its JSON."""
    arguments = {
        **KEYS,
        "name": "New Redis",
        "config": {"host": "redis.internal", "port": 6380, "tlsEnabled": True, "password": "pw-1"},
        "on": True,
        "tags": ["team:platform"],
    }

    async with connected(fake) as client:
        result = await client.call_tool("create_big_segment_store_integration", arguments)

    assert result.is_error is False
    sent = json.loads(fake.requests[-1].raw_body)  # the log masks the password; the wire has it
    assert sent == {
        "config": {
            "host": "redis.internal",
            "port": "6380",
            "password": "pw-1",
            "tlsEnabled": True,
        },
        "on": True,
        "tags": ["team:platform"],
        "name": "New Redis",
    }
    document = structured(result)
    assert (document["name"], document["on"], document["config"]["port"]) == (
        "New Redis",
        True,
        "6380",
    )
    assert text(result).startswith("created redis default/production 'New Redis'")


@pytest.mark.parametrize(
    ("integration_key", "config", "field"),
    [
        ("redis", {"host": "h", "port": 70000}, "config.port"),
        ("redis", {"host": "h", "port": "63a"}, "config.port"),
        ("redis", {"host": "h", "port": True}, "config.port"),
        ("redis", {"hostname": "h"}, "config.hostname"),
        ("redis", {"port": "6379"}, "config.host"),
        ("redis", {"host": "h", "tlsEnabled": "maybe"}, "config.tlsEnabled"),
        (
            "dynamodb",
            {"tableName": "t", "region": "mars-1", "roleArn": "arn:x", "externalId": "e"},
            "config.region",
        ),
        (
            "dynamodb",
            {"tableName": "t", "region": "us-east-1", "roleArn": "x", "externalId": "e"},
            "config.roleArn",
        ),
        ("dynamodb", {"tableName": "t"}, "config.region"),
    ],
)
async def test_create_refuses_an_invalid_config_before_sending(
    fake: FakeLaunchDarkly, integration_key: str, config: dict[str, Any], field: str
) -> None:
    """A bad config is InputValidationError naming the key; no request reaches the fake."""
    arguments = {**KEYS, "integration_key": integration_key, "name": "x", "config": config}

    async with connected(fake) as client:
        result = await client.call_tool("create_big_segment_store_integration", arguments)

    error = error_of(result)
    assert (error["kind"], error["field"], error["status"]) == ("InputValidationError", field, None)
    assert field in error["message"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({**KEYS, "integration_key": "mongodb"}, "integration_key"),
        ({**KEYS, "project_key": ""}, "project_key"),
        ({**KEYS, "on": "true"}, "on"),
        ({**KEYS, "config": {"host": ["h"]}}, "config.host"),
        ({**KEYS, "config": "host=h"}, "config"),
        (
            {key: value for key, value in KEYS.items() if key != "environment_key"},
            "environment_key",
        ),
    ],
)
async def test_arguments_off_the_schema_are_refused_before_sending(
    fake: FakeLaunchDarkly, arguments: dict[str, Any], field: str
) -> None:
    """Arguments the input schema refuses: InputValidationError naming the field, no request."""
    arguments = {"name": "x", "config": {"host": "h"}, **arguments}

    async with connected(fake) as client:
        result = await client.call_tool("create_big_segment_store_integration", arguments)

    error = error_of(result)
    assert (error["kind"], error["field"]) == ("InputValidationError", field)
    assert error["message"].startswith("invalid arguments: ")
    assert fake.requests == []


async def test_rejected_argument_values_are_not_echoed(fake: FakeLaunchDarkly) -> None:
    """A refused argument is named, never repeated: it may be a password."""
    config = {"host": "h", "password": ["s3cret-value"]}

    async with connected(fake) as client:
        result = await client.call_tool(
            "create_big_segment_store_integration", {**KEYS, "name": "x", "config": config}
        )

    assert error_of(result)["field"] == "config.password"
    assert "s3cret-value" not in dumped(result)


async def test_a_create_whose_answer_is_lost_is_not_retried(fake: FakeLaunchDarkly) -> None:
    """The connection drops after the fake created it: one create reaches it, never two."""
    fake.schedule(DropConnection(), operation="createBigSegmentStoreIntegration", when="after")
    arguments = {**KEYS, "name": "Once", "config": {"host": "h"}}

    async with connected(fake) as client:
        result = await client.call_tool("create_big_segment_store_integration", arguments)

    assert error_of(result)["kind"] == "ConnectionLostError"
    assert operations(fake) == ["createBigSegmentStoreIntegration"]
    assert [item["name"] for item in fake.integrations] == ["Once"]


async def test_a_create_answered_by_a_5xx_is_not_retried_but_a_get_is(
    fake: FakeLaunchDarkly,
) -> None:
    """A 502 after the fact: the create comes back as the error, a get is retried and works."""
    integration_id = seed(fake)
    fake.schedule(ServerError(), times=2, when="after")
    arguments = {**KEYS, "name": "Once", "config": {"host": "h"}}

    async with connected(fake) as client:
        created = await client.call_tool("create_big_segment_store_integration", arguments)
        got = await client.call_tool(
            "get_big_segment_store_integration", {**KEYS, "integration_id": integration_id}
        )

    assert (error_of(created)["kind"], error_of(created)["status"]) == ("APIError", 502)
    assert got.is_error is False
    assert operations(fake) == [
        "createBigSegmentStoreIntegration",
        "getBigSegmentStoreIntegration",
        "getBigSegmentStoreIntegration",
    ]


# Patching and deleting.


async def test_patch_with_a_comment_sends_the_envelope(fake: FakeLaunchDarkly) -> None:
    """patch: operations in order, the comment wrapped around them; the result is the new JSON."""
    integration_id = seed(fake, "Old", version=3)
    patch = [
        {"op": "test", "path": "/version", "value": 3},
        {"op": "replace", "path": "/name", "value": "New"},
        {"op": "replace", "path": "/config/port", "value": "6380"},
    ]

    async with connected(fake) as client:
        result = await client.call_tool(
            "patch_big_segment_store_integration",
            {**KEYS, "integration_id": integration_id, "patch": patch, "comment": "rename"},
        )

    assert result.is_error is False
    assert json.loads(fake.requests[-1].body) == {"comment": "rename", "patch": patch}
    document = structured(result)
    assert (document["name"], document["version"], document["config"]["port"]) == ("New", 4, "6380")
    assert text(result).startswith("updated redis")


async def test_patch_without_a_comment_sends_a_bare_array(fake: FakeLaunchDarkly) -> None:
    """A remove is sent without a value, as JSON Patch wants; no envelope without a comment."""
    integration_id = seed(fake, tags=["a"])
    patch = [{"op": "remove", "path": "/tags/0"}]

    async with connected(fake) as client:
        result = await client.call_tool(
            "patch_big_segment_store_integration",
            {**KEYS, "integration_id": integration_id, "patch": patch},
        )

    assert result.is_error is False
    assert json.loads(fake.requests[-1].body) == patch


async def test_a_failed_version_test_is_a_structured_409(fake: FakeLaunchDarkly) -> None:
    """A stale ``test /version`` is isError with StatusConflictError and status 409."""
    integration_id = seed(fake, version=5)
    patch = [
        {"op": "test", "path": "/version", "value": 4},
        {"op": "replace", "path": "/on", "value": True},
    ]

    async with connected(fake) as client:
        result = await client.call_tool(
            "patch_big_segment_store_integration",
            {**KEYS, "integration_id": integration_id, "patch": patch},
        )

    error = error_of(result)
    assert (error["kind"], error["status"]) == ("StatusConflictError", 409)
    assert error["code"] == json.loads(fake.requests[-1].response_body)["code"]
    assert fake.get_integration(integration_id)["on"] is False  # type: ignore[index]


@pytest.mark.parametrize(
    ("operation", "field", "words"),
    [
        ({"op": "replace", "path": "/config/port", "value": 6380}, "patch[0].value", '"6380"'),
        ({"op": "replace", "path": "/name"}, "patch[0]", "needs a value"),
        ({"op": "remove", "path": "/tags/0", "value": None}, "patch[0]", "takes no value"),
        ({"op": "move", "path": "/name"}, "patch[0]", "from_"),
        ({"op": "replace", "path": "name", "value": "x"}, "patch[0]", "JSON Pointer"),
        ({"op": "increment", "path": "/version", "value": 1}, "patch.0.op", "Input should be"),
        ({"op": "replace", "path": "/on", "value": True, "extra": 1}, "patch.0.extra", "Extra"),
    ],
)
async def test_patch_refuses_malformed_operations_before_sending(
    fake: FakeLaunchDarkly, operation: dict[str, Any], field: str, words: str
) -> None:
    """A patch ldstore.patch refuses (or the schema does) names the operation; nothing is sent."""
    arguments = {**KEYS, "integration_id": "any", "patch": [operation]}

    async with connected(fake) as client:
        result = await client.call_tool("patch_big_segment_store_integration", arguments)

    error = error_of(result)
    assert (error["kind"], error["field"]) == ("InputValidationError", field)
    assert words in error["message"]
    assert fake.requests == []


async def test_delete_then_delete_again(fake: FakeLaunchDarkly) -> None:
    """delete: a Deleted record, then a 404 for the second delete of the same ID."""
    integration_id = seed(fake)
    arguments = {**KEYS, "integration_id": integration_id}

    async with connected(fake) as client:
        first = await client.call_tool("delete_big_segment_store_integration", arguments)
        second = await client.call_tool("delete_big_segment_store_integration", arguments)

    assert structured(first) == {
        "deleted": True,
        "_id": integration_id,
        "projectKey": PROJECT,
        "environmentKey": ENVIRONMENT,
        "integrationKey": "redis",
    }
    assert text(first) == f"deleted redis {PROJECT}/{ENVIRONMENT} ({integration_id})"
    assert error_of(second)["kind"] == "NotFoundError"
    assert fake.integrations == []


# Waiting.


async def test_wait_returns_once_the_store_is_synced(fake: FakeLaunchDarkly) -> None:
    """wait: polls until available, reporting each poll as progress, then returns it."""
    integration_id = seed(fake, on=True)

    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    async with connected(fake) as client:
        result = await client.call_tool(
            "wait_until_big_segment_store_available",
            {**KEYS, "integration_id": integration_id, "timeout": 30},
            progress_callback=on_progress,
        )

    assert result.is_error is False
    assert structured(result)["_status"]["available"] is True
    assert text(result).startswith("available: redis")
    assert reports
    assert reports[-1][1] == 30
    assert f"({integration_id}): on, available" in (reports[-1][2] or "")


async def test_wait_for_a_store_switched_off_gives_up_with_the_reason(
    fake: FakeLaunchDarkly,
) -> None:
    """A store that is off never syncs: NotAvailableError says so when the time is up."""
    integration_id = seed(fake, on=False)

    async with connected(fake) as client:
        result = await client.call_tool(
            "wait_until_big_segment_store_available",
            {**KEYS, "integration_id": integration_id, "timeout": 0},
        )

    error = error_of(result)
    assert error["kind"] == "NotAvailableError"
    assert "switched on" in error["message"]


async def test_wait_refuses_a_timeout_past_its_limit(fake: FakeLaunchDarkly) -> None:
    """A timeout over 900 s (or negative) is refused before any poll."""
    async with connected(fake) as client:
        result = await client.call_tool(
            "wait_until_big_segment_store_available",
            {**KEYS, "integration_id": "x", "timeout": 3600},
        )

    assert error_of(result)["field"] == "timeout"
    assert fake.requests == []


# Plan and apply.


def desired_item(**fields: Any) -> dict[str, Any]:
    """One ``desired`` item in the apply file's shape."""
    return {
        "project": PROJECT,
        "environment": ENVIRONMENT,
        "store": "redis",
        "name": "Declared",
        "config": {"host": "redis.internal", "port": 6379, "password": "pw"},
        **fields,
    }


async def test_plan_changes_nothing_and_apply_converges(fake: FakeLaunchDarkly) -> None:
    """plan says create; apply creates; applying again leaves it unchanged (idempotent)."""
    desired = [desired_item(on=True, tags=["t"])]

    async with connected(fake) as client:
        planned = await client.call_tool(
            "plan_big_segment_store_integrations", {"desired": desired}
        )
        writes_after_plan = [r.method for r in fake.requests if r.method != "GET"]
        first = await client.call_tool("apply_big_segment_store_integrations", {"desired": desired})
        second = await client.call_tool(
            "apply_big_segment_store_integrations", {"desired": desired}
        )

    assert writes_after_plan == []
    plan = structured(planned)
    assert plan["dryRun"] is True
    assert [step["action"] for step in plan["plan"]] == ["create"]
    assert plan["plan"][0]["fields"] == {
        "on": True,
        "tags": ["t"],
        "config": {
            "host": "redis.internal",
            "port": "6379",
            "password": "********",
            "tlsEnabled": False,
        },
    }
    assert text(planned) == "Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged."
    applied = structured(first)
    assert applied["dryRun"] is False
    outcome = applied["outcomes"][0]
    assert (outcome["action"], outcome["ok"], outcome["error"]) == ("create", True, None)
    assert outcome["integration"]["config"]["port"] == "6379"
    assert outcome["_id"] == fake.integrations[0]["_id"]
    assert text(first).startswith("Applied: 1 changed, 0 failed.")
    assert [step["action"] for step in structured(second)["plan"]] == ["unchanged"]
    assert len(fake.integrations) == 1


async def test_plan_shows_the_patch_of_an_update_and_prune_deletes(fake: FakeLaunchDarkly) -> None:
    """An update lists its changes and patch (secrets masked); prune plans the others' deletion."""
    kept = seed(fake, "Declared", version=2)
    extra = seed(fake, "Leftover")
    desired = [desired_item(on=True, rotate_secrets=True)]

    async with connected(fake) as client:
        planned = await client.call_tool(
            "plan_big_segment_store_integrations", {"desired": desired, "prune": True}
        )

    steps = structured(planned)["plan"]
    assert [(step["action"], step["_id"]) for step in steps] == [
        ("update", kept),
        ("delete", extra),
    ]
    assert steps[0]["patch"][0] == {"op": "test", "path": "/version", "value": 2}
    assert "on: false -> true" in steps[0]["changes"]
    assert "pw" not in [operation.get("value") for operation in steps[0]["patch"]]


async def test_apply_reports_a_failed_item_as_an_error(fake: FakeLaunchDarkly) -> None:
    """An item that fails makes the result isError, the report in its text JSON beside the error."""
    fake.schedule(ServerError(status=500), operation="createBigSegmentStoreIntegration")

    async with connected(fake) as client:
        result = await client.call_tool(
            "apply_big_segment_store_integrations", {"desired": [desired_item()]}
        )

    error = error_of(result)
    assert (error["kind"], error["status"]) == ("APIError", 500)
    outcome = failed(result)["outcomes"][0]
    assert (outcome["ok"], outcome["error"]["status"]) == (False, 500)
    assert text(result).startswith("1 of 1 changes failed; first: create 'Declared'")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (desired_item(config={"host": "h", "port": 0}), "desired[0].config.port"),
        (desired_item(config={"tableName": "t"}, store="dynamodb"), "desired[0].config.region"),
        (
            desired_item(config={"host": "h", "password": {"env": "LD_ACCESS_TOKEN"}}),
            "desired.0.config.password",
        ),
        (desired_item(color="blue"), "desired.0.color"),
        (desired_item(on="yes"), "desired.0.on"),
    ],
)
async def test_plan_refuses_an_invalid_item_before_sending(
    fake: FakeLaunchDarkly, item: dict[str, Any], field: str
) -> None:
    """A bad desired item names its index and key; nothing reaches the fake.

    ``{"env": ...}`` references (which the apply file allows) are refused here: an agent
    must not read the server's environment into a store's settings.
    """
    async with connected(fake) as client:
        result = await client.call_tool("plan_big_segment_store_integrations", {"desired": [item]})

    error = error_of(result)
    assert (error["kind"], error["field"]) == ("InputValidationError", field)
    assert fake.requests == []


async def test_plan_refuses_more_items_than_its_bound(fake: FakeLaunchDarkly) -> None:
    """More than 500 desired items is refused outright: no list, no 500 reads reach the fake."""
    desired = [desired_item(name=f"store {index}") for index in range(501)]

    async with connected(fake) as client:
        result = await client.call_tool("plan_big_segment_store_integrations", {"desired": desired})

    assert error_of(result)["field"] == "desired"
    assert fake.requests == []


async def test_plan_refuses_two_items_with_one_identity(fake: FakeLaunchDarkly) -> None:
    """Two items with the same project, environment, store and name: refused, nothing sent."""
    async with connected(fake) as client:
        result = await client.call_tool(
            "apply_big_segment_store_integrations", {"desired": [desired_item(), desired_item()]}
        )

    assert error_of(result)["field"] == "desired[1]"
    assert fake.requests == []


# Secrets.


async def test_the_token_never_comes_back(fake: FakeLaunchDarkly) -> None:
    """Even a store setting equal to the token comes back redacted, in JSON and text."""
    arguments = {**KEYS, "name": f"named {TOKEN}", "config": {"host": TOKEN}}

    async with connected(fake) as client:
        created = await client.call_tool("create_big_segment_store_integration", arguments)
        listed = await client.call_tool("list_big_segment_store_integrations", {})

    assert fake.integrations[0]["config"]["host"] == TOKEN  # it was sent as asked
    assert structured(created)["config"]["host"] == "[REDACTED]"
    for result in (created, listed):
        assert TOKEN not in dumped(result)


async def test_a_failed_call_redacts_its_json_as_its_text(fake: FakeLaunchDarkly) -> None:
    """An error whose message and field hold the token (a config key spelt as it): the
    token is masked in the summary line and in the JSON after it, in every spelling."""
    arguments = {**KEYS, "name": "x", "config": {"host": "h", TOKEN: "x"}}

    async with connected(fake) as client:
        result = await client.call_tool("create_big_segment_store_integration", arguments)

    error = error_of(result)
    assert error["field"] == "config.[REDACTED]"
    assert error["message"].startswith("config.[REDACTED]")
    assert text(result).startswith("InputValidationError: config.[REDACTED]")
    assert TOKEN not in dumped(result)
    assert json.dumps(TOKEN)[1:-1] not in dumped(result)
    assert fake.requests == []


@pytest.mark.parametrize(
    "tool", ["plan_big_segment_store_integrations", "apply_big_segment_store_integrations"]
)
async def test_plan_and_apply_pass_on_the_api_refusing_the_list(
    fake: FakeLaunchDarkly, tool: str
) -> None:
    """When the plan cannot list what exists (a wrong token: 401), that error comes back."""
    core = Core("api-wrong-token-000000", server_url=fake.url, retry_config=_FAST)

    async with mcp.Client(build_server(core)) as client:
        result = await client.call_tool(tool, {"desired": [desired_item()]})

    error = error_of(result)
    assert (error["kind"], error["status"]) == ("UnauthorizedError", 401)
    assert operations(fake) == ["getBigSegmentStoreIntegrations"]
    assert "api-wrong-token-000000" not in dumped(result)
