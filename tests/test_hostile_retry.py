"""The retry layer against servers that lie about waits, fail forever or answer late: every
call ends within its budget, and only what is safe to repeat is repeated."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from hostile import (
    FAST,
    SLACK,
    answer,
    core_at,
    delete_request,
    get_request,
    hang,
    integration,
    patch_request,
    script,
    serve,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk import core_for, seed
from sdk import delete_request as fake_delete_request

from ldstore import Err, Ok, RetryConfig
from ldstore.errors import (
    APIError,
    ConnectionLostError,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    StatusConflictError,
)
from ldstore.funcs import (
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.patch import PatchWithComment, add_tag, if_version, replace_name
from ldstore.testing import DropConnection, FakeLaunchDarkly, ServerError

DELETE = "deleteBigSegmentStoreIntegration"


async def test_retry_after_is_a_floor_with_the_limiter_off() -> None:
    """With rate_limit_aware=False only the retry layer can honour Retry-After: 0.4 s between
    the 429 and the retry at the server, though the backoff intervals are 1-10 ms."""
    handler = script(answer(429, {}, {"Retry-After": "0.4"}), answer(200, integration()))
    async with (
        serve(handler) as server,
        core_at(server.url, retry_config=FAST, rate_limit_aware=False) as core,
    ):
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Ok)
    first, second = server.hits
    assert second.time - first.time >= 0.4


@pytest.mark.parametrize(
    ("method", "status"),
    [("GET", 409), ("PATCH", 409)],
)
async def test_a_conflict_is_never_retried(method: str, status: int) -> None:
    """A 409 on a GET and on a guarded PATCH (both retryable otherwise): StatusConflictError,
    one request at the server, with generous retries."""
    async with (
        serve(answer(status, {"code": "conflict", "message": "lost update"})) as server,
        core_at(server.url, retry_config=FAST) as core,
    ):
        if method == "GET":
            result = await get_big_segment_store_integration(core, get_request())
        else:
            body = [if_version(1), replace_name("x")]
            result = await patch_big_segment_store_integration(core, patch_request(body))

    assert isinstance(result, Err)
    assert isinstance(result.error, StatusConflictError)
    assert len(server.hits) == 1


async def _drop(request: web.Request) -> web.StreamResponse:
    """Read the request, then cut the connection without answering."""
    assert request.transport is not None
    request.transport.close()
    return web.Response()


async def _bad_gateway(_: web.Request) -> web.StreamResponse:
    return web.Response(status=502, text="<html>bad gateway</html>")


@pytest.mark.parametrize("lost", [_bad_gateway, _drop, hang], ids=["5xx", "dropped", "timeout"])
async def test_an_unguarded_patch_whose_answer_was_lost_is_sent_once(lost: object) -> None:
    """PATCH add /tags/- without a test op, answer lost (5xx, dropped, timed out): one PATCH
    reaches the server (a repeat would add the tag twice)."""
    handler = script(lost, answer(200, integration()))  # type: ignore[arg-type]  # a handler
    async with (
        serve(handler) as server,
        core_at(server.url, retry_config=FAST, timeout=0.3) as core,
    ):
        result = await patch_big_segment_store_integration(core, patch_request([add_tag("t")]))

    assert isinstance(result, Err)
    assert isinstance(result.error, APIError | ConnectionLostError | RequestTimeoutError)
    assert len(server.hits) == 1


@pytest.mark.parametrize("lost", [_bad_gateway, _drop, hang], ids=["5xx", "dropped", "timeout"])
async def test_a_guarded_patch_whose_answer_was_lost_is_retried(lost: object) -> None:
    """The same loss with a test op on /version (commented envelope): retried, Ok, 2 PATCHes."""
    handler = script(lost, answer(200, integration()))  # type: ignore[arg-type]  # a handler
    body = PatchWithComment([if_version(1), add_tag("t")], "tag it")
    async with (
        serve(handler) as server,
        core_at(server.url, retry_config=FAST, timeout=0.3) as core,
    ):
        result = await patch_big_segment_store_integration(core, patch_request(body))

    assert isinstance(result, Ok)
    assert len(server.hits) == 2


async def test_opting_in_retries_an_unguarded_patch() -> None:
    """retry_non_idempotent=True: the unguarded PATCH after a 502 is sent again (2 requests)."""
    retries = RetryConfig(initial_interval=0.001, max_interval=0.01, retry_non_idempotent=True)
    handler = script(_bad_gateway, answer(200, integration()))
    async with serve(handler) as server, core_at(server.url, retry_config=retries) as core:
        result = await patch_big_segment_store_integration(core, patch_request([add_tag("t")]))

    assert isinstance(result, Ok)
    assert len(server.hits) == 2


@pytest.mark.parametrize("fault", [ServerError(503), DropConnection()], ids=["5xx", "dropped"])
async def test_a_delete_retried_after_a_lost_answer_says_it_may_be_gone(
    fake: FakeLaunchDarkly, fault: ServerError | DropConnection
) -> None:
    """The fake deletes, then the answer is lost; the retry meets 404: NotFoundError whose
    message says the earlier attempt may have deleted it (2 DELETEs at the server)."""
    integration_id = seed(fake)
    fake.schedule(fault, operation=DELETE, when="after")

    async with core_for(fake, retry_config=FAST) as core:
        result = await delete_big_segment_store_integration(
            core, fake_delete_request(integration_id)
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert "may already have been deleted by the earlier attempt" in str(result.error)
    assert sum(1 for r in fake.requests if r.operation_id == DELETE) == 2
    assert fake.integrations == []


async def test_a_plain_404_on_delete_says_nothing_of_earlier_attempts() -> None:
    """A delete answered 404 at once has the server's message alone."""
    async with serve(answer(404, {"message": "not here"})) as server, core_at(server.url) as core:
        result = await delete_big_segment_store_integration(core, delete_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert "earlier attempt" not in str(result.error)


async def test_a_hanging_server_is_bounded_by_the_budget() -> None:
    """timeout=2, max_elapsed_time=2.3 against a hang: the retry's timeout is cut to what is
    left, so the call ends within 2.3 s + slack (not budget + a whole second timeout)."""
    retries = RetryConfig(initial_interval=0.05, max_interval=0.05, max_elapsed_time=2.3)
    async with serve(hang) as server, core_at(server.url, retry_config=retries, timeout=2) as core:
        started = time.monotonic()
        result = await get_big_segment_store_integrations(core)
        elapsed = time.monotonic() - started

    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert len(server.hits) == 2
    assert elapsed < 2.3 + 1.0


async def test_an_extreme_exponent_never_overflows() -> None:
    """exponent=10 over 350 attempts (10**350 overflows a float): the last 503, no raise."""
    retries = RetryConfig(
        initial_interval=0.0,
        max_interval=0.0001,
        exponent=10,
        max_attempts=350,
        max_elapsed_time=None,
    )
    async with serve(answer(503, {})) as server, core_at(server.url, retry_config=retries) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, APIError)
    assert len(server.hits) == 350


_WAIT_TEXT = st.one_of(
    st.sampled_from(
        ["0", "1e9", "inf", "-inf", "nan", "-5", "1_000", " 0.01 ", "0x10", "", "∞", "١٢"]
    ),
    st.sampled_from(["Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.text(max_size=40),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(retry_after=_WAIT_TEXT, reset=_WAIT_TEXT, aware=st.booleans())
def test_any_wait_header_ends_within_the_budget(retry_after: str, reset: str, aware: bool) -> None:  # noqa: FBT001 (hypothesis' argument)
    """Whatever Retry-After and X-Ratelimit-Reset say, a 429-then-200 call returns a Result
    within its 0.5 s budget + slack, limiter on or off."""

    async def scenario() -> None:
        headers = {"Retry-After": retry_after, "X-Ratelimit-Reset": reset}
        headers = {k: v for k, v in headers.items() if v.isprintable() and "\n" not in v}
        handler = script(answer(429, {}, headers), answer(200, integration()))
        retries = RetryConfig(initial_interval=0.001, max_interval=0.01, max_elapsed_time=0.5)
        async with (
            serve(handler) as server,
            core_at(server.url, retry_config=retries, rate_limit_aware=aware, timeout=1) as core,
        ):
            started = time.monotonic()
            first = await get_big_segment_store_integration(core, get_request())
            second = await get_big_segment_store_integration(core, get_request())
            elapsed = time.monotonic() - started

        assert isinstance(first, Ok) or isinstance(first.error, RateLimitedError)
        assert isinstance(second, Ok | Err)
        assert elapsed < 2 * 1 + SLACK  # two calls, each within max(budget, timeout)

    asyncio.run(scenario())
