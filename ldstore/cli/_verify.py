"""``apply --verify``: wait until what an apply created or changed is available, and, with
a stores file, until the store each maps reads healthy to the doctor's checks."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import attrs

from ldstore.cli._output import integration_label, write
from ldstore.errors import LDStoreError
from ldstore.models import BigSegmentStoreIntegration
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.result import Err, Ok, Result
from ldstore.text import printable
from ldstore.wire import error_to_wire

if TYPE_CHECKING:  # the workflows load the SDK (aiohttp): only when a command runs
    from ldstore.core import Core
    from ldstore.watch import StoresFile, StoreState
    from ldstore.workflows import ApplyReport, PlanItem

__all__ = ["Verified", "print_checks", "verify"]


@attrs.frozen
class Verified:
    """One created or changed integration that is on, and what its wait found: the
    integration once available, or why not (the check that failed, and its error)."""

    item: PlanItem
    integration: BigSegmentStoreIntegration
    result: Result[BigSegmentStoreIntegration, LDStoreError]
    store: StoreState | None = None  # with --stores, for a store the file maps

    @property
    def ok(self) -> bool:
        return isinstance(self.result, Ok) and (self.store is None or self.store.healthy)

    @property
    def failed_check(self) -> str | None:
        """``api_available``, ``store:<check>[,<check>]`` (the doctor's), or None."""
        if isinstance(self.result, Err):
            return "api_available"
        if self.store is None or self.store.healthy:
            return None
        names = [check.name for check in self.store.checks if check.status == "failure"]
        return "store:" + ",".join(names or ["healthy"])

    def to_wire(self) -> dict[str, object]:
        return {
            "name": self.item.name,
            "_id": self.integration.id,
            "ok": self.ok,
            "failed_check": self.failed_check,
            "error": None if isinstance(self.result, Ok) else error_to_wire(self.result.error),
            "store": None if self.store is None else self.store.to_json(),
        }


async def verify(
    core: Core, report: ApplyReport, timeout: float, stores: StoresFile | None
) -> list[Verified]:
    """Wait, together and within ``timeout`` in all, until every created or updated
    integration that is on is available per the API and, with ``stores``, until the store
    the file maps for it reads healthy."""
    deadline = time.monotonic() + timeout
    from ldstore.workflows import gather, wait_until_available  # noqa: PLC0415

    targets = [
        (outcome.item, outcome.result.value)
        for outcome in report.items
        if outcome.item.action in {"create", "update"}
        and isinstance(outcome.result, Ok)
        and outcome.result.value is not None
        and outcome.result.value.on
    ]
    waits = [
        wait_until_available(
            core,
            GetBigSegmentStoreIntegrationRequest(
                integration.project_key,
                integration.environment_key,
                integration.integration_key,
                integration.id,
            ),
            timeout=timeout,
            poll_interval=min(2.0, max(timeout, 0.05)),
            max_poll_interval=max(min(2.0, max(timeout, 0.05)), 10.0),
        )
        for _, integration in targets
    ]
    results = await gather(*waits, limit=8)
    checks = [
        Verified(item=item, integration=integration, result=result)
        for (item, integration), result in zip(targets, results, strict=True)
    ]
    if stores is None or not any(isinstance(check.result, Ok) for check in checks):
        return checks
    return await _verify_stores(core, checks, stores, deadline)


async def _verify_stores(
    core: Core, checks: list[Verified], stores: StoresFile, deadline: float
) -> list[Verified]:
    """Read the stores mapped for the available integrations (the watcher's poll, the
    doctor's checks) until all are healthy or the deadline passes."""
    from ldstore.watch import PollCache, poll  # noqa: PLC0415 - only with --stores

    wanted = {check.integration.id for check in checks if isinstance(check.result, Ok)}
    cache = PollCache()
    found: dict[str, StoreState] = {}
    while True:
        snapshot = await poll(core, stores, cache=cache)
        if isinstance(snapshot, Ok):
            found = {
                state.integration.id: state.store
                for state in snapshot.value.integrations
                if state.integration.id in wanted and state.store is not None
            }
        left = deadline - time.monotonic()
        if (found and all(state.healthy for state in found.values())) or left <= 0:
            break
        if isinstance(snapshot, Ok) and not found:
            break  # the file maps none of them: nothing to read
        await asyncio.sleep(min(_STORE_POLL, left))
    return [attrs.evolve(check, store=found.get(check.integration.id)) for check in checks]


_STORE_POLL = 1.0  # seconds between reads of the stores while one is not yet healthy


def print_checks(checks: list[Verified]) -> None:
    if not checks:
        write("Verify: nothing created or changed is on; nothing to wait for.")
        return
    write()
    for check in checks:
        where = f"{integration_label(check.integration)}"
        store = check.store
        match check.result:
            case Err(error):
                write(f"not verified {where}: {printable(' '.join(str(error).split()))}")
            case Ok(_) if store is not None and not store.healthy:
                problems = "; ".join(
                    f"{check.name}: {check.detail}"
                    for check in store.checks
                    if check.status == "failure"
                )
                write(
                    f"not verified {where}: available, but its store is not healthy"
                    f" ({printable(' '.join(problems.split()))})"
                )
            case Ok(_):
                also = ", and its store reads healthy" if store is not None else ""
                write(f"verified {where}: available{also}")
    done = sum(1 for check in checks if check.ok)
    write(f"\nVerified: {done} of {len(checks)} available.")
