"""The SDK driven through the fake's faults: retried to success, or the right Err, never a raise."""

import asyncio
import json
import socket
import time

import pytest
from sdk import FAST_RETRIES, core_for, create_request, get_request, patch_request, seed

from ldstore import Core, Err, Hooks, Ok, RequestOptions, RetryConfig
from ldstore.core import HookContext
from ldstore.errors import (
    APIError,
    ConnectionFailedError,
    ConnectionLostError,
    RateLimitedError,
    RequestTimeoutError,
    ResponseValidationError,
    StatusConflictError,
)
from ldstore.funcs import (
    create_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.patch import if_version, replace_name
from ldstore.testing import (
    DropConnection,
    FakeLaunchDarkly,
    Hang,
    MalformedJSON,
    RateLimited,
    ServerError,
)

CREATE = "createBigSegmentStoreIntegration"


def _sent(fake: FakeLaunchDarkly, operation: str) -> int:
    return sum(1 for r in fake.requests if r.operation_id == operation)


async def test_an_html_500_is_an_api_error_with_the_raw_page(fake: FakeLaunchDarkly) -> None:
    """Without retries a proxy's HTML 500 is Err(APIError) holding the page's text."""
    fake.schedule(ServerError(500))

    async with core_for(fake) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert type(result.error) is APIError
    assert result.error.status_code == 500
    assert b"<html>" in result.error.body
    assert "Bad Gateway" in result.error.message


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_on_a_get_is_retried_to_success(fake: FakeLaunchDarkly, status: int) -> None:
    """Two 5xx answers, then success: the caller sees only the Ok, after three attempts."""
    _ = seed(fake)
    fake.schedule(ServerError(status), times=2)

    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    assert [r.status for r in fake.requests] == [status, status, 200]


async def test_max_attempts_bounds_the_retries(fake: FakeLaunchDarkly) -> None:
    """A server that keeps failing gets exactly max_attempts tries, then its last error."""
    fake.schedule(ServerError(503), times=None)
    config = RetryConfig(initial_interval=0.001, max_interval=0.001, max_attempts=3)

    async with core_for(fake, retry_config=config) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, APIError)
    assert result.error.status_code == 503
    assert len(fake.requests) == 3


async def test_max_elapsed_time_bounds_all_attempts(fake: FakeLaunchDarkly) -> None:
    """With an elapsed-time budget the retries stop once it is spent."""
    fake.schedule(ServerError(503), times=None)
    config = RetryConfig(initial_interval=0.05, max_interval=0.05, max_elapsed_time=0.3)

    started = time.monotonic()
    async with core_for(fake, retry_config=config) as core:
        result = await get_big_segment_store_integrations(core)
    elapsed = time.monotonic() - started

    assert isinstance(result, Err)
    assert 3 <= len(fake.requests) <= 12
    assert elapsed < 2.0


async def test_a_dropped_connection_is_connection_lost(fake: FakeLaunchDarkly) -> None:
    """A connection cut mid-response is Err(ConnectionLostError) without retries."""
    fake.schedule(DropConnection())

    async with core_for(fake) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionLostError)
    assert fake.url.removeprefix("http://") in str(result.error)


async def test_a_dropped_get_is_retried_to_success(fake: FakeLaunchDarkly) -> None:
    """A GET that lost its connection is safe to repeat: retried, then Ok."""
    _ = seed(fake)
    fake.schedule(DropConnection(), times=2)

    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    assert len(result.value.items) == 1


async def test_a_hang_ends_in_a_request_timeout(fake: FakeLaunchDarkly) -> None:
    """A server that never answers is ended by the timeout: Err(RequestTimeoutError)."""
    fake.schedule(Hang())

    started = time.monotonic()
    async with core_for(fake, timeout=0.2) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert time.monotonic() - started < 2.0


async def test_a_per_call_timeout_overrides_the_cores(fake: FakeLaunchDarkly) -> None:
    """RequestOptions(timeout=...) bounds that call alone."""
    fake.schedule(Hang())

    async with core_for(fake, timeout=30.0) as core:
        result = await get_big_segment_store_integrations(core, RequestOptions(timeout=0.2))

    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)


async def test_malformed_json_is_a_response_validation_error(fake: FakeLaunchDarkly) -> None:
    """A 200 whose body is broken JSON gives Err(ResponseValidationError) with the raw body."""
    fake.schedule(MalformedJSON())

    async with core_for(fake) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert result.error.status_code == 200
    assert result.error.body == fake.requests[-1].response_body
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.error.body)


async def test_a_body_that_breaks_the_schema_is_a_response_validation_error() -> None:
    """A stored integration with a wrong-typed field fails validation, not the process."""
    # Its own fake, outside the contract check: this answer breaks the contract on purpose.
    async with FakeLaunchDarkly() as fake:
        planted: object = "three"  # a server bug: a version that is not an integer
        _ = fake.seed_integration(
            "default",
            "production",
            "redis",
            name="bad",
            config={},
            version=planted,  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        )
        async with core_for(fake) as core:
            result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert b"three" in result.error.body


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_refused_connection_is_connection_failed_and_retried() -> None:
    """Nothing listening: Err(ConnectionFailedError) after the configured attempts."""
    attempts: list[int] = []
    hooks = Hooks(after_error=lambda ctx, _: attempts.append(ctx.attempt))
    config = RetryConfig(initial_interval=0.001, max_interval=0.001, max_attempts=3)

    async with Core(
        "api-x", server_url=f"http://127.0.0.1:{_closed_port()}", retry_config=config, hooks=hooks
    ) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionFailedError)
    assert attempts == [1, 2, 3]


async def test_a_create_is_retried_after_a_refused_connection(fake: FakeLaunchDarkly) -> None:
    """A POST that never connected is safe to retry: one create lands."""
    closed = _closed_port()
    attempts: list[int] = []

    def aim(ctx: HookContext, _: object) -> None:
        attempts.append(ctx.attempt)

    options = RequestOptions(server_url=f"http://127.0.0.1:{closed}")
    config = RetryConfig(initial_interval=0.001, max_interval=0.001, max_attempts=2)
    async with core_for(fake, retry_config=config, hooks=Hooks(after_error=aim)) as core:
        refused = await create_big_segment_store_integration(core, create_request(), options)
        landed = await create_big_segment_store_integration(core, create_request())

    assert isinstance(refused, Err)
    assert isinstance(refused.error, ConnectionFailedError)
    assert attempts == [1, 2]
    assert isinstance(landed, Ok)
    assert len(fake.integrations) == 1


@pytest.mark.parametrize("fault", [ServerError(503), DropConnection()])
async def test_a_create_that_may_have_landed_is_not_retried(
    fake: FakeLaunchDarkly, fault: ServerError | DropConnection
) -> None:
    """A POST whose answer was lost after the server created it is sent once: no duplicate."""
    fake.schedule(fault, operation=CREATE, when="after")

    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await create_big_segment_store_integration(core, create_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, APIError | ConnectionLostError)
    assert _sent(fake, CREATE) == 1
    assert len(fake.integrations) == 1  # created once; the caller lists before creating again


async def test_a_create_timeout_is_not_retried(fake: FakeLaunchDarkly) -> None:
    """A POST that timed out may have been processed: Err(RequestTimeoutError), sent once."""
    fake.schedule(Hang(), operation=CREATE)

    async with core_for(fake, retry_config=FAST_RETRIES, timeout=0.2) as core:
        result = await create_big_segment_store_integration(core, create_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, RequestTimeoutError)
    assert _sent(fake, CREATE) == 1


async def test_opting_in_retries_a_create_after_a_5xx(fake: FakeLaunchDarkly) -> None:
    """retry_non_idempotent=True retries a POST after a 5xx that did not create anything."""
    fake.schedule(ServerError(502), operation=CREATE)
    config = RetryConfig(initial_interval=0.001, max_interval=0.001, retry_non_idempotent=True)

    async with core_for(fake, retry_config=config) as core:
        result = await create_big_segment_store_integration(core, create_request())

    assert isinstance(result, Ok)
    assert _sent(fake, CREATE) == 2
    assert len(fake.integrations) == 1


async def test_a_rate_limited_create_is_retried_once_and_lands_once(fake: FakeLaunchDarkly) -> None:
    """A 429 means nothing was done: the create is retried and lands exactly once."""
    fake.schedule(RateLimited(retry_after=0.05), operation=CREATE)

    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await create_big_segment_store_integration(core, create_request())

    assert isinstance(result, Ok)
    assert [r.status for r in fake.requests] == [429, 201]
    assert len(fake.integrations) == 1


async def test_retry_after_is_a_floor_for_the_wait(fake: FakeLaunchDarkly) -> None:
    """The retry after a 429 waits at least the Retry-After seconds, even with tiny intervals."""
    integration_id = seed(fake)
    fake.schedule(RateLimited(retry_after=0.4))

    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integration(core, get_request(integration_id))

    assert isinstance(result, Ok)
    first, second = fake.requests
    assert first.status == 429
    assert second.time - first.time >= 0.4


async def test_ratelimit_reset_is_honoured_when_longer(fake: FakeLaunchDarkly) -> None:
    """X-Ratelimit-Reset (epoch ms) further than Retry-After sets the wait."""
    fake.schedule(RateLimited(retry_after=0, reset_in=0.4))

    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    first, second = fake.requests
    assert second.time - first.time >= 0.35  # the reset header is whole milliseconds


async def test_a_wait_longer_than_the_budget_returns_at_once(fake: FakeLaunchDarkly) -> None:
    """When the server asks for more than the budget left, the 429 comes back now."""
    fake.schedule(RateLimited(retry_after=30))
    config = RetryConfig(initial_interval=0.001, max_elapsed_time=1.0)

    started = time.monotonic()
    async with core_for(fake, retry_config=config, rate_limit_aware=False) as core:
        result = await get_big_segment_store_integrations(core)

    match result:
        case Err(RateLimitedError(retry_after=wait)):
            assert wait is not None
            assert wait >= 29
        case _:
            pytest.fail(f"expected RateLimitedError, got {result!r}")
    assert len(fake.requests) == 1
    assert time.monotonic() - started < 1.0 + 2.0  # at once; generous for a loaded machine


async def test_no_retries_means_one_attempt(fake: FakeLaunchDarkly) -> None:
    """RetryConfig.none() sends once and returns the 429 as is."""
    fake.schedule(RateLimited(retry_after=0))

    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integrations(
            core, RequestOptions(retry_config=RetryConfig.none())
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, RateLimitedError)
    assert len(fake.requests) == 1


async def test_a_conflict_is_never_retried(fake: FakeLaunchDarkly) -> None:
    """A guarded PATCH (otherwise retryable) that meets 409 is StatusConflictError, sent once."""
    integration_id = seed(fake, version=2)

    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await patch_big_segment_store_integration(
            core, patch_request(integration_id, [if_version(1), replace_name("mine")])
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, StatusConflictError)
    assert _sent(fake, "patchBigSegmentStoreIntegration") == 1


async def test_cancellation_propagates_and_leaves_the_core_usable(fake: FakeLaunchDarkly) -> None:
    """Cancelling a hung call raises CancelledError; the same Core then works (limiter freed)."""
    _ = seed(fake)
    fake.schedule(Hang())

    async with core_for(fake, max_in_flight=1) as core:
        hung = asyncio.create_task(get_big_segment_store_integrations(core))
        while not fake.requests:  # noqa: ASYNC110 (polling the fake's log, which has no event)
            await asyncio.sleep(0.01)
        _ = hung.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hung
        after = await asyncio.wait_for(get_big_segment_store_integrations(core), timeout=5)

    assert isinstance(after, Ok)
    assert len(after.value.items) == 1
