"""Compare what LaunchDarkly says about an integration (``_status``) with what its store holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ldstore.doctor._report import Check, CheckStatus, StoreReport, iso, seconds_text
from ldstore.errors import LDStoreError
from ldstore.models import BigSegmentStoreIntegration
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.result import Err, Ok, Result

if TYPE_CHECKING:  # the Core loads aiohttp; `ldstore doctor --help` should not
    from ldstore.core import Core

__all__ = ["compare_with_integration", "cross_check"]


def compare_with_integration(
    report: StoreReport, integration: BigSegmentStoreIntegration, *, stale_after: float = 120.0
) -> StoreReport:
    """``report`` with two more checks: ``api status`` and ``api agrees with store``.

    They disagree when LaunchDarkly calls the integration available but the store is
    stale or has no metadata (a failure: the doctor is likely reading another store or
    prefix than the one LaunchDarkly writes), when its last sync and the store's
    synchronizedOn are ``stale_after`` or more apart (a failure, for the same reason), or
    when LaunchDarkly calls it unavailable or potentially stale but the store is fresh
    (a warning: another writer, such as a Relay Proxy, may keep it fresh).
    """
    status = integration.status
    name = f"integration {integration.id} ({integration.name!r})"
    facts = (
        f"available {_yes_no(status.available)}, potentially stale "
        f"{_yes_no(status.potentially_stale)}, last sync "
        f"{'never' if status.last_sync is None else iso(status.last_sync)}"
    )
    trusted = bool(status.available) and not status.potentially_stale
    api = Check(
        "api status",
        CheckStatus.OK if trusted else CheckStatus.WARNING,
        f"LaunchDarkly reports {name}: {facts}",
    )
    disagreements: list[tuple[CheckStatus, str]] = []
    if trusted and report.stale:
        disagreements.append(
            (
                CheckStatus.FAILURE,
                (
                    "LaunchDarkly calls it available, but the store is stale or has no "
                    "metadata: is this the store and prefix LaunchDarkly writes to?"
                ),
            )
        )
    if not trusted and not report.stale:
        disagreements.append(
            (
                CheckStatus.WARNING,
                (
                    "LaunchDarkly calls it unavailable or potentially stale, but the store "
                    "is fresh: something else (a Relay Proxy?) may be writing it"
                ),
            )
        )
    if status.last_sync is not None and report.synchronized_on is not None:
        apart = abs((status.last_sync - report.synchronized_on).total_seconds())
        if apart >= stale_after:
            disagreements.append(
                (
                    CheckStatus.FAILURE,
                    (
                        f"LaunchDarkly's last sync ({iso(status.last_sync)}) and the store's "
                        f"synchronizedOn ({iso(report.synchronized_on)}) are "
                        f"{seconds_text(apart)} apart: is this the store and prefix "
                        "LaunchDarkly writes to?"
                    ),
                )
            )
    if disagreements:
        worst = (
            CheckStatus.FAILURE
            if any(level is CheckStatus.FAILURE for level, _ in disagreements)
            else CheckStatus.WARNING
        )
        agree = Check("api agrees with store", worst, "; ".join(text for _, text in disagreements))
    else:
        agree = Check(
            "api agrees with store",
            CheckStatus.OK,
            "LaunchDarkly's status and the store's synchronizedOn agree",
        )
    return attrs.evolve(report, checks=(*report.checks, api, agree))


async def cross_check(
    core: Core,
    request: GetBigSegmentStoreIntegrationRequest,
    report: StoreReport,
    *,
    stale_after: float = 120.0,
) -> Result[StoreReport, LDStoreError]:
    """``Ok(report)`` with the checks of ``compare_with_integration`` added.

    ``Err``: the errors of ``get_big_segment_store_integration``.
    """
    from ldstore.funcs import get_big_segment_store_integration  # noqa: PLC0415

    match await get_big_segment_store_integration(core, request):
        case Ok(integration):
            return Ok(compare_with_integration(report, integration, stale_after=stale_after))
        case Err(error):
            return Err(error)


def _yes_no(value: bool | None) -> str:  # noqa: FBT001 - a formatter
    return "-" if value is None else "yes" if value else "no"
