"""``diagnose_dynamodb``: read a DynamoDB big segment store as SDKs do, and only read.

Layout (``launchdarkly-api.md``): partition key ``namespace`` (S), sort key ``key`` (S);
metadata at ``namespace = key = [prefix:]big_segments_metadata`` with ``synchronizedOn``
(N, Unix ms); memberships at ``namespace = [prefix:]big_segments_user``, ``key = <hash>``
with string sets ``included`` and ``excluded``. The operations called are DescribeTable,
GetItem, Query and Scan (all consistent reads where DynamoDB offers them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from ldstore.doctor._report import (
    DEFAULT_SCAN_LIMIT,
    DEFAULT_STALE_AFTER,
    DEFAULT_TIMEOUT,
    SAMPLE_KEYS,
    Check,
    CheckStatus,
    StoreReport,
    StoreUnreachableError,
    context_hash,
    discovery_check,
    freshness,
    invalid_options,
    is_segment_ref,
    member_value_check,
    membership,
    missing_extra,
    parse_millis,
    redact_url,
    shown,
)
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.result import Err, Ok, Result

if TYPE_CHECKING:
    from aiobotocore.session import AioSession, ClientCreatorContext
    from types_aiobotocore_dynamodb import DynamoDBClient

__all__ = ["diagnose_dynamodb"]

_METADATA = "big_segments_metadata"
_USERS = "big_segments_user"
_SYNCHRONIZED_ON = "synchronizedOn"
_SETS = ("included", "excluded")
_SCAN_PAGE = 1000  # items one Scan page may evaluate
_NAMES = {"#n": "namespace", "#k": "key"}  # `key` is a reserved word in expressions
# Error codes meaning "these credentials do not work": the store cannot be read at all.
_CREDENTIAL_ERRORS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
        "InvalidClientTokenId",
        "IncompleteSignatureException",
    }
)
_LOG = logging.getLogger("ldstore")

T = TypeVar("T")
Item = Mapping[str, Mapping[str, Any]]  # an item in DynamoDB's JSON: {"attr": {"S": "..."}}


class _UnreachableError(Exception):
    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(detail)
        self.operation = operation
        self.detail = detail


class _TableMissingError(Exception):
    pass


class _BadInputError(Exception):
    pass


class _Reader:
    """Calls one operation at a time, each bounded by ``timeout``; maps lost stores to one error."""

    def __init__(self, client: DynamoDBClient, table: str, timeout: float) -> None:
        self.client = client
        self.table = table
        self.timeout = timeout

    async def __call__(self, operation: str, call: Awaitable[T]) -> T:
        from botocore.exceptions import (  # noqa: PLC0415
            BotoCoreError,
            ClientError,
            ParamValidationError,
        )

        _LOG.debug("dynamodb %s %s", operation, self.table)
        try:
            return await asyncio.wait_for(call, self.timeout)
        except asyncio.TimeoutError:
            raise _UnreachableError(operation, f"no answer within {self.timeout:g} s") from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise _TableMissingError from None
            if code in _CREDENTIAL_ERRORS:
                raise _UnreachableError(
                    operation, f"the credentials were refused: {error}"
                ) from None
            raise
        except ParamValidationError as error:  # botocore checks parameters before sending
            raise _BadInputError(str(error)) from None
        except BotoCoreError as error:  # no connection, timeouts, no credentials
            raise _UnreachableError(operation, str(error)) from None

    async def get_item(self, namespace: str, key: str) -> Item | None:
        reply = await self(
            "GetItem",
            self.client.get_item(
                TableName=self.table,
                Key={"namespace": {"S": namespace}, "key": {"S": key}},
                ConsistentRead=True,
            ),
        )
        return reply.get("Item")


async def diagnose_dynamodb(  # noqa: PLR0913, PLR0911 - the documented options; one return per outcome
    table: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    prefix: str | None = None,
    context_keys: Iterable[str] = (),
    stale_after: float = DEFAULT_STALE_AFTER,
    timeout: float = DEFAULT_TIMEOUT,
    scan_limit: int = DEFAULT_SCAN_LIMIT,
    session: AioSession | None = None,
) -> Result[StoreReport, LDStoreError]:
    """Read the DynamoDB big segment store in ``table`` (credentials: the usual AWS chain).

    ``Ok(report)`` when DynamoDB answered, healthy or not (a missing table is a failed
    check). Without ``prefix``, a Scan bounded by ``scan_limit`` items looks for
    prefixes; one found is diagnosed, else no prefix (SDKs' default). ``context_keys``
    adds each context's memberships. Every call is bounded by ``timeout`` seconds and
    made once; nothing is ever written. ``session`` is an aiobotocore session to reuse
    (its credentials, and its loaded service models); by default a new one.

    ``Err``: ``StoreUnreachableError`` (no connection, timed out, no or refused
    credentials), ``InputValidationError`` (no region, a bad endpoint URL, a bound that is
    not positive) or ``MissingExtraError`` without the ``dynamodb`` extra.
    """
    try:
        from aiobotocore.config import AioConfig  # noqa: PLC0415 - the optional extra
        from aiobotocore.session import get_session  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith(("aiobotocore", "botocore")):
            raise
        return Err(missing_extra("dynamodb", "DynamoDB"))
    invalid = invalid_options(stale_after, timeout, scan_limit)
    if invalid is not None:
        return Err(invalid)
    if not table:
        return Err(InputValidationError(message="the table name is empty", field="table"))
    where = f" at {redact_url(endpoint_url)}" if endpoint_url else ""
    location = f"table {table!r}{where}"
    config = AioConfig(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={
            "mode": "standard",
            "total_max_attempts": 1,
        },  # a doctor reports, it does not insist
    )
    try:
        creating: ClientCreatorContext[DynamoDBClient] = (session or get_session()).create_client(  # pyright: ignore[reportUnknownMemberType]  # the stubs name every AWS service; only DynamoDB's are installed
            "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
        )
        async with creating as client:
            reader = _Reader(client, table, timeout)
            report = await _diagnose(
                reader,
                location=location,
                prefix=prefix or None,
                context_keys=tuple(context_keys),
                stale_after=stale_after,
                scan_limit=scan_limit,
            )
    except _UnreachableError as error:
        return Err(
            StoreUnreachableError(message=error.detail, method=error.operation, url=location)
        )
    except _BadInputError as error:
        return Err(InputValidationError(message=f"{location}: {error}", field="table"))
    except ValueError as error:  # botocore: an endpoint URL it cannot use
        return Err(InputValidationError(message=f"{location}: {error}", field="endpoint_url"))
    except ClientError as error:  # throttled, or a service error: no answer to go by
        return Err(StoreUnreachableError(message=str(error), method="DynamoDB", url=location))
    except BotoCoreError as error:  # NoRegionError and kin, raised creating the client
        return Err(InputValidationError(message=f"{location}: {error}", field="region"))
    return Ok(report)


async def _diagnose(  # noqa: PLR0913 - one call from diagnose_dynamodb
    reader: _Reader,
    *,
    location: str,
    prefix: str | None,
    context_keys: Sequence[str],
    stale_after: float,
    scan_limit: int,
) -> StoreReport:
    from botocore.exceptions import ClientError  # noqa: PLC0415 - the optional extra

    checks: list[Check] = []
    prefixes: tuple[str, ...] | None = None

    def report(millis_checks: Sequence[Check] = (), **found: Any) -> StoreReport:
        return StoreReport(
            store="dynamodb",
            location=location,
            prefix=prefix,
            synchronized_on=found.get("synchronized_on"),
            age_seconds=found.get("age_seconds"),
            stale=found.get("stale", True),
            checks=(*checks, *millis_checks),
            memberships=found.get("memberships", {}),
            prefixes=prefixes,
        )

    started = time.monotonic()
    try:
        described = await reader(
            "DescribeTable", reader.client.describe_table(TableName=reader.table)
        )
    except _TableMissingError:
        checks.append(Check("reachable", CheckStatus.OK, "DynamoDB answered"))
        checks.append(
            Check("table", CheckStatus.FAILURE, f"table {reader.table!r} does not exist here")
        )
        return report()
    except ClientError as error:  # AccessDenied and kin: read on without the schema
        checks.append(Check("reachable", CheckStatus.OK, "DynamoDB answered"))
        checks.append(Check("key schema", CheckStatus.WARNING, f"DescribeTable refused: {error}"))
    else:
        elapsed = (time.monotonic() - started) * 1000
        checks.append(
            Check("reachable", CheckStatus.OK, f"DescribeTable answered in {elapsed:.0f} ms")
        )
        schema = _key_schema(described.get("Table", {}))
        checks.append(schema)
        if schema.status is CheckStatus.FAILURE:  # every read would be refused
            return report()
    try:
        if prefix is None:
            found, discovery = await _discover(reader, scan_limit)
            prefix = found[0] if len(found) == 1 else None
            checks.append(discovery)
            prefixes = tuple("" if item is None else item for item in found)
        head = f"{prefix}:" if prefix else ""
        millis, metadata = await _metadata(reader, head)
        checks.append(metadata)
        fresh = freshness(millis, now=datetime.now(timezone.utc), stale_after=stale_after)
        checks.extend(fresh.checks)
        checks.extend(await _sample_members(reader, head))
        memberships: dict[str, dict[str, bool]] = {}
        for context_key in context_keys:
            check, refs = await _membership(reader, head, context_key)
            checks.append(check)
            memberships[context_key] = refs
    except _TableMissingError:  # deleted meanwhile, or DescribeTable was refused
        checks.append(
            Check("table", CheckStatus.FAILURE, f"table {reader.table!r} does not exist here")
        )
        return report()
    except ClientError as error:  # AccessDenied, a key schema DescribeTable could not show...
        checks.append(Check("reading", CheckStatus.FAILURE, f"DynamoDB refused a read: {error}"))
        return report()
    return report(
        synchronized_on=fresh.synchronized_on,
        age_seconds=fresh.age_seconds,
        stale=fresh.stale,
        memberships=memberships,
    )


def _key_schema(table: Mapping[str, Any]) -> Check:
    keys = {item.get("AttributeName"): item.get("KeyType") for item in table.get("KeySchema", [])}
    types = {
        item.get("AttributeName"): item.get("AttributeType")
        for item in table.get("AttributeDefinitions", [])
    }
    expected = {"namespace": "HASH", "key": "RANGE"}
    if keys == expected and types.get("namespace") == "S" and types.get("key") == "S":
        return Check("key schema", CheckStatus.OK, "partition key namespace (S), sort key key (S)")
    shown_keys = ", ".join(f"{name} {kind} ({types.get(name, '?')})" for name, kind in keys.items())
    return Check(
        "key schema",
        CheckStatus.FAILURE,
        f"the table's key is {shown_keys or 'unknown'}; SDKs need partition key namespace (S) "
        "and sort key key (S)",
    )


async def _discover(reader: _Reader, scan_limit: int) -> tuple[list[str | None], Check]:
    """Prefixes with a metadata item, from Scan pages that evaluate ``scan_limit`` items at most."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - the optional extra

    found: set[str | None] = set()
    scanned = 0
    start: Mapping[str, Any] | None = None
    complete = False
    while scanned < scan_limit:
        arguments: dict[str, Any] = {
            "TableName": reader.table,
            "Limit": min(_SCAN_PAGE, scan_limit - scanned),
            "ProjectionExpression": "#n, #k",
            "FilterExpression": "contains(#n, :m)",
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": {":m": {"S": _METADATA}},
        }
        if start is not None:
            arguments["ExclusiveStartKey"] = start
        try:
            page = await reader("Scan", reader.client.scan(**arguments))
        except ClientError as error:  # AccessDenied: SDKs never Scan, so this is no failure
            return [], Check("prefix discovery", CheckStatus.WARNING, f"Scan refused: {error}")
        scanned += page.get("ScannedCount", 0)
        for item in page.get("Items", []):
            namespace = item.get("namespace", {}).get("S")
            if namespace is not None and namespace == item.get("key", {}).get("S"):
                if namespace == _METADATA:
                    found.add(None)
                elif namespace.endswith(f":{_METADATA}"):
                    found.add(namespace[: -len(_METADATA) - 1])
        start = page.get("LastEvaluatedKey")
        if not start:
            complete = True
            break
    ordered = sorted(found, key=lambda prefix: prefix or "")
    chosen = ordered[0] if len(ordered) == 1 else None
    check = discovery_check(ordered, chosen, examined=f"{scanned} items", complete=complete)
    return ordered, check


async def _metadata(reader: _Reader, head: str) -> tuple[int | None, Check]:
    key = f"{head}{_METADATA}"
    item = await reader.get_item(key, key)
    if item is None:
        return None, Check(
            "metadata",
            CheckStatus.FAILURE,
            f"no item {key}: LaunchDarkly has not synchronized this store with this prefix",
        )
    value = item.get(_SYNCHRONIZED_ON)
    if value is None:
        return None, Check(
            "metadata", CheckStatus.FAILURE, f"item {key} has no {_SYNCHRONIZED_ON} attribute"
        )
    kind, raw = next(iter(value.items()), ("?", None))
    millis = parse_millis(raw) if kind == "N" and isinstance(raw, str) else None
    if millis is None:
        return None, Check(
            "metadata",
            CheckStatus.FAILURE,
            f"{key} {_SYNCHRONIZED_ON} is {{{kind!r}: {str(raw)[:40]!r}}}, not an integer "
            "number (N) of Unix milliseconds: SDKs cannot read it",
        )
    return millis, Check("metadata", CheckStatus.OK, f"{key} {_SYNCHRONIZED_ON} = {millis}")


async def _sample_members(reader: _Reader, head: str) -> list[Check]:
    """``member key types`` and ``member values`` over one bounded page of membership items."""
    namespace = f"{head}{_USERS}"
    page = await reader(
        "Query",
        reader.client.query(
            TableName=reader.table,
            KeyConditionExpression="#n = :ns",
            ExpressionAttributeNames={"#n": "namespace"},
            ExpressionAttributeValues={":ns": {"S": namespace}},
            Limit=SAMPLE_KEYS,
            ConsistentRead=True,
        ),
    )
    items = page.get("Items", [])
    wrong: list[str] = []
    values: list[str] = []
    for item in items:
        for name in _SETS:
            attribute = item.get(name)
            if attribute is None:
                continue
            kind = next(iter(attribute), "?")
            if kind != "SS":
                wrong.append(f"{item.get('key', {}).get('S', '?')} {name} is {kind}")
                continue
            values += attribute.get("SS", [])
    if wrong:
        types = Check(
            "member key types",
            CheckStatus.FAILURE,
            f"{len(wrong)} membership attributes are not string sets (SS), which SDKs "
            f"ignore: {shown(wrong, 3)}",
        )
    elif items:
        types = Check(
            "member key types",
            CheckStatus.OK,
            f"{len(items)} sampled membership items hold string sets (SS)",
        )
    else:
        types = Check(
            "member key types", CheckStatus.OK, f"no membership items in namespace {namespace}"
        )
    return [types, member_value_check(values, where=f"in namespace {namespace}")]


async def _membership(
    reader: _Reader, head: str, context_key: str
) -> tuple[Check, dict[str, bool]]:
    item = await reader.get_item(f"{head}{_USERS}", context_hash(context_key)) or {}
    problems: list[str] = []
    refs: dict[str, list[str]] = {}
    for name in _SETS:
        attribute = item.get(name)
        refs[name] = []
        if attribute is None:
            continue
        kind = next(iter(attribute), "?")
        if kind != "SS":
            problems.append(f"{name} is {kind}, not a string set (SS): SDKs ignore it")
            continue
        refs[name] = list(attribute.get("SS", []))
        bad = [value for value in refs[name] if not is_segment_ref(value)]
        if bad:
            problems.append(f"{name} holds values that are not segment refs: {shown(bad)}")
    return membership(context_key, refs["included"], refs["excluded"], problems)
