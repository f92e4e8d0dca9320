"""wait_until_available(): poll one integration until LaunchDarkly has synced its store."""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Callable
from typing import Literal, TypeAlias

import attrs

from ldstore.core import Core, RequestOptions
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.funcs import get_big_segment_store_integration
from ldstore.models import BigSegmentStoreIntegration, BigSegmentStoreStatus, StoreIntegrationError
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.result import Err, Ok, Result

__all__ = ["NotAvailableError", "NotAvailableReason", "is_ready", "wait_until_available"]

NotAvailableReason: TypeAlias = Literal["not_synced", "errors", "stale", "off"]
_GROWTH = 1.5  # each wait is this much longer than the last, up to max_poll_interval


@attrs.frozen(kw_only=True)
class NotAvailableError(LDStoreError):
    """The store did not become available in time (or reported errors, with ``fail_fast``).

    ``reason`` is what the last status showed: ``"off"`` (the integration is switched
    off, so LaunchDarkly will not sync it: returned at once), ``"errors"``
    (``_status.errors``, or a ``lastError`` later than the last sync), else ``"stale"``
    (``potentiallyStale``), else ``"not_synced"``. ``waited`` is in seconds.
    """

    reason: NotAvailableReason
    last_status: BigSegmentStoreStatus | None
    errors: tuple[StoreIntegrationError, ...] = ()
    waited: float


def is_ready(status: BigSegmentStoreStatus) -> bool:
    """Available and not potentially stale: what ``wait_until_available`` waits for."""
    return status.available is True and status.potentially_stale is not True


def has_errors(status: BigSegmentStoreStatus) -> bool:
    """Errors listed, or a ``lastError`` that no later sync has cleared."""
    if status.errors:
        return True
    if status.last_error is None:
        return False
    return status.last_sync is None or status.last_error >= status.last_sync


async def wait_until_available(  # noqa: PLR0913 (all keyword-only, with defaults)
    core: Core,
    request: GetBigSegmentStoreIntegrationRequest,
    *,
    timeout: float = 300.0,
    poll_interval: float = 2.0,
    max_poll_interval: float = 30.0,
    fail_fast: bool = False,
    on_poll: Callable[[BigSegmentStoreIntegration, float], object] | None = None,
) -> Result[BigSegmentStoreIntegration, LDStoreError]:
    """Poll until the store is available and not potentially stale; ``Ok(integration)``.

    Polls at once, then after ``poll_interval`` seconds, each wait 1.5 times the last up
    to ``max_poll_interval``, never sleeping past the deadline: the last poll is at
    ``timeout`` seconds. Errors and staleness can clear on the next sync, so they do not
    stop the wait early; they become the ``reason`` of the ``NotAvailableError`` returned
    at the deadline. With ``fail_fast=True`` a status reporting errors returns at once.

    ``on_poll(integration, elapsed_seconds)`` runs after every successful poll (it may
    be async), e.g. to show progress.

    ``Err``: ``NotAvailableError`` (see ``reason``); any error of
    ``get_big_segment_store_integration`` at once (a 404 or 401 will not get better; the
    Core has already retried transient ones, within the time left before the deadline);
    ``InputValidationError`` for a negative timeout or a non-positive interval.
    Cancelling the task cancels the wait.
    """
    if bad := _check_times(timeout, poll_interval, max_poll_interval):
        return Err(bad)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + timeout
    interval = poll_interval
    while True:
        result = await get_big_segment_store_integration(
            core, request, _within(core, deadline - loop.time())
        )
        if isinstance(result, Err):
            return result
        integration = result.value
        status = integration.status
        elapsed = loop.time() - started
        if on_poll is not None:
            outcome = on_poll(integration, elapsed)
            if inspect.isawaitable(outcome):
                _ = await outcome
        if is_ready(status):
            return Ok(integration)
        if not integration.on:  # LaunchDarkly syncs only stores that are on: no use waiting
            return Err(_switched_off(integration, elapsed))
        left = deadline - loop.time()
        if left <= 0 or (fail_fast and has_errors(status)):
            return Err(_not_available(integration, elapsed, timed_out=left <= 0))
        await asyncio.sleep(min(interval, left))
        interval = min(interval * _GROWTH, max_poll_interval)


def _check_times(
    timeout: float, poll_interval: float, max_poll_interval: float
) -> InputValidationError | None:
    checks = (
        ("timeout", timeout, timeout >= 0),
        ("poll_interval", poll_interval, poll_interval > 0),
        ("max_poll_interval", max_poll_interval, max_poll_interval >= poll_interval),
    )
    for name, value, valid in checks:
        if not valid or math.isnan(value):
            message = f"{name} {value!r} is out of range (timeout >= 0 < poll_interval <= max_poll_interval)"
            return InputValidationError(message=message, field=name)
    return None


def _within(core: Core, left: float) -> RequestOptions | None:
    """Options that keep one poll's retries inside the time left, if the Core's would not."""
    budget = core.retry_config.max_elapsed_time
    if budget is not None and budget <= left:
        return None
    return RequestOptions(
        retry_config=attrs.evolve(core.retry_config, max_elapsed_time=max(left, 0.0))
    )


def _not_available(
    integration: BigSegmentStoreIntegration, waited: float, *, timed_out: bool
) -> NotAvailableError:
    status = integration.status
    errors = status.errors or ()
    reason: NotAvailableReason
    if has_errors(status):
        reason = "errors"
        latest = errors[-1] if errors else None
        detail = "the store reports errors"
        if latest is not None and latest.message:
            code = f" (HTTP {latest.status_code})" if latest.status_code is not None else ""
            detail += f": {latest.message}{code}"
    elif status.potentially_stale:
        reason = "stale"
        detail = "the store is potentially stale"
    else:
        reason = "not_synced"
        detail = "the store has not synced yet"
    if status.last_sync is not None:
        detail += f"; last sync {status.last_sync.isoformat(timespec='seconds')}"
    when = f"after {waited:.1f}s" if timed_out else "(failing fast)"
    what = f"{integration.integration_key} integration {integration.id!r} ({integration.name})"
    return NotAvailableError(
        message=f"{what} not available {when}: {detail}",
        reason=reason,
        last_status=status,
        errors=errors,
        waited=waited,
    )


def _switched_off(integration: BigSegmentStoreIntegration, waited: float) -> NotAvailableError:
    what = f"{integration.integration_key} integration {integration.id!r} ({integration.name})"
    return NotAvailableError(
        message=f"{what} is off: LaunchDarkly syncs only stores switched on, so it will not"
        " become available; switch it on first (ldstore update ... --on)",
        reason="off",
        last_status=integration.status,
        errors=integration.status.errors or (),
        waited=waited,
    )
