"""The poll: one list call, then every mapped store read through the doctor, as a Snapshot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import attrs

from ldstore.doctor import (
    Check,
    CheckStatus,
    StoreReport,
    StoreUnreachableError,
    compare_with_integration,
    diagnose_dynamodb,
    diagnose_redis,
    redact_url,
)
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.models import BigSegmentStoreIntegration
from ldstore.result import Err, Ok, Result
from ldstore.text import redact
from ldstore.watch._stores import DynamoDBStore, RedisStore, Store, StoresFile

if TYPE_CHECKING:  # the Core loads aiohttp: `ldstore watch --help` should not
    from ldstore.core import Core

__all__ = [
    "CLIENT_SIDE_ID_TTL",
    "Filters",
    "IntegrationState",
    "PollCache",
    "PollOptions",
    "Snapshot",
    "StoreState",
    "poll",
]

CLIENT_SIDE_ID_TTL = 600.0  # seconds a client-side ID is reused before it is read again
_STATES = (CheckStatus.OK, CheckStatus.WARNING, CheckStatus.FAILURE)

ClientSideIdLookup = Callable[["Core", str, str], Awaitable[Result[str, LDStoreError]]]


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        msg = f"{attribute.name} must be positive, not {value!r}"
        raise ValueError(msg)


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class Filters:
    """Which integrations to watch; like ``ldstore list``, every filter given must match."""

    project: str | None = None
    environment: str | None = None
    integration_key: str | None = None
    tags: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    def keeps(self, integration: BigSegmentStoreIntegration) -> bool:
        """Whether ``integration`` passes every filter."""
        return (
            self.project in (None, integration.project_key)
            and self.environment in (None, integration.environment_key)
            and self.integration_key in (None, str(integration.integration_key))
            and all(tag in integration.tags for tag in self.tags)
        )


@attrs.frozen(kw_only=True)
class PollOptions:
    """How stores are read: ``store_timeout`` seconds for one store's whole read (a hung
    store never delays the others), at most ``concurrency`` at once, and the staleness
    bound SDKs use (``stale_after``, 120 s)."""

    store_timeout: float = attrs.field(default=5.0, validator=_positive)
    concurrency: int = attrs.field(default=10, validator=_positive)
    stale_after: float = attrs.field(default=120.0, validator=_positive)


@attrs.define
class PollCache:
    """What one poll keeps for the next: client-side IDs (read again after ``ttl``
    seconds, so the steady state is one list call per poll) and the aiobotocore
    session DynamoDB reads share."""

    ttl: float = CLIENT_SIDE_ID_TTL
    clock: Callable[[], float] = time.monotonic
    lookup: ClientSideIdLookup | None = None  # default: ldstore.funcs.get_environment's `_id`
    _ids: dict[tuple[str, str], tuple[float, str]] = attrs.field(
        factory=dict[tuple[str, str], tuple[float, str]], init=False
    )
    _session: Any = attrs.field(default=None, init=False)

    async def client_side_ids(
        self, core: Core, environments: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The client-side ID of each ``(project, environment)`` that could be learnt.

        A cached ID younger than ``ttl`` is used as is; an older one is read again, and
        kept (for another ``ttl``) when that read fails.
        """
        now = self.clock()
        due = sorted(
            {
                key
                for key in environments
                if key not in self._ids or now - self._ids[key][0] >= self.ttl
            }
        )
        lookup = self.lookup or _get_client_side_id
        results = await asyncio.gather(*(lookup(core, project, env) for project, env in due))
        for key, result in zip(due, results, strict=True):
            if isinstance(result, Ok):
                self._ids[key] = (now, result.value)
            elif key in self._ids:
                self._ids[key] = (now, self._ids[key][1])
        return {key: value for key, (_, value) in self._ids.items()}

    def dynamodb_session(self) -> Any:
        """One aiobotocore session for every DynamoDB read (its service models load once)."""
        if self._session is None:
            try:
                from aiobotocore.session import get_session  # noqa: PLC0415 - the optional extra
            except ModuleNotFoundError:
                return None  # diagnose_dynamodb says which extra is missing
            self._session = get_session()
        return self._session


async def _get_client_side_id(
    core: Core, project: str, environment: str
) -> Result[str, LDStoreError]:
    """The environment's client-side ID (``_id``): LaunchDarkly's prefix for the stores it writes."""
    from ldstore.funcs import get_environment  # noqa: PLC0415 - the SDK loads when a poll runs
    from ldstore.operations import GetEnvironmentRequest  # noqa: PLC0415

    found = await get_environment(core, GetEnvironmentRequest(project, environment))
    return found.map(lambda environment: environment.id)


@attrs.frozen(kw_only=True)
class StoreState:
    """What reading one integration's store found: a doctor's report, or why there is none."""

    store: Store
    prefix: str | None  # the prefix read; None: the doctor's discovery chose it
    report: StoreReport | None
    error: LDStoreError | None = None

    @property
    def reachable(self) -> bool:
        return self.report is not None

    @property
    def healthy(self) -> bool:
        return self.report is not None and self.report.healthy

    @property
    def synchronized_on(self) -> datetime | None:
        return None if self.report is None else self.report.synchronized_on

    @property
    def checks(self) -> tuple[Check, ...]:
        """The report's checks, or one failed ``reachable`` check saying why there is none."""
        if self.report is not None:
            return self.report.checks
        return (Check("reachable", CheckStatus.FAILURE, str(self.error)),)

    def to_json(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "healthy": self.healthy,
            "synchronized_on": _iso(self.synchronized_on),
            "checks": [
                {"name": check.name, "status": check.status.value, "detail": check.detail}
                for check in self.checks
            ],
        }


@attrs.frozen(kw_only=True)
class IntegrationState:
    """One integration as the list call showed it, with its store's state when it is mapped."""

    integration: BigSegmentStoreIntegration
    store: StoreState | None = None

    def to_json(self) -> dict[str, Any]:
        integration = self.integration
        status = integration.status
        return {
            "project": integration.project_key,
            "environment": integration.environment_key,
            "kind": str(integration.integration_key),
            "id": integration.id,
            "name": integration.name,
            "on": integration.on,
            "available": status.available,
            "potentially_stale": status.potentially_stale,
            "last_sync": _iso(status.last_sync),
            "status_errors": len(status.errors or ()),
            "store": None if self.store is None else self.store.to_json(),
        }


@attrs.frozen(kw_only=True)
class Snapshot:
    """One poll's findings: each integration kept by the filters, in the API's order.

    ``healthy`` is true when every mapped store is healthy. ``unmatched`` are the stores
    entries that named no integration the API listed (a typo, or a deleted integration).
    """

    integrations: tuple[IntegrationState, ...]
    taken_at: datetime
    duration_seconds: float
    unmatched: tuple[Store, ...] = ()

    @property
    def healthy(self) -> bool:
        return all(state.store.healthy for state in self.integrations if state.store is not None)

    def to_json(self, *, api_up: bool = True) -> dict[str, Any]:
        """The ``ldstore watch --once --output json`` document."""
        return {
            "healthy": self.healthy,
            "api_up": api_up,
            "integrations": [state.to_json() for state in self.integrations],
        }


def worst(checks: Iterable[Check]) -> dict[str, CheckStatus]:
    """Each check name with its worst status (a name seen twice keeps the worse one)."""
    found: dict[str, CheckStatus] = {}
    for check in checks:
        before = found.get(check.name)
        if before is None or _STATES.index(check.status) > _STATES.index(before):
            found[check.name] = check.status
    return found


async def poll(
    core: Core,
    stores: StoresFile | Sequence[Store] = (),
    *,
    filters: Filters | None = None,
    options: PollOptions | None = None,
    cache: PollCache | None = None,
) -> Result[Snapshot, LDStoreError]:
    """One poll: list the integrations (one API call), then read each mapped store.

    ``Ok(Snapshot)`` once the list call answered: every integration kept by
    ``filters``, with its store's state when ``stores`` maps it (read with the doctor's
    checks plus its comparison with the API's ``_status``; a store that cannot be read
    is a state, not an error). A store without a ``prefix`` is read under its
    environment's client-side ID, learnt once and kept in ``cache`` for ten minutes;
    pass the same ``cache`` to every poll so the steady state stays one API call.

    ``Err``: the list call's errors (``RateLimitedError``, ``UnauthorizedError``, a
    ``NetworkError``...), from ``get_big_segment_store_integrations``.
    """
    from ldstore.funcs import get_big_segment_store_integrations  # noqa: PLC0415

    filters = filters or Filters()
    options = options or PollOptions()
    cache = cache or PollCache()
    entries = stores.stores if isinstance(stores, StoresFile) else tuple(stores)
    started = time.monotonic()
    taken_at = datetime.now(timezone.utc)
    listed = await get_big_segment_store_integrations(core)
    if isinstance(listed, Err):
        return listed
    everything = listed.value.items
    index: dict[tuple[str, str, str], list[Store]] = {}
    for entry in entries:
        index.setdefault((entry.project, entry.environment, entry.kind), []).append(entry)
    used: set[int] = set()
    mapped: list[tuple[BigSegmentStoreIntegration, Store | None]] = []
    for integration in everything:
        key = (
            integration.project_key,
            integration.environment_key,
            str(integration.integration_key),
        )
        store = next((entry for entry in index.get(key, ()) if entry.matches(integration)), None)
        if store is not None:
            used.add(id(store))
        if filters.keeps(integration):
            mapped.append((integration, store))
    unmatched = tuple(entry for entry in entries if id(entry) not in used)
    wanted = {
        (store.project, store.environment)
        for _, store in mapped
        if store is not None and store.prefix is None
    }
    ids = await cache.client_side_ids(core, wanted) if wanted else {}
    limit = asyncio.Semaphore(options.concurrency)

    async def read(integration: BigSegmentStoreIntegration, store: Store) -> StoreState:
        prefix = store.prefix or ids.get((store.project, store.environment))
        async with limit:
            state = await _read_store(store, prefix, options, cache)
        if state.report is None:
            return state
        report = compare_with_integration(
            state.report, integration, stale_after=options.stale_after
        )
        return attrs.evolve(state, report=report)

    states = await asyncio.gather(
        *(read(integration, store) for integration, store in mapped if store is not None)
    )
    found = iter(states)
    integrations = tuple(
        IntegrationState(integration=integration, store=None if store is None else next(found))
        for integration, store in mapped
    )
    return Ok(
        Snapshot(
            integrations=integrations,
            taken_at=taken_at,
            duration_seconds=time.monotonic() - started,
            unmatched=unmatched,
        )
    )


async def _read_store(
    store: Store, prefix: str | None, options: PollOptions, cache: PollCache
) -> StoreState:
    """Read one store within ``options.store_timeout`` seconds in all, whatever it does."""
    secrets: list[str] = []
    if isinstance(store, RedisStore):
        password = store.password()
        if store.password_env is not None and not password:
            message = f"the environment variable {store.password_env} (password_env) is not set"
            unset = InputValidationError(message=message, field="password_env")
            return StoreState(store=store, prefix=prefix, report=None, error=unset)
        secrets = [password] if password else []
        location = redact_url(store.url)
        reading = diagnose_redis(
            store.connection_url(),
            prefix=prefix,
            stale_after=options.stale_after,
            timeout=options.store_timeout,
        )
    else:
        location = f"table {store.table!r}"
        reading = _diagnose_dynamodb(store, prefix, options, cache)
    try:
        result = await asyncio.wait_for(reading, options.store_timeout)
    except asyncio.TimeoutError:
        message = f"no complete answer within {options.store_timeout:g} s"
        result = Err(StoreUnreachableError(message=message, method="read", url=location))
    match result:
        case Ok(report):
            return StoreState(store=store, prefix=prefix, report=report)
        case Err(error):
            if secrets and redact(error.message, secrets) != error.message:
                error = attrs.evolve(error, message=redact(error.message, secrets))
            return StoreState(store=store, prefix=prefix, report=None, error=error)


def _diagnose_dynamodb(
    store: DynamoDBStore, prefix: str | None, options: PollOptions, cache: PollCache
) -> Coroutine[Any, Any, Result[StoreReport, LDStoreError]]:
    return diagnose_dynamodb(
        store.table,
        region=store.region,
        endpoint_url=store.endpoint_url,
        prefix=prefix,
        stale_after=options.stale_after,
        timeout=options.store_timeout,
        session=cache.dynamodb_session(),
    )


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def label_values(integration: BigSegmentStoreIntegration) -> tuple[str, str, str, str]:
    """The ``project, environment, kind, id`` labels of an integration's series."""
    return (
        integration.project_key,
        integration.environment_key,
        str(integration.integration_key),
        integration.id,
    )
