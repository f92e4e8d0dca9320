"""What cannot be undone is confirmed by the user (MCP elicitation) before anything is sent."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, Literal, cast

import mcp
import pytest
from conftest import ServeFake
from hypothesis import given
from hypothesis import strategies as st
from mcp.client.session import ElicitationFnT
from mcp.types import ElicitResult, InputResponses
from mcp_support import (
    ENVIRONMENT,
    KEYS,
    PROJECT,
    TOKEN,
    answering,
    dumped,
    error_of,
    structured,
    text,
)

from ldstore.core import Core, RetryConfig
from ldstore.mcp import build_server
from ldstore.mcp._confirm import patch_reasons
from ldstore.patch import ABSENT, PatchOp, PatchOperation
from ldstore.testing import FakeLaunchDarkly

Action = Literal["accept", "decline", "cancel"]
_REDIS = {"host": "redis.internal", "port": "6379", "password": "hunter2-secret"}


@pytest.fixture
async def fake(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A running fake with a long token (so redaction applies)."""
    return await serve_fake(FakeLaunchDarkly(TOKEN, sync_delay=0.05))


@asynccontextmanager
async def connected(
    fake: FakeLaunchDarkly,
    elicitation_callback: ElicitationFnT | None,
    *,
    allow_unconfirmed: bool = False,
) -> AsyncGenerator[mcp.Client, None]:
    """mcp's in-memory client (declaring elicitation only with a callback) on ``fake``."""
    core = Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none())
    server = build_server(core, allow_unconfirmed=allow_unconfirmed)
    async with mcp.Client(server, elicitation_callback=elicitation_callback) as client:
        yield client


def seed(fake: FakeLaunchDarkly, name: str = "Seeded", **fields: Any) -> str:
    """Plant a Redis integration in default/production and return its ID."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name=name, config=_REDIS, **fields
    )
    return cast("str", stored["_id"])


def writes(fake: FakeLaunchDarkly) -> list[str]:
    """The requests that could change something (every method but GET)."""
    return [request.method for request in fake.requests if request.method != "GET"]


def desired_item(**fields: Any) -> dict[str, Any]:
    """One ``desired`` item in the apply file's shape."""
    return {
        "project": PROJECT,
        "environment": ENVIRONMENT,
        "store": "redis",
        "name": "Declared",
        "config": {"host": "redis.internal"},
        **fields,
    }


def calls(fake: FakeLaunchDarkly) -> dict[str, tuple[str, dict[str, Any]]]:
    """One call of each tool that must be confirmed, on a seeded integration."""
    integration_id = seed(fake, on=True)
    by_id = {**KEYS, "integration_id": integration_id}
    _ = seed(fake, "Leftover")
    switch_off = [{"op": "replace", "path": "/on", "value": False}]
    return {
        "delete": ("delete_big_segment_store_integration", by_id),
        "patch /on false": ("patch_big_segment_store_integration", {**by_id, "patch": switch_off}),
        "patch /config": (
            "patch_big_segment_store_integration",
            {**by_id, "patch": [{"op": "replace", "path": "/config/host", "value": "elsewhere"}]},
        ),
        "apply with prune": (
            "apply_big_segment_store_integrations",
            {"desired": [desired_item(name="Seeded", on=True)], "prune": True},
        ),
    }


CASES = ["delete", "patch /on false", "patch /config", "apply with prune"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_refusal_sends_nothing_and_says_so(
    fake: FakeLaunchDarkly, case: str, action: Action
) -> None:
    """Declined or cancelled: a success (valid against the output schema) saying nothing
    changed; zero writes reach the fake (and for delete and patch, zero requests at all)."""
    tool, arguments = calls(fake)[case]
    callback, asked = answering(action)

    async with connected(fake, callback) as client:
        result = await client.call_tool(tool, arguments)

    verb = "declined" if action == "decline" else "cancelled"
    assert structured(result) == {"changed": False, "answer": action, "message": text(result)}
    assert text(result).startswith(f"Nothing was changed: the user {verb}.")
    assert len(asked) == 1
    assert writes(fake) == []
    if not tool.startswith("apply"):
        assert fake.requests == []


async def test_a_patch_writing_the_mask_is_refused_before_asking(fake: FakeLaunchDarkly) -> None:
    """A patch whose value is the API's mask ("********") would be refused whatever the
    user answered: it is an error naming the field, the user is not asked, and zero
    requests reach the fake."""
    tool, arguments = calls(fake)["patch /config"]
    masked = [{"op": "replace", "path": "/config/password", "value": "********"}]
    callback, asked = answering("accept")
    fake.requests.clear()

    async with connected(fake, callback) as client:
        result = await client.call_tool(tool, {**arguments, "patch": masked})

    error = error_of(result)
    assert (error["kind"], error["field"]) == ("InputValidationError", "config.password")
    assert "never written back" in error["message"]
    assert asked == []
    assert fake.requests == []


@pytest.mark.parametrize("case", CASES)
async def test_an_accepted_confirmation_goes_ahead(fake: FakeLaunchDarkly, case: str) -> None:
    """Accepted with the box ticked: the call is made, once, after the question."""
    tool, arguments = calls(fake)[case]
    callback, asked = answering("accept")

    async with connected(fake, callback) as client:
        result = await client.call_tool(tool, arguments)

    assert result.is_error is False
    assert "changed" not in structured(result)
    assert len(asked) == 1
    expected = "DELETE" if case.startswith(("delete", "apply")) else "PATCH"
    assert writes(fake).count(expected) == 1


async def test_accepting_with_the_box_unticked_is_a_no(fake: FakeLaunchDarkly) -> None:
    """An accepted form whose box is not ticked counts as declined: nothing is sent."""
    tool, arguments = calls(fake)["delete"]
    callback, _ = answering("accept", confirm=False)

    async with connected(fake, callback) as client:
        result = await client.call_tool(tool, arguments)

    assert structured(result)["answer"] == "decline"
    assert fake.requests == []


@pytest.mark.parametrize("case", CASES)
async def test_a_client_that_cannot_ask_is_refused(fake: FakeLaunchDarkly, case: str) -> None:
    """No elicitation capability: an error telling the operator about --allow-unconfirmed;
    nothing written (fail closed)."""
    tool, arguments = calls(fake)[case]

    async with connected(fake, None) as client:
        result = await client.call_tool(tool, arguments)

    error = error_of(result)
    assert error["kind"] == "ConfirmationRequiredError"
    assert "--allow-unconfirmed" in error["message"]
    assert writes(fake) == []


async def test_allow_unconfirmed_goes_ahead_without_asking(fake: FakeLaunchDarkly) -> None:
    """With --allow-unconfirmed the operator chose: no question, the delete is made."""
    tool, arguments = calls(fake)["delete"]

    async with connected(fake, None, allow_unconfirmed=True) as client:
        result = await client.call_tool(tool, arguments)

    assert structured(result)["deleted"] is True
    assert writes(fake) == ["DELETE"]


async def test_what_can_be_undone_is_not_asked(fake: FakeLaunchDarkly) -> None:
    """A rename, switching a store on, an apply without deletions: no question, even for a
    client that cannot ask."""
    integration_id = seed(fake)
    by_id = {**KEYS, "integration_id": integration_id}
    rename = [
        {"op": "test", "path": "/config/host", "value": "redis.internal"},
        {"op": "replace", "path": "/name", "value": "Renamed"},
        {"op": "replace", "path": "/on", "value": True},
    ]

    async with connected(fake, None) as client:
        patched = await client.call_tool(
            "patch_big_segment_store_integration", {**by_id, "patch": rename}
        )
        applied = await client.call_tool(
            "apply_big_segment_store_integrations", {"desired": [desired_item()]}
        )

    assert structured(patched)["name"] == "Renamed"
    assert structured(applied)["outcomes"][0]["action"] == "create"
    assert writes(fake) == ["PATCH", "POST"]


async def test_the_question_says_what_will_happen(fake: FakeLaunchDarkly) -> None:
    """The user sees the plan in words: each deletion by name and ID; no secret."""
    tool, arguments = calls(fake)["apply with prune"]
    leftover = next(item for item in fake.integrations if item["name"] == "Leftover")
    callback, asked = answering("decline")

    async with connected(fake, callback) as client:
        result = await client.call_tool(tool, arguments)

    (question,) = asked
    assert question.message.startswith(
        "Apply this plan? Plan: 0 to create, 0 to update, 1 to delete"
    )
    assert f"deletes redis default/production 'Leftover' ({leftover['_id']})" in question.message
    assert "hunter2-secret" not in question.message
    assert TOKEN not in dumped(result)


async def test_the_question_never_shows_the_token(fake: FakeLaunchDarkly) -> None:
    """A patch whose value is the token (by mistake or by design): the user's form masks it."""
    integration_id = seed(fake)
    patch = [{"op": "replace", "path": "/config/host", "value": TOKEN}]
    callback, asked = answering("decline")

    async with connected(fake, callback) as client:
        _ = await client.call_tool(
            "patch_big_segment_store_integration",
            {**KEYS, "integration_id": integration_id, "patch": patch},
        )

    (question,) = asked
    assert "[REDACTED]" in question.message
    assert TOKEN not in question.message


async def test_an_unsigned_answer_does_not_count(fake: FakeLaunchDarkly) -> None:
    """A yes sent with the first call (not an answer to this server's question) is ignored:
    the user is asked, and their no stands."""
    tool, arguments = calls(fake)["delete"]
    callback, asked = answering("decline")
    seeded: InputResponses = {"confirm": ElicitResult(action="accept", content={"confirm": True})}

    async with connected(fake, callback) as client:
        result = await client.call_tool(tool, arguments, input_responses=seeded)

    assert structured(result)["answer"] == "decline"
    assert len(asked) == 1
    assert fake.requests == []


_PATHS = st.sampled_from(
    ["", "/on", "/name", "/tags", "/tags/0", "/config", "/config/host", "/configx", "/version"]
)


def _operation(op: PatchOp, path: str, value: object, source: str) -> PatchOperation:
    return PatchOperation(
        op=op,
        path=path,
        value=ABSENT if op in ("remove", "move", "copy") else value,
        from_=source if op in ("move", "copy") else None,
    )


_OPERATIONS = st.builds(
    _operation,
    st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]),
    _PATHS,
    st.sampled_from([True, False, None, "x", 1]),
    _PATHS,
)


@given(st.lists(_OPERATIONS, max_size=6))
def test_every_patch_that_switches_off_or_reconnects_is_asked(
    operations: list[PatchOperation],
) -> None:
    """Any non-test operation touching /config (as target or source), the whole document,
    or /on (as target or source) with anything but add/replace true needs confirming;
    nothing else does."""
    reasons = patch_reasons(operations)

    def risky(operation: PatchOperation) -> bool:
        if operation.op == "test":
            return False
        touched = {operation.path, "/name" if operation.from_ is None else operation.from_}
        reconnects = any(p in ("", "/config") or p.startswith("/config/") for p in touched)
        switches = (operation.path == "/on" or operation.from_ == "/on") and not (
            operation.op in ("add", "replace") and operation.value is True
        )
        return reconnects or switches

    assert bool(reasons) == any(risky(operation) for operation in operations)
    assert all("\n" not in reason for reason in reasons)


def test_the_confirmation_form_is_one_boolean() -> None:
    """The form a host renders: one required box, nothing a user could type a secret into."""
    from mcp.server.elicitation import render_elicitation_schema  # noqa: PLC0415

    from ldstore.mcp._confirm import Confirmation  # noqa: PLC0415

    schema = render_elicitation_schema(Confirmation)

    assert json.loads(json.dumps(schema))["properties"]["confirm"]["type"] == "boolean"
    assert schema["required"] == ["confirm"]
