"""wait_until_available against the fake: synced, errors, stale, timeout, deadline, cancel."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from conftest import ServeFake
from sdk import core_for, get_request, seed_redis, sent

from ldstore import Err, Ok
from ldstore.errors import InputValidationError, NotFoundError
from ldstore.models import BigSegmentStoreIntegration
from ldstore.testing import FakeLaunchDarkly
from ldstore.workflows import NotAvailableError, wait_until_available

STORE_ERROR = {"statusCode": 503, "message": "could not reach redis.internal:6379", "timestamp": 0}


async def test_wait_returns_the_integration_once_the_store_syncs(fake: FakeLaunchDarkly) -> None:
    """A store switched on becomes available after the sync delay; Ok carries it."""
    integration_id = seed_redis(fake, "Cache", on=True)
    polls: list[tuple[bool | None, float]] = []

    def on_poll(integration: BigSegmentStoreIntegration, elapsed: float) -> None:
        polls.append((integration.status.available, elapsed))

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=5, poll_interval=0.01, on_poll=on_poll
        )

    assert isinstance(result, Ok)
    assert result.value.id == integration_id
    assert result.value.status.available is True
    assert polls[0][0] is False
    assert polls[-1][0] is True
    assert [elapsed for _, elapsed in polls] == sorted(elapsed for _, elapsed in polls)


async def test_async_on_poll_is_awaited(fake: FakeLaunchDarkly) -> None:
    """on_poll may be a coroutine function; each call is awaited."""
    integration_id = seed_redis(fake, "Cache", on=True)
    seen: list[float] = []

    async def on_poll(_: BigSegmentStoreIntegration, elapsed: float) -> None:
        await asyncio.sleep(0)
        seen.append(elapsed)

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=5, poll_interval=0.01, on_poll=on_poll
        )

    assert isinstance(result, Ok)
    assert len(seen) == len(sent(fake, "GET"))


async def test_a_store_switched_off_fails_at_once(fake: FakeLaunchDarkly) -> None:
    """A store left off never syncs: NotAvailableError(reason="off") after one poll, not
    at the 30 s deadline."""
    integration_id = seed_redis(fake, "Cache", on=False)
    started = time.monotonic()

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=30, poll_interval=0.05
        )

    assert time.monotonic() - started < 5.0
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, NotAvailableError)
    assert error.reason == "off"
    assert error.last_status is not None
    assert error.last_status.available is False
    assert "is off" in str(error)
    assert len(sent(fake, "GET")) == 1


async def test_a_store_that_never_syncs_times_out_as_not_synced(serve_fake: ServeFake) -> None:
    """A store on that does not sync in time: NotAvailableError(reason="not_synced") at
    the deadline."""
    fake = await serve_fake(FakeLaunchDarkly(sync_delay=60))
    integration_id = seed_redis(fake, "Cache", on=True)

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=0.2, poll_interval=0.05
        )

    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, NotAvailableError)
    assert error.reason == "not_synced"
    assert error.last_status is not None
    assert error.last_status.available is False
    assert error.errors == ()
    assert 0.2 <= error.waited < 1.0
    assert "not available after" in str(error)
    assert "not synced yet" in str(error)


async def test_store_errors_are_reported_after_polling_to_the_deadline(
    fake: FakeLaunchDarkly,
) -> None:
    """Errors may clear, so polling goes on to the deadline; then reason="errors" with them."""
    integration_id = seed_redis(fake, "Cache", on=True)
    fake.set_status(integration_id, available=False, errors=[STORE_ERROR])

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=0.2, poll_interval=0.05
        )

    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, NotAvailableError)
    assert error.reason == "errors"
    assert [e.message for e in error.errors] == [STORE_ERROR["message"]]
    assert error.errors[0].status_code == 503
    assert "could not reach redis.internal:6379 (HTTP 503)" in str(error)
    assert len(sent(fake, "GET")) > 2


async def test_a_last_error_after_the_last_sync_counts_as_errors(fake: FakeLaunchDarkly) -> None:
    """lastError later than lastSync (no errors listed) is reason="errors" too."""
    integration_id = seed_redis(fake, "Cache", on=True)
    now = int(time.time() * 1000)
    fake.set_status(integration_id, available=False, last_sync=now - 60_000, last_error=now)

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=0, poll_interval=0.05
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, NotAvailableError)
    assert result.error.reason == "errors"


async def test_fail_fast_returns_at_the_first_status_with_errors(fake: FakeLaunchDarkly) -> None:
    """With fail_fast=True, a status reporting errors ends the wait at the first poll."""
    integration_id = seed_redis(fake, "Cache", on=True)
    fake.set_status(integration_id, available=False, errors=[STORE_ERROR])

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=30, poll_interval=0.05, fail_fast=True
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, NotAvailableError)
    assert result.error.reason == "errors"
    assert result.error.waited < 1
    assert len(sent(fake, "GET")) == 1


async def test_errors_that_clear_before_the_deadline_still_end_in_ok(
    fake: FakeLaunchDarkly,
) -> None:
    """Without fail_fast, a store whose errors clear becomes available within the wait."""
    integration_id = seed_redis(fake, "Cache", on=True)
    fake.set_status(integration_id, available=False, errors=[STORE_ERROR])

    def on_poll(_: BigSegmentStoreIntegration, __: float) -> None:
        fake.set_status(integration_id, available=True, errors=[])  # fixed after one look

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=5, poll_interval=0.01, on_poll=on_poll
        )

    assert isinstance(result, Ok)
    assert len(sent(fake, "GET")) == 2


async def test_a_potentially_stale_store_is_not_available(fake: FakeLaunchDarkly) -> None:
    """available with potentiallyStale is not ready: reason="stale" at the deadline."""
    integration_id = seed_redis(fake, "Cache", on=True)
    fake.set_status(integration_id, available=True, potentially_stale=True)

    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request(integration_id), timeout=0.1, poll_interval=0.05
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, NotAvailableError)
    assert result.error.reason == "stale"
    assert "potentially stale" in str(result.error)


async def test_an_unknown_integration_is_returned_at_once(fake: FakeLaunchDarkly) -> None:
    """An API error (404) during polling comes back at once; no more polls."""
    async with core_for(fake) as core:
        result = await wait_until_available(
            core, get_request("no-such-id"), timeout=30, poll_interval=0.05
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert len(fake.requests) == 1


async def test_polls_back_off_and_never_sleep_past_the_deadline(serve_fake: ServeFake) -> None:
    """Waits grow from poll_interval to max_poll_interval; the last poll is at the deadline.

    Bounds: each waits 0.2, 0.3, 0.45, then 0.6 s; a loaded machine may add some tenths to
    any gap, so the asserts leave 0.25 s for that and no more.
    """
    fake = await serve_fake(FakeLaunchDarkly(sync_delay=60))  # on, never synced in time
    integration_id = seed_redis(fake, "Cache", on=True)

    async with core_for(fake) as core:
        result = await wait_until_available(
            core,
            get_request(integration_id),
            timeout=2.0,
            poll_interval=0.2,
            max_poll_interval=0.6,
        )

    assert isinstance(result, Err)
    times = [request.time for request in sent(fake, "GET")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps[2] > gaps[0] + 0.1  # backing off: 0.45 s after 0.2 s
    assert max(gaps) < 0.6 + 0.25  # capped at max_poll_interval
    assert 2.0 - 0.25 <= times[-1] - times[0] < 2.0 + 0.25  # the last poll at the deadline


async def test_cancelling_the_wait_propagates(serve_fake: ServeFake) -> None:
    """Cancelling the task that waits raises CancelledError in it; nothing is swallowed."""
    fake = await serve_fake(FakeLaunchDarkly(sync_delay=60))  # on, never synced in time
    integration_id = seed_redis(fake, "Cache", on=True)

    async with core_for(fake) as core:
        task = asyncio.ensure_future(
            wait_until_available(core, get_request(integration_id), timeout=30, poll_interval=5)
        )
        await asyncio.sleep(0.1)
        _ = task.cancel()

        with pytest.raises(asyncio.CancelledError):
            _ = await task


@pytest.mark.parametrize(
    ("timeout", "poll_interval", "max_poll_interval", "field"),
    [
        (-1.0, 1.0, 30.0, "timeout"),
        (10.0, 0.0, 30.0, "poll_interval"),
        (10.0, 5.0, 1.0, "max_poll_interval"),
    ],
)
async def test_out_of_range_times_are_refused_without_a_request(
    fake: FakeLaunchDarkly,
    timeout: float,
    poll_interval: float,
    max_poll_interval: float,
    field: str,
) -> None:
    """A negative timeout or a non-positive interval is Err(InputValidationError), unsent."""
    async with core_for(fake) as core:
        result = await wait_until_available(
            core,
            get_request("any"),
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert result.error.field == field
    assert fake.requests == []
