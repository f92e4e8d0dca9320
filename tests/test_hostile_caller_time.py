"""Time the SDK does not own: a token provider or an async hook that never returns, or
returns late, is spent from the call's budget; the call ends in an Err when it is gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hostile import SLACK, TOKEN, answer, get_request, integration, serve

from ldstore import Core, Err, Hooks, Ok, Result, RetryConfig
from ldstore.core import HookContext, HookRequest
from ldstore.errors import LDStoreError, NotFoundError, RequestTimeoutError
from ldstore.funcs import get_big_segment_store_integration
from ldstore.models import BigSegmentStoreIntegration

BUDGET = 0.3
ONE_TRY_BUDGET = RetryConfig(max_elapsed_time=BUDGET, initial_interval=0.001, max_interval=0.01)


async def _never() -> Any:
    _ = await asyncio.Event().wait()
    raise AssertionError  # pragma: no cover - never reached


async def _stubborn() -> str:
    """Ignores the first cancellation, then answers after a while."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        await asyncio.sleep(BUDGET * 2)
    return TOKEN


def _late(seconds: float) -> Callable[[], Awaitable[str]]:
    async def provider() -> str:
        await asyncio.sleep(seconds)
        return TOKEN

    return provider


async def _timed(core: Core) -> tuple[Result[BigSegmentStoreIntegration, LDStoreError], float]:
    started = time.monotonic()
    result = await asyncio.wait_for(get_big_segment_store_integration(core, get_request()), 10)
    return result, time.monotonic() - started


@pytest.mark.parametrize(
    "provider", [_never, _stubborn, _late(BUDGET * 3)], ids=["never", "stubborn", "late"]
)
async def test_a_token_provider_past_the_budget_is_an_err(
    provider: Callable[[], Awaitable[str]],
) -> None:
    """A provider that never returns, ignores cancellation, or answers after the budget:
    Err(RequestTimeoutError) saying nothing was sent, within the budget (+ slack), and 0
    requests reach the server."""
    async with serve(answer(200, integration())) as server:
        core = Core(provider, server_url=server.url, retry_config=ONE_TRY_BUDGET, timeout=BUDGET)
        async with core:
            result, took = await _timed(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert "token provider did not return within the call's budget" in result.error.message
    assert "nothing was sent" in result.error.message
    assert took < BUDGET + SLACK / 4
    assert server.hits == []


async def test_a_token_provider_in_time_is_used() -> None:
    """A provider answering within the budget: Ok, its token sent."""
    async with serve(answer(200, integration())) as server:
        core = Core(_late(0.01), server_url=server.url, retry_config=ONE_TRY_BUDGET, timeout=2)
        async with core:
            result, _ = await _timed(core)

    assert isinstance(result, Ok)
    assert server.hits[0].headers["Authorization"] == TOKEN


async def test_without_a_budget_each_attempt_bounds_the_provider() -> None:
    """max_attempts=2 and no max_elapsed_time: each attempt waits for the provider at most
    its timeout; the call ends in an Err after about two timeouts."""
    retries = RetryConfig(
        max_attempts=2, max_elapsed_time=None, initial_interval=0.001, max_interval=0.01
    )
    async with (
        serve(answer(200, integration())) as server,
        Core(_never, server_url=server.url, retry_config=retries, timeout=0.2) as core,
    ):
        result, took = await _timed(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert took < 2 * 0.2 + SLACK / 4
    assert server.hits == []


async def _hang_before(_: HookContext, __: HookRequest) -> None:
    await _never()


async def _hang_after(_: HookContext, __: object) -> None:
    await _never()


async def test_an_async_before_request_hook_past_the_budget_is_an_err() -> None:
    """A before_request hook that never returns: Err(RequestTimeoutError) within the
    budget, nothing sent."""
    async with serve(answer(200, integration())) as server:
        core = Core(
            TOKEN,
            server_url=server.url,
            retry_config=ONE_TRY_BUDGET,
            timeout=BUDGET,
            hooks=Hooks(before_request=_hang_before),
        )
        async with core:
            result, took = await _timed(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert "before_request hook did not return" in result.error.message
    assert took < BUDGET + SLACK / 4
    assert server.hits == []


async def test_an_async_after_success_hook_past_the_budget_is_an_err() -> None:
    """An after_success hook that never returns: Err(RequestTimeoutError) saying the
    server had answered, within the budget; one request."""
    async with serve(answer(200, integration())) as server:
        core = Core(
            TOKEN,
            server_url=server.url,
            retry_config=ONE_TRY_BUDGET,
            timeout=BUDGET,
            hooks=Hooks(after_success=_hang_after),
        )
        async with core:
            result, took = await _timed(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert "after_success hook did not return" in result.error.message
    assert "HTTP 200 had come" in result.error.message
    assert took < BUDGET + SLACK / 4
    assert len(server.hits) == 1


async def test_an_async_after_error_hook_past_the_budget_leaves_the_error() -> None:
    """An after_error hook that never returns: the call's own Err (a 404) within the
    budget; one request."""
    async with serve(answer(404, {"code": "not_found", "message": "no"})) as server:
        core = Core(
            TOKEN,
            server_url=server.url,
            retry_config=ONE_TRY_BUDGET,
            timeout=BUDGET,
            hooks=Hooks(after_error=_hang_after),
        )
        async with core:
            result, took = await _timed(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert took < BUDGET + SLACK / 4
    assert len(server.hits) == 1


async def test_a_providers_own_exception_still_propagates() -> None:
    """Within the budget, an exception the provider raises is the caller's: it propagates."""

    async def broken() -> str:
        msg = "vault down"
        raise RuntimeError(msg)

    async with (
        serve(answer(200, integration())) as server,
        Core(broken, server_url=server.url, retry_config=ONE_TRY_BUDGET) as core,
    ):
        with pytest.raises(RuntimeError, match="vault down"):
            _ = await get_big_segment_store_integration(core, get_request())
