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
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ldstore.doctor._report import (
    DEFAULT_DEADLINE,
    DEFAULT_SCAN_LIMIT,
    DEFAULT_STALE_AFTER,
    DEFAULT_TIMEOUT,
    MAX_MEMBERS,
    SAMPLE_KEYS,
    Budget,
    Check,
    CheckStatus,
    DeadlineError,
    MemberSets,
    StoreReport,
    StoreUnreachableError,
    bounded,
    context_hash,
    discovery_check,
    freshness,
    invalid_options,
    is_segment_ref,
    member_value_check,
    membership,
    missing_extra,
    parse_millis,
    prefix_check,
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
METADATA_RCU_PER_SECOND = 0.2  # one consistent read (1 RCU) every 5 s, per SDK instance
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


class _BadReplyError(_UnreachableError):
    """DynamoDB (or what answers for it) sent a reply of a shape DynamoDB never sends."""


class _Reader:
    """Calls one operation at a time, each bounded by ``timeout``; maps lost stores to one error."""

    def __init__(self, client: DynamoDBClient, table: str, budget: Budget) -> None:
        self.client = client
        self.table = table
        self.budget = budget
        self.last = "DescribeTable"  # the operation in flight, for the deadline's error

    async def __call__(self, operation: str, call: Awaitable[T]) -> T:
        from botocore.exceptions import (  # noqa: PLC0415
            BotoCoreError,
            ClientError,
            ParamValidationError,
        )

        self.last = operation
        _LOG.debug("dynamodb %s %s", operation, self.table)
        try:
            return await bounded(self.budget, operation, call)
        except asyncio.TimeoutError:
            detail = f"no answer within {self.budget.timeout:g} s"
            raise _UnreachableError(operation, detail) from None
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
        except DeadlineError:
            raise
        except Exception as error:  # noqa: BLE001 - botocore parses replies assuming their shape (a list where a structure belongs fails on .get); whatever that parse hits is a reply DynamoDB never sends
            raise _BadReplyError(operation, f"{type(error).__name__} reading the reply") from None

    async def get_item(self, namespace: str, key: str) -> Item | None:
        reply = await self(
            "GetItem",
            self.client.get_item(
                TableName=self.table,
                Key={"namespace": {"S": namespace}, "key": {"S": key}},
                ConsistentRead=True,
            ),
        )
        item = reply.get("Item")
        return None if item is None else _mapping(item, "GetItem")


async def diagnose_dynamodb(  # noqa: PLR0913, PLR0911, C901 - the documented options; one return per outcome
    table: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    prefix: str | None = None,
    context_keys: Iterable[str] = (),
    stale_after: float = DEFAULT_STALE_AFTER,
    timeout: float = DEFAULT_TIMEOUT,
    scan_limit: int = DEFAULT_SCAN_LIMIT,
    deadline: float = DEFAULT_DEADLINE,
    sdk_instances: int = 1,
    expected_prefix: str | None = None,
    session: AioSession | None = None,
) -> Result[StoreReport, LDStoreError]:
    """Read the DynamoDB big segment store in ``table`` (credentials: the usual AWS chain).

    ``Ok(report)`` when DynamoDB answered, healthy or not (a missing table is a failed
    check). Without ``prefix``, a Scan bounded by ``scan_limit`` items looks for
    prefixes; one found is diagnosed, else no prefix (SDKs' default). ``context_keys``
    adds each context's memberships. Every call is bounded by ``timeout`` seconds and
    made once, the whole diagnosis by ``deadline``; nothing is ever written. A
    provisioned table's read capacity is checked against ``sdk_instances`` SDKs polling
    its metadata (one consistent read each every 5 s). ``expected_prefix`` (the
    environment's client-side ID) is the prefix diagnosed when none is given, and a
    ``prefix`` check says whether the data sits under it. ``session`` is an aiobotocore session to reuse
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
    invalid = invalid_options(stale_after, timeout, scan_limit, deadline) or invalid_options(
        stale_after, timeout, sdk_instances
    )
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
    budget = Budget(timeout, deadline)
    reader: _Reader | None = None
    try:
        creating: ClientCreatorContext[DynamoDBClient] = (session or get_session()).create_client(  # pyright: ignore[reportUnknownMemberType]  # the stubs name every AWS service; only DynamoDB's are installed
            "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
        )
        async with creating as client:
            reader = _Reader(client, table, budget)
            report = await asyncio.wait_for(
                _diagnose(
                    reader,
                    location=location,
                    prefix=prefix or None,
                    context_keys=tuple(context_keys),
                    stale_after=stale_after,
                    scan_limit=scan_limit,
                    sdk_instances=sdk_instances,
                    expected_prefix=expected_prefix,
                ),
                deadline + 1.0,  # a backstop: every call is bounded by the budget already
            )
    except DeadlineError as error:
        message = budget.message()
        return Err(StoreUnreachableError(message=message, method=error.command, url=location))
    except asyncio.TimeoutError:
        method = "DynamoDB" if reader is None else reader.last
        return Err(StoreUnreachableError(message=budget.message(), method=method, url=location))
    except _BadReplyError as error:
        message = f"the reply is not one DynamoDB gives ({error.detail})"
        return Err(StoreUnreachableError(message=message, method=error.operation, url=location))
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


async def _diagnose(  # noqa: PLR0913, C901 - one call from diagnose_dynamodb; one step per check
    reader: _Reader,
    *,
    location: str,
    prefix: str | None,
    context_keys: Sequence[str],
    stale_after: float,
    scan_limit: int,
    sdk_instances: int,
    expected_prefix: str | None,
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
            member_sets=found.get("member_sets", {}),
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
        description = _mapping(described.get("Table", {}), "DescribeTable")
        schema = _key_schema(description)
        checks.append(schema)
        if schema.status is CheckStatus.FAILURE:  # every read would be refused
            return report()
        checks.append(_capacity(description, sdk_instances))
    try:
        given = prefix
        if prefix is None:
            found, discovery = await _discover(reader, scan_limit, expected_prefix)
            prefix = expected_prefix or (found[0] if len(found) == 1 else None)
            checks.append(discovery)
            prefixes = tuple("" if item is None else item for item in found)
        if expected_prefix is not None:
            checks.append(prefix_check(expected_prefix, given, prefixes))
        head = f"{prefix}:" if prefix else ""
        millis, metadata = await _metadata(reader, head)
        checks.append(metadata)
        fresh = freshness(millis, now=datetime.now(timezone.utc), stale_after=stale_after)
        checks.extend(fresh.checks)
        checks.extend(await _sample_members(reader, head))
        memberships: dict[str, dict[str, bool]] = {}
        member_sets: dict[str, MemberSets] = {}
        for context_key in context_keys:
            check, refs, sets = await _membership(reader, head, context_key)
            checks.append(check)
            memberships[context_key] = refs
            member_sets[context_key] = sets
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
        member_sets=member_sets,
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


async def _discover(
    reader: _Reader, scan_limit: int, expected_prefix: str | None
) -> tuple[list[str | None], Check]:
    """Prefixes with a metadata item, from Scan pages that evaluate ``scan_limit`` items at most.

    Each page counts as at least one item evaluated, and at most ``max_pages(scan_limit)``
    pages are read: a ``LastEvaluatedKey`` that never ends stops there.
    """
    from botocore.exceptions import ClientError  # noqa: PLC0415 - the optional extra

    found: set[str | None] = set()
    scanned = 0
    start: Mapping[str, Any] | None = None
    complete = False
    for _page in range(max_pages(scan_limit)):
        if scanned >= scan_limit:
            break
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
        scanned += max(_count(page.get("ScannedCount", 0), "Scan"), 1)
        found.update(_metadata_prefixes(_items(page.get("Items", []), "Scan")))
        start = page.get("LastEvaluatedKey")
        if not start:
            complete = True
            break
    ordered = sorted(found, key=lambda prefix: prefix or "")
    chosen = expected_prefix or (ordered[0] if len(ordered) == 1 else None)
    check = discovery_check(ordered, chosen, examined=f"{scanned} items", complete=complete)
    return ordered, check


def _metadata_prefixes(items: Iterable[Mapping[str, Any]]) -> set[str | None]:
    """The prefixes of the metadata items among ``items`` (``None``: no prefix)."""
    found: set[str | None] = set()
    for item in items:
        namespace = _string(item.get("namespace"))
        if namespace is not None and namespace == _string(item.get("key")):
            if namespace == _METADATA:
                found.add(None)
            elif namespace.endswith(f":{_METADATA}"):
                found.add(namespace[: -len(_METADATA) - 1])
    return found


def max_pages(scan_limit: int) -> int:
    """Scan pages one discovery may read: twice what ``scan_limit`` items fill, at least 10.

    A page holds up to 1000 items or 1 MB, so real pages may hold fewer; a server that
    sends empty pages with a ``LastEvaluatedKey`` forever is stopped here.
    """
    return max(10, 2 * -(-scan_limit // _SCAN_PAGE))


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
    kind, raw = next(iter(_mapping(value, "GetItem").items()), ("?", None))
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
    items = _items(page.get("Items", []), "Query")[:SAMPLE_KEYS]
    wrong: list[str] = []
    values: list[str] = []
    for item in items:
        for name in _SETS:
            attribute = item.get(name)
            if attribute is None:
                continue
            attribute = _mapping(attribute, "Query")
            kind = next(iter(attribute), "?")
            if kind != "SS":
                wrong.append(f"{_string(item.get('key')) or '?'} {name} is {kind}")
                continue
            values += _string_set(attribute, "Query")
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
) -> tuple[Check, dict[str, bool], MemberSets]:
    item = await reader.get_item(f"{head}{_USERS}", context_hash(context_key)) or {}
    problems: list[str] = []
    refs: dict[str, list[str]] = {}
    for name in _SETS:
        attribute = item.get(name)
        refs[name] = []
        if attribute is None:
            continue
        attribute = _mapping(attribute, "GetItem")
        kind = next(iter(attribute), "?")
        if kind != "SS":
            problems.append(f"{name} is {kind}, not a string set (SS): SDKs ignore it")
            continue
        refs[name] = _string_set(attribute, "GetItem")[:MAX_MEMBERS]
        bad = [value for value in refs[name] if not is_segment_ref(value)]
        if bad:
            problems.append(f"{name} holds values that are not segment refs: {shown(bad)}")
    return membership(context_key, refs["included"], refs["excluded"], problems)


def _capacity(table: Mapping[str, Any], sdk_instances: int) -> Check:
    """``read capacity``: on-demand, or provisioned RCU against the SDKs' metadata polling."""
    summary: object = table.get("BillingModeSummary") or {}
    mode: object = (
        cast("Mapping[str, object]", summary).get("BillingMode", "PROVISIONED")
        if isinstance(summary, Mapping)
        else "?"
    )
    if mode == "PAY_PER_REQUEST":
        return Check(
            "read capacity",
            CheckStatus.OK,
            "on-demand (PAY_PER_REQUEST): no read capacity to exhaust",
        )
    throughput: object = table.get("ProvisionedThroughput") or {}
    units: object = (
        cast("Mapping[str, object]", throughput).get("ReadCapacityUnits")
        if isinstance(throughput, Mapping)
        else None
    )
    if not isinstance(units, int) or isinstance(units, bool):
        return Check(
            "read capacity", CheckStatus.WARNING, f"billing mode {mode!r}, read capacity unknown"
        )
    # Each SDK instance reads the metadata item with a consistent read (1 RCU up to 4 KB)
    # every 5 s (its default status poll interval); membership reads come on top.
    needed = sdk_instances * METADATA_RCU_PER_SECOND
    text = (
        f"provisioned {units} RCU; {sdk_instances} SDK instance(s) polling the metadata "
        f"need {needed:g} RCU/s before any membership read (one consistent read each)"
    )
    if units < needed:
        return Check(
            "read capacity",
            CheckStatus.FAILURE,
            f"{text}: reads will be throttled and SDKs will report the store unavailable",
        )
    return Check("read capacity", CheckStatus.OK, f"{text}, leaving {units - needed:g} RCU/s")


# Reply shapes: botocore parses by the service model, but leaves scalars as the JSON gave them.


def _count(value: object, operation: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _BadReplyError(operation, f"{str(value)[:20]!r} where DynamoDB answers a count")


def _mapping(value: object, operation: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return cast("Mapping[str, Any]", value)
    raise _BadReplyError(operation, f"a {type(value).__name__} where DynamoDB answers a structure")


def _items(value: object, operation: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise _BadReplyError(operation, f"Items is a {type(value).__name__}, not a list")
    return [_mapping(item, operation) for item in cast("list[object]", value)]


def _string(attribute: object) -> str | None:
    """The string of an ``{"S": ...}`` attribute, else ``None``."""
    if isinstance(attribute, Mapping):
        value = cast("Mapping[str, object]", attribute).get("S")
        return value if isinstance(value, str) else None
    return None


def _string_set(attribute: Mapping[str, Any], operation: str) -> list[str]:
    values = attribute.get("SS", [])
    if not isinstance(values, list) or not all(
        isinstance(value, str) for value in cast("list[object]", values)
    ):
        raise _BadReplyError(operation, "a string set (SS) that is not a list of strings")
    return cast("list[str]", values)
