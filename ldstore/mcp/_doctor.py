"""The doctor's tools: read a big segment store itself, and check one membership end to end.

The store to read comes from the arguments (a Redis URL, a DynamoDB table) or from the
stores file the server was started with (``ldstore mcp --stores FILE``, the file of
``ldstore watch``). Secrets come only from the server's environment: no argument takes a
password, and a URL holding one is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

import attrs
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ldstore.core import Core
from ldstore.doctor import (
    Check,
    CheckStatus,
    MemberSets,
    StoreReport,
    canary_check,
    client_side_id,
    compare_with_integration,
    diagnose_against_api,
    diagnose_dynamodb,
    diagnose_redis,
    redact_url,
    url_has_password,
)
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.funcs import (
    get_big_segment_membership,
    get_big_segment_store_integration,
    get_segment,
)
from ldstore.models import BigSegmentMembership, BigSegmentStoreIntegration, Segment
from ldstore.operations import (
    GetBigSegmentMembershipRequest,
    GetBigSegmentStoreIntegrationRequest,
    GetSegmentRequest,
)
from ldstore.result import Err, Ok, Result
from ldstore.watch import RedisStore, StoresFile

from ._convert import failure, success
from ._shapes import MAX_CONTEXTS, Diagnosis, EnvironmentKey, Membership, ProjectKey, StoreKind

__all__ = ["check_membership", "diagnose_store"]

STORE_TIMEOUT: Final = 5.0  # seconds for one store call, as `ldstore doctor`
DEADLINE: Final = 30.0  # seconds for a whole diagnosis: agents' clients give up at about 60
_MIN_SCRUBBED = 3  # the doctor's own rule: shorter passwords would garble every message
_REFUSED_IN_URL = (
    "url holds a password, which is refused (its value is not shown): secrets come only "
    "from the server's environment. Leave it out of url; for a store that needs one, the "
    "operator names it in the stores file the server is started with (ldstore mcp --stores "
    "FILE, password_env)"
)

# Arguments: the store, as the stores file or `ldstore doctor` names it.

OptionalProject = Annotated[
    str | None,
    Field(min_length=1, description="With environment_key: check the prefix is its client-side ID"),
]
OptionalEnvironment = Annotated[str | None, Field(min_length=1)]
IntegrationIdArg = Annotated[
    str | None,
    Field(
        min_length=1,
        description="Compare LaunchDarkly's status for it; without url/table, find its store "
        "in the server's stores file",
    ),
]
UrlArg = Annotated[
    str | None,
    Field(min_length=1, description="Redis: redis://[USER@]HOST:PORT/DB, rediss://; no password"),
]
TableArg = Annotated[str | None, Field(min_length=1, description="DynamoDB table")]
RegionArg = Annotated[str | None, Field(min_length=1, description="DynamoDB region")]
EndpointArg = Annotated[str | None, Field(min_length=1, description="DynamoDB endpoint URL")]
PrefixArg = Annotated[
    str | None, Field(min_length=1, description="Default: the stores file's, else discovered")
]


@attrs.frozen
class _Store:
    """Where to read, and how; ``password`` from the server's environment only."""

    kind: str
    location: str  # for people: the URL without credentials, or the table
    url: str = ""
    password: str | None = attrs.field(default=None, repr=False)
    table: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    prefix: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        password = self.password or ""
        return (password,) if len(password) >= _MIN_SCRUBBED else ()


@attrs.frozen(kw_only=True)
class _Given:
    """The store arguments of a call."""

    kind: str
    project_key: str | None
    environment_key: str | None
    integration_id: str | None
    url: str | None
    table: str | None
    region: str | None
    endpoint_url: str | None
    prefix: str | None


def _invalid(message: str, field: str | None) -> Err[InputValidationError]:
    return Err(InputValidationError(message=message, field=field))


def _core(ctx: Context[Core, Any]) -> Core:
    return ctx.request_context.lifespan_context


def _stores(ctx: Context[Core, Any]) -> StoresFile | None:
    stores = getattr(ctx.mcp_server, "stores", None)
    return stores if isinstance(stores, StoresFile) else None


def _secrets(core: Core, store: _Store | None = None) -> tuple[str, ...]:
    from ._tools import secrets_of  # noqa: PLC0415 - the tools module imports this one

    return (*secrets_of(core), *(() if store is None else store.secrets))


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "url is not a valid URL (redis://[USER@]HOST:PORT/DB, rediss://, unix:///PATH)"
    if url_has_password(parts):
        return _REFUSED_IN_URL
    return None


def _from_arguments(given: _Given) -> Result[_Store, InputValidationError]:
    """The store the arguments name (``url``, or ``table`` with ``region``/``endpoint_url``)."""
    dynamodb = {"table": given.table, "region": given.region, "endpoint_url": given.endpoint_url}
    if given.kind == "redis":
        extra = next((name for name, value in dynamodb.items() if value is not None), None)
        if extra is not None:
            return _invalid(f"{extra} is for a dynamodb store; a redis store takes url", extra)
        url = given.url or ""
        problem = _url_problem(url)
        if problem is not None:
            return _invalid(problem, "url")
        return Ok(_Store("redis", redact_url(url), url=url, prefix=given.prefix))
    if given.url is not None:
        return _invalid("url is for a redis store; a dynamodb store takes table", "url")
    if given.table is None:
        return _invalid(
            "a dynamodb store is named by its table (and region, endpoint_url)", "table"
        )
    table = given.table
    return Ok(
        _Store(
            "dynamodb",
            f"table {table!r}",
            table=table,
            region=given.region,
            endpoint_url=given.endpoint_url,
            prefix=given.prefix,
        )
    )


def _from_file(
    stores: StoresFile | None, integration: BigSegmentStoreIntegration | None, given: _Given
) -> Result[_Store, InputValidationError]:
    """The store the server's stores file gives ``integration``, its password from the
    environment variable the file names."""
    if stores is None:
        store = "url" if given.kind == "redis" else "table"
        message = (
            f"give {store} (the store to read), or integration_id with a server started with "
            "--stores FILE that maps the integration to its store"
        )
        return _invalid(message, store)
    if integration is None:
        message = (
            f"name the integration (project_key, environment_key, integration_id) to find its "
            f"store in {stores.path}, or give the store's {'url' if given.kind == 'redis' else 'table'}"
        )
        return _invalid(message, "integration_id")
    entry = stores.store_for(integration)
    if entry is None:
        message = (
            f"{stores.path} has no [[store]] for {integration.project_key}/"
            f"{integration.environment_key}/{integration.integration_key} {integration.id} "
            f"({integration.name!r})"
        )
        return _invalid(message, "integration_id")
    prefix = given.prefix or entry.prefix
    if isinstance(entry, RedisStore):
        password = entry.password()
        if entry.password_env is not None and not password:
            message = f"the environment variable {entry.password_env} (password_env) is not set"
            return _invalid(message, "password_env")
        location = redact_url(entry.url)
        return Ok(_Store("redis", location, url=entry.url, password=password, prefix=prefix))
    return Ok(
        _Store(
            "dynamodb",
            f"table {entry.table!r}",
            table=entry.table,
            region=entry.region,
            endpoint_url=entry.endpoint_url,
            prefix=prefix,
        )
    )


async def _resolve(
    ctx: Context[Core, Any], given: _Given
) -> Result[tuple[_Store, BigSegmentStoreIntegration | None], LDStoreError]:
    """The store to read and, with ``integration_id``, the integration LaunchDarkly reports."""
    integration: BigSegmentStoreIntegration | None = None
    if given.integration_id is not None:
        if given.project_key is None or given.environment_key is None:
            message = "integration_id needs project_key and environment_key as well"
            return _invalid(message, "integration_id")
        request = GetBigSegmentStoreIntegrationRequest(
            project_key=given.project_key,
            environment_key=given.environment_key,
            integration_key=given.kind,
            integration_id=given.integration_id,
        )
        fetched = await get_big_segment_store_integration(_core(ctx), request)
        if isinstance(fetched, Err):
            return fetched
        integration = fetched.value
    connection = (given.url, given.table, given.region, given.endpoint_url)
    named = any(value is not None for value in connection)
    store = _from_arguments(given) if named else _from_file(_stores(ctx), integration, given)
    if isinstance(store, Err):
        return store
    return Ok((store.value, integration))


async def _read(
    store: _Store, *, context_keys: Sequence[str], expected_prefix: str | None
) -> Result[StoreReport, LDStoreError]:
    if store.kind == "redis":
        return await diagnose_redis(
            store.url,
            password=store.password,
            prefix=store.prefix,
            context_keys=context_keys,
            expected_prefix=expected_prefix,
            timeout=STORE_TIMEOUT,
            deadline=DEADLINE,
        )
    return await diagnose_dynamodb(
        store.table,
        region=store.region,
        endpoint_url=store.endpoint_url,
        prefix=store.prefix,
        context_keys=context_keys,
        expected_prefix=expected_prefix,
        timeout=STORE_TIMEOUT,
        deadline=DEADLINE,
    )


def _with(report: StoreReport, check: Check) -> StoreReport:
    return attrs.evolve(report, checks=(*report.checks, check))


def _verdict(report: StoreReport) -> str:
    failed = [check.name for check in report.checks if check.status is CheckStatus.FAILURE]
    if not failed:
        return "healthy: server-side SDKs will trust this store"
    return f"unhealthy: {len(failed)} check(s) failed: {', '.join(failed)}"


async def diagnose_store(  # noqa: PLR0913 - the tool's flat arguments
    *,
    ctx: Context[Core, Any],
    integration_key: StoreKind,
    project_key: OptionalProject = None,
    environment_key: OptionalEnvironment = None,
    integration_id: IntegrationIdArg = None,
    url: UrlArg = None,
    table: TableArg = None,
    region: RegionArg = None,
    endpoint_url: EndpointArg = None,
    prefix: PrefixArg = None,
    context_keys: Annotated[
        list[Annotated[str, Field(min_length=1)]],
        Field(max_length=MAX_CONTEXTS, description="Show the big segments these are in"),
    ] = [],  # noqa: B006 - pydantic copies defaults; the schema shows []
) -> Annotated[CallToolResult, Diagnosis]:
    core = _core(ctx)
    given = _Given(
        kind=integration_key,
        project_key=project_key,
        environment_key=environment_key,
        integration_id=integration_id,
        url=url,
        table=table,
        region=region,
        endpoint_url=endpoint_url,
        prefix=prefix,
    )
    resolved = await _resolve(ctx, given)
    if isinstance(resolved, Err):
        return failure(resolved.error, _secrets(core))
    store, integration = resolved.value
    secrets = _secrets(core, store)
    contexts = list(dict.fromkeys(context_keys))
    if project_key is None or environment_key is None:
        read = await _read(store, context_keys=contexts, expected_prefix=None)
    else:  # as `ldstore doctor --project --environment`: the prefix checked, API errors a line
        read = await diagnose_against_api(
            functools.partial(_read, store),
            core,
            project_key,
            environment_key,
            context_keys=contexts,
        )
    if isinstance(read, Err):
        return failure(read.error, secrets)
    report = read.value
    if integration is not None:  # fetched already: compared without asking again
        report = compare_with_integration(report, integration)
    prefix_text = "no prefix" if report.prefix is None else f"prefix {report.prefix!r}"
    summary = f"{store.kind} store {store.location}, {prefix_text}: {_verdict(report)}"
    return success(report.to_json(), summary, secrets)


async def _api_membership(
    core: Core, project_key: str, environment_key: str, segment_key: str, context_key: str
) -> Result[tuple[Segment, BigSegmentMembership], LDStoreError]:
    """The big segment and the context's membership in it, as LaunchDarkly gives them."""
    segment = await get_segment(
        core,
        GetSegmentRequest(
            project_key=project_key, environment_key=environment_key, segment_key=segment_key
        ),
    )
    if isinstance(segment, Err):
        return segment
    if not segment.value.unbounded:
        message = (
            f"{segment_key!r} is a standard segment, not a big segment: no store holds its members"
        )
        return _invalid(message, "segment_key")
    member = await get_big_segment_membership(
        core,
        GetBigSegmentMembershipRequest(
            project_key=project_key,
            environment_key=environment_key,
            segment_key=segment_key,
            context_key=context_key,
        ),
    )
    return member.map(lambda found: (segment.value, found))


async def check_membership(  # noqa: PLR0913 - the tool's flat arguments
    *,
    ctx: Context[Core, Any],
    project_key: ProjectKey,
    environment_key: EnvironmentKey,
    segment_key: Annotated[str, Field(min_length=1, description="A big segment's key")],
    context_key: Annotated[str, Field(min_length=1)],
    integration_key: StoreKind,
    integration_id: IntegrationIdArg = None,
    url: UrlArg = None,
    table: TableArg = None,
    region: RegionArg = None,
    endpoint_url: EndpointArg = None,
    prefix: PrefixArg = None,
) -> Annotated[CallToolResult, Membership]:
    core = _core(ctx)
    given = _Given(
        kind=integration_key,
        project_key=project_key,
        environment_key=environment_key,
        integration_id=integration_id,
        url=url,
        table=table,
        region=region,
        endpoint_url=endpoint_url,
        prefix=prefix,
    )
    resolved = await _resolve(ctx, given)
    if isinstance(resolved, Err):
        return failure(resolved.error, _secrets(core))
    store, integration = resolved.value
    secrets = _secrets(core, store)
    expected = await client_side_id(core, project_key, environment_key)
    if isinstance(expected, Err):
        return failure(expected.error, secrets)
    api = await _api_membership(core, project_key, environment_key, segment_key, context_key)
    if isinstance(api, Err):
        return failure(api.error, secrets)
    segment, member = api.value
    read = await _read(store, context_keys=[context_key], expected_prefix=expected.value)
    if isinstance(read, Err):
        return failure(read.error, secrets)
    report = read.value
    if integration is not None:
        report = compare_with_integration(report, integration)
    ref = segment.ref
    sets = report.member_sets.get(context_key, MemberSets())
    check = canary_check(f"canary {segment_key}:{context_key}", segment, member, sets)
    report = _with(report, check)
    agrees = check.status is CheckStatus.OK
    document = {
        "agrees": agrees,
        "detail": check.detail,
        "ref": ref,
        "api": {"included": member.included, "excluded": member.excluded},
        "store": {
            "included": ref in sets.included,
            "excluded": ref in sets.excluded,
            "refs": sorted(
                r for r in sets.included | sets.excluded if r.startswith(f"{segment_key}.g")
            ),
        },
        "diagnosis": report.to_json(),
    }
    lead = "" if agrees else "DISAGREE: "
    summary = f"{segment_key}:{context_key}: {lead}{check.detail}; the store is {_verdict(report)}"
    return success(document, summary, secrets)
