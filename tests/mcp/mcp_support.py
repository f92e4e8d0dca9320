"""Driving ``ldstore mcp`` with the ``mcp`` package's own client, over stdio or in process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, TextIO, TypeVar, cast

from ldstore_process import clean_environment, ldstore_executable
from mcp import ClientSession, StdioServerParameters
from mcp.client.session import ClientRequestContext, ElicitationFnT
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult, ErrorData, TextContent
from pydantic import BaseModel

from ldstore.testing import FakeLaunchDarkly

PROJECT = "default"
ENVIRONMENT = "production"
KEYS = {"project_key": PROJECT, "environment_key": ENVIRONMENT, "integration_key": "redis"}
TOKEN = "api-mcp-test-0f1e2d3c4b5a69788796a5b4"  # long enough to be redacted everywhere
T = TypeVar("T")
START_TIMEOUT = 30.0  # seconds to spawn and initialize, far above the ~1 s it takes


def server_environment(fake: FakeLaunchDarkly | None, **extra: str) -> dict[str, str]:
    """This process's environment (coverage's variables included) pointed at ``fake``.

    The stdio client hands the child only HOME, PATH and a few more unless told
    otherwise, so the whole environment is passed explicitly; ldstore's own settings and
    the user's config file are left out.
    """
    connection = {} if fake is None else {"LD_ACCESS_TOKEN": fake.token, "LD_BASE_URI": fake.url}
    return clean_environment(**{**connection, **extra})


@asynccontextmanager
async def in_own_task(context: AbstractAsyncContextManager[T]) -> AsyncGenerator[T, None]:
    """Enter and exit ``context`` in a task of its own, yielding what it gives.

    anyio's task groups (the stdio transport, the in-memory client) must be exited by the
    task that entered them; a pytest fixture's setup and teardown run in different tasks.
    """
    opened: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def hold() -> None:
        async with context as value:
            opened.set_result(value)
            _ = await stop.wait()

    holder = asyncio.create_task(hold())
    waiting: set[asyncio.Future[Any]] = {holder, opened}
    done, _ = await asyncio.wait(
        waiting, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if opened not in done:
        _ = holder.cancel()
        error = holder.exception() if holder in done else None
        raise RuntimeError(f"could not open {context!r}: {error!r}")  # noqa: EM102, TRY003
    try:
        yield opened.result()
    finally:
        stop.set()
        await asyncio.wait_for(holder, START_TIMEOUT)


@asynccontextmanager
async def stdio_session(
    *args: str,
    env: Mapping[str, str],
    errlog: TextIO,
    elicitation_callback: ElicitationFnT | None = None,
) -> AsyncGenerator[ClientSession, None]:
    """An initialized ClientSession with ``ldstore mcp *args`` spawned over stdio.

    With ``elicitation_callback`` the client declares elicitation and answers with it.
    """
    parameters = StdioServerParameters(
        command=ldstore_executable(), args=["mcp", *args], env=dict(env)
    )
    async with (
        stdio_client(parameters, errlog=errlog) as (read, write),
        ClientSession(read, write, elicitation_callback=elicitation_callback) as session,
    ):
        _ = await session.initialize()
        yield session


def text(result: CallToolResult) -> str:
    """The first line of the result's one text block: what happened, in words."""
    (block,) = result.content
    assert isinstance(block, TextContent), block
    return block.text.split("\n", 1)[0]


def text_json(result: CallToolResult) -> dict[str, Any]:
    """The JSON that follows the first line of the result's one text block."""
    (block,) = result.content
    assert isinstance(block, TextContent), block
    _, document = block.text.split("\n", 1)
    return cast("dict[str, Any]", json.loads(document))


def answering(
    action: Literal["accept", "decline", "cancel"], *, confirm: bool = True
) -> tuple[ElicitationFnT, list[ElicitRequestParams]]:
    """An elicitation callback giving ``action`` (ticking the box when accepting), and the
    list of what it was asked."""
    asked: list[ElicitRequestParams] = []

    async def callback(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        del context
        asked.append(params)
        if action != "accept":
            return ElicitResult(action=action)
        return ElicitResult(action=action, content={"confirm": confirm})

    return callback, asked


def structured(result: CallToolResult) -> dict[str, Any]:
    """The structuredContent of a successful result, checking the text block says the same."""
    assert result.is_error is not True, result
    assert result.structured_content is not None, result
    assert text_json(result) == result.structured_content
    return cast("dict[str, Any]", result.structured_content)


def failed(result: CallToolResult) -> dict[str, Any]:
    """The JSON of a failed result, from its text block (errors carry no structuredContent)."""
    assert result.is_error is True, result
    assert result.structured_content is None, result
    return text_json(result)


def error_of(result: CallToolResult) -> dict[str, Any]:
    """The ``error`` object of a failed result, checking it is one."""
    error = failed(result)["error"]
    assert set(error) == {"kind", "status", "code", "message", "id", "retry_after", "field"}
    return cast("dict[str, Any]", error)


def dumped(value: BaseModel) -> str:
    """Everything in a client-side value as JSON text, for searching it for secrets."""
    return value.model_dump_json()
