"""The doctor against hostile or broken stores: wrong reply types, endless cursors, slow answers.

Each store here is a small misbehaving server on 127.0.0.1 (a RESP server for Redis, an
aiohttp app for DynamoDB). Whatever it answers, the doctor ends in ``Ok`` (a report,
failed checks included) or ``Err(StoreUnreachableError)``, within a stated time and a
stated number of replies: never an exception, never a hang.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiobotocore.session import AioSession
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldstore.doctor import StoreReport, StoreUnreachableError, diagnose_dynamodb, diagnose_redis
from ldstore.doctor._dynamodb import max_pages
from ldstore.doctor._redis_client import MAX_CURSOR_REPLIES
from ldstore.errors import LDStoreError
from ldstore.result import Err, Ok, Result

from .resp import (
    CONTEXT,
    NULL,
    array,
    bulk,
    error,
    integer,
    resp_server,
    scan_reply,
    simple,
)
from .support import now_ms

BOUND = 10.0  # seconds any one diagnosis here may take; each takes well under one
COMMANDS = ["PING", "INFO", "DBSIZE", "SCAN", "TYPE", "GET", "PTTL", "SSCAN", "SRANDMEMBER"]


def survived(result: Result[StoreReport, LDStoreError]) -> None:
    """The promise: a report, or the store named unreachable; nothing else."""
    if isinstance(result, Err):
        assert isinstance(result.error, StoreUnreachableError), result.error
        assert "bug" not in str(result.error)


def only(name: str, reply: bytes) -> Callable[[list[bytes]], bytes | None]:
    def answer(command: list[bytes]) -> bytes | None:
        return reply if command[0].upper() == name.encode() else None

    return answer


async def test_the_misbehaving_server_serves_a_healthy_store() -> None:
    """The baseline the attacks below start from: the seeded RESP store is healthy."""
    async with resp_server() as server:
        result = await diagnose_redis(server.url, context_keys=[CONTEXT])

    assert isinstance(result, Ok), result
    assert result.value.healthy, result.value.checks
    assert result.value.memberships == {CONTEXT: {"beta.g1": True}}


WRONG = [
    ("PING", integer(1)),
    ("PING", array(bulk("PONG"))),
    ("INFO", integer(7)),
    ("INFO", array()),
    ("DBSIZE", simple("lots")),
    ("SCAN", integer(5)),
    ("SCAN", array(bulk("not-a-number"), array())),
    ("SCAN", array(bulk("0"), integer(3))),
    ("SCAN", array(bulk("0"), array(array(bulk("nested"))))),
    ("SCAN", array(bulk("0"))),
    ("TYPE", array()),
    ("TYPE", integer(0)),
    ("GET", integer(12)),
    ("GET", array(bulk("1"))),
    ("PTTL", bulk("soon")),
    ("SSCAN", array(bulk("0"), array(integer(1)))),
    ("SSCAN", NULL),
    ("SRANDMEMBER", integer(1)),
    ("SRANDMEMBER", array(array())),
]


@pytest.mark.parametrize(("name", "reply"), WRONG)
async def test_a_reply_of_the_wrong_type_is_no_crash(name: str, reply: bytes) -> None:
    """Class 6: a wrong-typed reply to any command ends in Ok or StoreUnreachableError, in < 10 s."""
    async with resp_server(only(name, reply)) as server:
        started = time.monotonic()
        result = await asyncio.wait_for(
            diagnose_redis(server.url, context_keys=[CONTEXT], timeout=1), BOUND
        )

    survived(result)
    assert time.monotonic() - started < BOUND
    assert isinstance(result, Err), "each of these replies makes the store unreadable"
    assert result.error.method.split()[0] == name  # type: ignore[attr-defined]  # narrowed above


def resp_values() -> st.SearchStrategy[bytes]:
    """Any RESP2 reply: simple strings, errors, integers, bulk strings, nulls, nested arrays."""
    words = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=12)
    scalars = st.one_of(
        words.map(simple),
        words.map(lambda text: error(f"ERR {text}")),
        st.integers(-(2**63), 2**63 - 1).map(integer),
        st.binary(max_size=16).map(bulk),
        st.just(NULL),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4).map(lambda items: array(*items)),
        max_leaves=12,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(COMMANDS), resp_values())
def test_any_reply_to_any_command_ends_in_a_report_or_unreachable(name: str, reply: bytes) -> None:
    """Class 6, as a property: whatever RESP value answers a command, no exception escapes."""

    async def attempt() -> Result[StoreReport, LDStoreError]:
        async with resp_server(only(name, reply)) as server:
            return await asyncio.wait_for(
                diagnose_redis(server.url, context_keys=[CONTEXT], timeout=1), BOUND
            )

    survived(asyncio.run(attempt()))


async def test_an_endless_sscan_cursor_stops_after_its_replies() -> None:
    """Bound: an SSCAN cursor that never ends costs MAX_CURSOR_REPLIES replies, and the check fails."""

    def answer(command: list[bytes]) -> bytes | None:
        if command[0].upper() == b"SSCAN":
            return scan_reply(7, [])  # never 0
        return None

    async with resp_server(answer) as server:
        result = await asyncio.wait_for(diagnose_redis(server.url, context_keys=[CONTEXT]), BOUND)
        sscans = server.sent("SSCAN")

    assert isinstance(result, Ok)
    assert len(sscans) == MAX_CURSOR_REPLIES
    (check,) = [item for item in result.value.checks if item.name == f"context {CONTEXT!r}"]
    assert check.status == "failure"
    assert f"did not end within {MAX_CURSOR_REPLIES} replies" in check.detail


async def test_an_endless_scan_cursor_stops_at_the_scan_limit() -> None:
    """Bound: a SCAN cursor that never ends costs scan_limit keys of COUNT in all, then a warning."""

    def answer(command: list[bytes]) -> bytes | None:
        return scan_reply(7, []) if command[0].upper() == b"SCAN" else None

    async with resp_server(answer) as server:
        result = await asyncio.wait_for(diagnose_redis(server.url, scan_limit=2500), BOUND)
        discovery = [
            args for args in server.sent("SCAN") if "*:big_segments_synchronized_on" in args
        ]

    assert isinstance(result, Ok)
    assert sum(int(args[args.index("COUNT") + 1]) for args in discovery) == 2500
    assert len(discovery) == 3
    (check,) = [item for item in result.value.checks if item.name == "prefix discovery"]
    assert "there may be more" in check.detail


@pytest.mark.parametrize("scan_limit", [1, 200, 999, 1000, 2500])
async def test_discovery_examines_at_most_scan_limit_keys(scan_limit: int) -> None:
    """Mutation pin: discovery hands the server at most scan_limit keys to examine (counted in keys).

    The server here examines exactly COUNT keys per SCAN and returns each one it examined;
    the keys handed back are the work done, whatever the number of calls.
    """
    handed: list[int] = []

    def answer(command: list[bytes]) -> bytes | None:
        args = [part.decode() for part in command[1:]]
        if command[0].upper() != b"SCAN" or "*:big_segments_synchronized_on" not in args:
            return None
        cursor, count = int(args[0]), int(args[args.index("COUNT") + 1])
        keys = [f"p{cursor + index}:big_segments_synchronized_on" for index in range(count)]
        handed.append(len(keys))
        return scan_reply(cursor + count, keys)  # a keyspace that never ends

    async with resp_server(answer) as server:
        result = await asyncio.wait_for(diagnose_redis(server.url, scan_limit=scan_limit), BOUND)

    assert isinstance(result, Ok)
    assert sum(handed) == scan_limit
    assert result.value.prefixes is not None
    assert len(result.value.prefixes) == scan_limit


async def test_an_empty_database_says_zero_keys_examined() -> None:
    """Point 6: a finished SCAN of an empty database reports 0 keys examined, not its COUNT."""

    def answer(command: list[bytes]) -> bytes | None:
        name = command[0].upper()
        if name == b"SCAN":
            return scan_reply(0, [])
        if name == b"DBSIZE":
            return integer(0)
        return simple("none") if name == b"TYPE" else None

    async with resp_server(answer) as server:
        result = await asyncio.wait_for(diagnose_redis(server.url), BOUND)

    assert isinstance(result, Ok)
    (check,) = [item for item in result.value.checks if item.name == "prefix discovery"]
    assert "(all 0 keys examined)" in check.detail


async def test_the_deadline_holds_against_a_slow_store() -> None:
    """Bound: each reply 0.2 s late (under the 1 s timeout) cannot stretch a 1 s deadline past ~1 s."""

    async def answer(command: list[bytes]) -> bytes | None:
        await asyncio.sleep(0.2)
        return None

    async with resp_server(answer) as server:
        started = time.monotonic()
        result = await asyncio.wait_for(
            diagnose_redis(server.url, context_keys=[CONTEXT], timeout=1, deadline=1), BOUND
        )
        elapsed = time.monotonic() - started

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert "deadline of 1 s" in str(result.error)
    assert elapsed < 2.0  # ~1.0 s measured; 1.7 s seen on a machine at load 9


async def test_a_password_echoed_decoded_by_the_server_is_masked() -> None:
    """Class 7: p%40ss%3Aw0rd in the URL; a server echoing p@ss:w0rd; neither form in the Err."""

    def answer(command: list[bytes]) -> bytes | None:
        if command[0].upper() == b"AUTH":
            return error(f"WRONGPASS user ld with {command[-1].decode()} is not allowed")
        return None

    async with resp_server(answer) as server:
        url = f"redis://ld:p%40ss%3Aw0rd@127.0.0.1:{server.port}/0"
        result = await asyncio.wait_for(diagnose_redis(url), BOUND)
        sent = server.sent("AUTH")

    assert sent == [["ld", "p@ss:w0rd"]]  # redis-py decodes the URL before it sends
    assert isinstance(result, Err)
    shown = f"{result.error} {result.error!r} {result.error.url}"  # type: ignore[attr-defined]
    for form in ("p@ss:w0rd", "p%40ss%3Aw0rd", "p%40ss%3aw0rd", "p@ss%3Aw0rd"):
        assert form not in shown
    assert "[REDACTED]" in str(result.error)
    assert f"redis://ld:[REDACTED]@127.0.0.1:{server.port}/0" in str(result.error)


async def test_a_url_without_a_password_shows_host_port_and_user() -> None:
    """Point 6: with no password, the message keeps the user, host and port; nothing is masked."""
    result = await asyncio.wait_for(diagnose_redis("redis://doctor@127.0.0.1:1/0"), BOUND)

    assert isinstance(result, Err)
    assert "redis://doctor@127.0.0.1:1/0" in str(result.error)
    assert "[REDACTED]" not in str(result.error)


# DynamoDB: an aiohttp app speaking DynamoDB's JSON protocol, as a broken or hostile endpoint.

TABLE = {
    "TableName": "t",
    "KeySchema": [
        {"AttributeName": "namespace", "KeyType": "HASH"},
        {"AttributeName": "key", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "namespace", "AttributeType": "S"},
        {"AttributeName": "key", "AttributeType": "S"},
    ],
    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
}
Replies = dict[str, Any]


def dynamodb_answers(**overrides: Any) -> Replies:
    metadata = {"namespace": {"S": "big_segments_metadata"}, "key": {"S": "big_segments_metadata"}}
    replies: Replies = {
        "DescribeTable": {"Table": TABLE},
        "Scan": {"Items": [metadata], "Count": 1, "ScannedCount": 1},
        "GetItem": {"Item": {**metadata, "synchronizedOn": {"N": str(now_ms())}}},
        "Query": {"Items": [], "Count": 0, "ScannedCount": 0},
    }
    return replies | overrides


@pytest.fixture
async def dynamodb_endpoint(
    aws_environment: dict[str, str],
) -> AsyncIterator[tuple[str, Replies, list[str]]]:
    """An endpoint answering each operation with ``replies[operation]``; it records operations."""
    replies: Replies = dynamodb_answers()
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        seen.append(operation)
        _ = await request.read()
        return web.Response(
            body=json.dumps(replies[operation]).encode(), content_type="application/x-amz-json-1.0"
        )

    app = web.Application()
    _ = app.router.add_post("/", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), replies, seen
    finally:
        await server.close()


async def test_endless_dynamodb_pages_stop_at_the_page_bound(
    dynamodb_endpoint: tuple[str, Replies, list[str]],
) -> None:
    """Bound: Scan pages with a LastEvaluatedKey forever (and ScannedCount 0) cost max_pages pages."""
    endpoint, replies, seen = dynamodb_endpoint
    replies["Scan"] = {
        "Items": [],
        "Count": 0,
        "ScannedCount": 0,
        "LastEvaluatedKey": {"namespace": {"S": "a"}, "key": {"S": "b"}},
    }

    result = await asyncio.wait_for(
        diagnose_dynamodb("t", region="us-east-1", endpoint_url=endpoint, scan_limit=2000), BOUND
    )

    assert isinstance(result, Ok), result
    assert seen.count("Scan") == max_pages(2000) == 10
    (check,) = [item for item in result.value.checks if item.name == "prefix discovery"]
    assert "there may be more" in check.detail


@pytest.mark.parametrize(
    ("operation", "reply"),
    [
        ("DescribeTable", {"Table": []}),
        ("DescribeTable", {"Table": "t"}),
        ("Scan", {"Items": "x"}),
        ("Scan", {"Items": [], "ScannedCount": "lots"}),
        ("Scan", {"Items": [1, 2]}),
        ("GetItem", {"Item": []}),
        ("GetItem", {"Item": {"synchronizedOn": "x"}}),
        ("GetItem", {"Item": {"synchronizedOn": {"N": 17}}}),
        ("Query", {"Items": [{"included": {"SS": [1, 2]}}]}),
        ("Query", {"Items": [{"included": "SS"}]}),
        ("Query", {"Items": {"a": 1}}),
    ],
)
async def test_a_dynamodb_reply_of_the_wrong_shape_is_no_crash(
    dynamodb_endpoint: tuple[str, Replies, list[str]], operation: str, reply: Any
) -> None:
    """Class 6: a reply DynamoDB never sends ends in Ok or StoreUnreachableError, in < 10 s."""
    endpoint, replies, _ = dynamodb_endpoint
    replies[operation] = reply

    result = await asyncio.wait_for(
        diagnose_dynamodb("t", region="us-east-1", endpoint_url=endpoint, context_keys=["u"]), BOUND
    )

    survived(result)


async def test_the_dynamodb_deadline_holds(aws_environment: dict[str, str]) -> None:
    """Bound: an endpoint answering each call 0.3 s late cannot stretch a 1 s deadline past ~1 s."""

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        answer = dynamodb_answers()[operation]
        if operation == "Scan":
            answer = {**answer, "LastEvaluatedKey": {"namespace": {"S": "a"}, "key": {"S": "b"}}}
        return web.Response(
            body=json.dumps(answer).encode(), content_type="application/x-amz-json-1.0"
        )

    app = web.Application()
    _ = app.router.add_post("/", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        started = time.monotonic()
        result = await asyncio.wait_for(
            diagnose_dynamodb(
                "t",
                region="us-east-1",
                endpoint_url=str(server.make_url("")).rstrip("/"),
                timeout=1,
                deadline=1,
            ),
            BOUND,
        )
        elapsed = time.monotonic() - started
    finally:
        await server.close()

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert "deadline of 1 s" in str(result.error)
    assert elapsed < 2.0  # ~1.0 s measured; 1.7 s seen on a machine at load 9


async def test_a_cluster_node_that_hides_info_is_named_not_crashed_on() -> None:
    """Point 2: INFO refused (as some managed services do) and MOVED for a key: exit-3 Err naming
    the cluster, never an unexpected error."""

    def answer(command: list[bytes]) -> bytes | None:
        name = command[0].upper()
        if name == b"INFO":
            return error("NOPERM this user has no permissions to run the 'info' command")
        if name in {b"TYPE", b"GET"}:
            return error("MOVED 3999 127.0.0.1:7001")
        return None

    async with resp_server(answer) as server:
        result = await asyncio.wait_for(diagnose_redis(server.url, prefix="p"), BOUND)

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert "MOVED 3999" in str(result.error)
    assert "Redis Cluster node" in str(result.error)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
SHAPES = {
    "DescribeTable": ["Table"],
    "Scan": ["Items", "ScannedCount", "LastEvaluatedKey"],
    "GetItem": ["Item"],
    "Query": ["Items"],
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SHAPES)).flatmap(
        lambda operation: st.tuples(st.just(operation), st.sampled_from(SHAPES[operation]), JSON)
    )
)
def test_any_json_in_any_dynamodb_field_ends_in_a_report_or_unreachable(
    aws_session: AioSession, case: tuple[str, str, Any]
) -> None:
    """Class 6, as a property: whatever JSON value a DynamoDB reply's field holds, no exception escapes."""
    operation, field, value = case
    replies = dynamodb_answers()
    replies[operation] = {**replies[operation], field: value}

    async def attempt() -> Result[StoreReport, LDStoreError]:
        async def handle(request: web.Request) -> web.Response:
            name = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
            _ = await request.read()
            return web.Response(
                body=json.dumps(replies[name]).encode(), content_type="application/x-amz-json-1.0"
            )

        app = web.Application()
        _ = app.router.add_post("/", handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            return await asyncio.wait_for(
                diagnose_dynamodb(
                    "t",
                    region="us-east-1",
                    endpoint_url=str(server.make_url("")).rstrip("/"),
                    context_keys=["u"],
                    session=aws_session,
                    timeout=2,
                ),
                BOUND,
            )
        finally:
            await server.close()

    survived(asyncio.run(attempt()))
