"""``ldstore mcp`` as agents run it: the installed script over stdio, driven by mcp's ClientSession.

One server process serves the module (spawning costs about a second); each test starts
from an empty fake and checks its exchanges against the API contract.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import Any, TextIO

import pytest
import pytest_asyncio
from contract import validate_exchanges
from mcp import ClientSession
from mcp.types import CallToolResult
from mcp_support import (
    ENVIRONMENT,
    KEYS,
    PROJECT,
    TOKEN,
    answering,
    dumped,
    error_of,
    in_own_task,
    server_environment,
    stdio_session,
    structured,
    text,
)

from ldstore.mcp import READ_ONLY_TOOLS, TOOL_NAMES
from ldstore.testing import DropConnection, FakeLaunchDarkly, RateLimited, ServerError

pytestmark = pytest.mark.asyncio(loop_scope="module")

# What the table promises: (readOnly, destructive, idempotent) per tool.
ANNOTATIONS = {
    "list_big_segment_store_integrations": (True, False, True),
    "get_big_segment_store_integration": (True, False, True),
    "create_big_segment_store_integration": (False, False, False),
    "patch_big_segment_store_integration": (False, True, False),
    "delete_big_segment_store_integration": (False, True, True),
    "wait_until_big_segment_store_available": (True, False, True),
    "plan_big_segment_store_integrations": (True, False, True),
    "apply_big_segment_store_integrations": (False, True, True),
    "diagnose_big_segment_store": (True, False, True),
    "check_big_segment_membership": (True, False, True),
}
_STORE = ("url", "table", "region", "endpoint_url")  # where the doctor's tools read
ARGUMENTS: dict[str, set[str]] = {
    "list_big_segment_store_integrations": set[str](),
    "get_big_segment_store_integration": {"integration_id"},
    "create_big_segment_store_integration": {"name", "config", "on", "tags"},
    "patch_big_segment_store_integration": {"integration_id", "patch", "comment"},
    "delete_big_segment_store_integration": {"integration_id"},
    "wait_until_big_segment_store_available": {"integration_id", "timeout"},
    "plan_big_segment_store_integrations": {"desired", "prune"},
    "apply_big_segment_store_integrations": {"desired", "prune"},
    "diagnose_big_segment_store": {"integration_id", *_STORE, "prefix", "context_keys"},
    "check_big_segment_membership": {
        "segment_key",
        "context_key",
        "integration_id",
        *_STORE,
        "prefix",
    },
}
_KEY_NAMES = {"project_key", "environment_key", "integration_key"}
_WITHOUT_KEYS = {"plan_big_segment_store_integrations", "apply_big_segment_store_integrations"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncGenerator[FakeLaunchDarkly, None]:
    """One fake for the module, with a long token so that redaction applies."""
    async with FakeLaunchDarkly(TOKEN, sync_delay=0.05) as served:
        yield served


@pytest.fixture(autouse=True)
def fresh_fake(fake: FakeLaunchDarkly) -> Generator[None, None, None]:
    """Each test starts from an empty fake; its exchanges are checked against the contract."""
    fake.reset()
    yield
    validate_exchanges(fake.requests)


@pytest.fixture(scope="module")
def errlog(tmp_path_factory: pytest.TempPathFactory) -> Generator[TextIO, None, None]:
    """Where the server's stderr goes."""
    path = tmp_path_factory.mktemp("mcp") / "stderr.log"
    with path.open("w+", encoding="utf-8") as log:
        yield log


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(fake: FakeLaunchDarkly, errlog: TextIO) -> AsyncGenerator[ClientSession, None]:
    """``ldstore mcp`` with every tool, LD_ACCESS_TOKEN and LD_BASE_URI naming the fake."""
    accept, _ = answering("accept")  # the user says yes to every confirmation
    opening = stdio_session(
        env=server_environment(fake), errlog=errlog, elicitation_callback=accept
    )
    async with in_own_task(opening) as opened:
        yield opened


async def call(session: ClientSession, name: str, arguments: dict[str, Any]) -> CallToolResult:
    """Call a tool and check the token is nowhere in what came back."""
    result = await session.call_tool(name, arguments)
    assert TOKEN not in dumped(result)
    return result


def seed(fake: FakeLaunchDarkly, name: str = "Seeded", **fields: Any) -> str:
    """Plant a Redis integration in default/production and return its ID."""
    config = {"host": "redis.internal", "port": "6379", "password": "hunter2-secret"}
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name=name, config=config, **fields
    )
    return str(stored["_id"])


async def test_tools_are_listed_with_schemas_and_annotations(session: ClientSession) -> None:
    """Ten tools with the issue's names, flat snake_case arguments, annotations, schemas."""
    listed = await session.list_tools()

    tools = {tool.name: tool for tool in listed.tools}
    assert list(tools) == list(TOOL_NAMES) == list(ANNOTATIONS)
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
            ANNOTATIONS[name]
        ), name
        assert hints.open_world_hint is True
        properties = set(tool.input_schema["properties"])
        keys = set[str]() if name in _WITHOUT_KEYS else _KEY_NAMES
        assert properties == keys | ARGUMENTS[name], name
        assert tool.output_schema is not None
        assert tool.output_schema["type"] == "object"
        assert tool.description
    create = tools["create_big_segment_store_integration"]
    config_help = create.input_schema["properties"]["config"]["description"]
    assert "host* (Redis host name)" in config_help
    assert create.input_schema["properties"]["integration_key"]["enum"] == ["redis", "dynamodb"]
    assert set(create.input_schema["required"]) == _KEY_NAMES | {"name", "config"}
    assert TOKEN not in dumped(listed)


async def test_every_tool_over_stdio(session: ClientSession, fake: FakeLaunchDarkly) -> None:
    """create, list, get, patch, wait, plan, apply and delete, each with the API's JSON."""
    config = {"host": "redis.internal", "port": 6380, "password": "pw-1"}

    created = await call(
        session,
        "create_big_segment_store_integration",
        {**KEYS, "name": "Agent Redis", "config": config, "on": True},
    )
    integration_id = structured(created)["_id"]
    by_id = {**KEYS, "integration_id": integration_id}
    listed = await call(session, "list_big_segment_store_integrations", {"project_key": PROJECT})
    got = await call(session, "get_big_segment_store_integration", by_id)
    patch = [
        {"op": "test", "path": "/version", "value": structured(got)["version"]},
        {"op": "replace", "path": "/tags", "value": ["agent"]},
    ]
    patched = await call(session, "patch_big_segment_store_integration", {**by_id, "patch": patch})
    waited = await call(session, "wait_until_big_segment_store_available", {**by_id, "timeout": 30})
    desired = [
        {
            "project": PROJECT,
            "environment": ENVIRONMENT,
            "store": "redis",
            "name": "Agent Redis",
            "on": True,
            "tags": ["agent", "declared"],
            "config": {"host": "redis.internal", "port": "6380"},
        }
    ]
    planned = await call(session, "plan_big_segment_store_integrations", {"desired": desired})
    applied = await call(session, "apply_big_segment_store_integrations", {"desired": desired})
    deleted = await call(session, "delete_big_segment_store_integration", by_id)

    results = (created, listed, got, patched, waited, planned, applied, deleted)
    assert [result.is_error for result in results] == [False] * 8
    assert all(len(text(result).splitlines()) == 1 for result in results)
    assert structured(created)["config"]["port"] == "6380"
    assert [item["_id"] for item in structured(listed)["items"]] == [integration_id]
    assert structured(got)["config"]["password"] != "pw-1"
    assert structured(patched)["tags"] == ["agent"]
    assert structured(waited)["_status"]["available"] is True
    assert [step["action"] for step in structured(planned)["plan"]] == ["update"]
    assert structured(applied)["outcomes"][0]["integration"]["tags"] == ["agent", "declared"]
    assert structured(deleted)["deleted"] is True
    assert fake.integrations == []


async def test_a_404_and_a_409_are_structured_errors(
    session: ClientSession, fake: FakeLaunchDarkly
) -> None:
    """An unknown ID is NotFoundError/404; a stale version test StatusConflictError/409."""
    integration_id = seed(fake, version=2)
    stale = [{"op": "test", "path": "/version", "value": 1}, {"op": "remove", "path": "/tags"}]

    missing = await call(
        session, "get_big_segment_store_integration", {**KEYS, "integration_id": "no-such-id"}
    )
    not_found_body = json.loads(fake.requests[-1].response_body)
    conflict = await call(
        session,
        "patch_big_segment_store_integration",
        {**KEYS, "integration_id": integration_id, "patch": stale},
    )

    error = error_of(missing)
    assert (error["kind"], error["status"], error["id"]) == (
        "NotFoundError",
        404,
        not_found_body["id"],
    )
    error = error_of(conflict)
    assert (error["kind"], error["status"]) == ("StatusConflictError", 409)
    assert error["retry_after"] is None


async def test_bad_arguments_are_refused_before_any_request(
    session: ClientSession, fake: FakeLaunchDarkly
) -> None:
    """A bad store kind, an invalid port and an unknown config key: named, nothing sent."""
    kind = await call(
        session,
        "get_big_segment_store_integration",
        {**KEYS, "integration_key": "mongo", "integration_id": "x"},
    )
    port = await call(
        session,
        "create_big_segment_store_integration",
        {**KEYS, "name": "x", "config": {"host": "h", "port": 0}},
    )
    unknown = await call(
        session,
        "create_big_segment_store_integration",
        {**KEYS, "name": "x", "config": {"host": "h", "db": 3}},
    )

    assert [error_of(result)["field"] for result in (kind, port, unknown)] == [
        "integration_key",
        "config.port",
        "config.db",
    ]
    assert {error_of(result)["kind"] for result in (kind, port, unknown)} == {
        "InputValidationError"
    }
    assert fake.requests == []


async def test_a_create_whose_answer_was_lost_reaches_the_api_once(
    session: ClientSession, fake: FakeLaunchDarkly
) -> None:
    """A dropped answer to a create is an error to the agent, not a second create."""
    fake.schedule(DropConnection(), operation="createBigSegmentStoreIntegration", when="after")

    result = await call(
        session,
        "create_big_segment_store_integration",
        {**KEYS, "name": "Exactly once", "config": {"host": "h"}},
    )

    assert error_of(result)["kind"] == "ConnectionLostError"
    creates = [r for r in fake.requests if r.operation_id == "createBigSegmentStoreIntegration"]
    assert len(creates) == 1
    assert [item["name"] for item in fake.integrations] == ["Exactly once"]


async def test_logs_go_to_stderr_without_the_token(
    session: ClientSession, fake: FakeLaunchDarkly, errlog: TextIO
) -> None:
    """A retried 502 is logged on stderr (stdout is the protocol's), the token never."""
    fake.schedule(ServerError(), operation="getBigSegmentStoreIntegrations")

    result = await call(session, "list_big_segment_store_integrations", {})
    refused = await call(
        session, "get_big_segment_store_integration", {**KEYS, "integration_id": ""}
    )

    assert result.is_error is False
    assert error_of(refused)["field"] == "integration_id"
    _ = errlog.seek(0)
    logged = errlog.read()
    assert "the server answered HTTP 502; retrying in" in logged  # the CLI's retry notice
    assert TOKEN not in logged


async def test_read_only_serves_only_reads(
    fake: FakeLaunchDarkly, errlog: TextIO, tmp_path: Path
) -> None:
    """--read-only lists list, get, wait and plan; the token and URL may come from the config file."""
    if sys.version_info >= (3, 11):  # the config file is TOML, which 3.10 cannot read
        config = tmp_path / "config.toml"
        _ = config.write_text(f'access-token = "{fake.token}"\nbase-uri = "{fake.url}"\n')
        environment = server_environment(None, LDSTORE_CONFIG=str(config))
    else:  # pragma: no cover - Python 3.10
        environment = server_environment(fake)
    opening = stdio_session("--read-only", env=environment, errlog=errlog)

    async with in_own_task(opening) as read_only:
        listed = await read_only.list_tools()
        got = await call(read_only, "list_big_segment_store_integrations", {})
        create = await call(
            read_only,
            "create_big_segment_store_integration",
            {**KEYS, "name": "x", "config": {"host": "h"}},
        )

    names = [tool.name for tool in listed.tools]
    assert names == list(READ_ONLY_TOOLS)
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in listed.tools)
    assert got.is_error is False
    assert (error_of(create)["kind"], error_of(create)["field"]) == ("InputValidationError", "name")
    assert [request.operation_id for request in fake.requests] == ["getBigSegmentStoreIntegrations"]


async def test_tool_flags_choose_the_tools_and_a_429_is_structured(
    fake: FakeLaunchDarkly, errlog: TextIO
) -> None:
    """--tool (repeated) serves just those; with --retry-budget 0 a 429 returns at once."""
    fake.schedule(RateLimited(retry_after=7))
    flags = (
        "--tool",
        "get_big_segment_store_integration",
        "--tool",
        "list_big_segment_store_integrations",
    )
    opening = stdio_session(
        *flags, "--retry-budget", "0", env=server_environment(fake), errlog=errlog
    )

    async with in_own_task(opening) as chosen:
        listed = await chosen.list_tools()
        limited = await call(chosen, "list_big_segment_store_integrations", {})

    assert [tool.name for tool in listed.tools] == [
        "list_big_segment_store_integrations",
        "get_big_segment_store_integration",
    ]
    error = error_of(limited)
    assert (error["kind"], error["status"], error["retry_after"]) == ("RateLimitedError", 429, 7)
    assert len(fake.requests) == 1


async def test_allow_unconfirmed_lets_a_client_that_cannot_ask_delete(
    fake: FakeLaunchDarkly, errlog: TextIO
) -> None:
    """``ldstore mcp`` refuses a delete for a client without elicitation; started with
    --allow-unconfirmed, the same client's delete is made."""
    integration_id = seed(fake)
    by_id = {**KEYS, "integration_id": integration_id}
    environment = server_environment(fake)

    async with in_own_task(stdio_session(env=environment, errlog=errlog)) as guarded:
        refused = await call(guarded, "delete_big_segment_store_integration", by_id)
    requests_when_refused = len(fake.requests)
    opening = stdio_session("--allow-unconfirmed", env=environment, errlog=errlog)
    async with in_own_task(opening) as unguarded:
        deleted = await call(unguarded, "delete_big_segment_store_integration", by_id)

    assert error_of(refused)["kind"] == "ConfirmationRequiredError"
    assert requests_when_refused == 0
    assert structured(deleted)["deleted"] is True
    assert [request.method for request in fake.requests] == ["DELETE"]
