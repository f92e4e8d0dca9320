"""The environment and segment reads over loopback: decoding, errors, bad bodies, secrets.

Each server is a small aiohttp handler on 127.0.0.1 (tests/hostile.py) that records every
request, so a test can state what reached it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

import pytest
from hostile import FAST, TOKEN, answer, core_at, script, serve
from hypothesis import given
from hypothesis import strategies as st

from ldstore import Client, Err, HookContext, Hooks, Ok
from ldstore.errors import (
    InputValidationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ResponseValidationError,
)
from ldstore.funcs import (
    _path,  # pyright: ignore[reportPrivateUsage]
    get_big_segment_membership,
    get_big_segment_store_integrations,
    get_environment,
    get_segment,
)
from ldstore.models import BigSegmentMembership, Environment, Link, Segment
from ldstore.operations import (
    GetBigSegmentMembershipRequest,
    GetEnvironmentRequest,
    GetSegmentRequest,
)
from ldstore.text import secret_forms

SDK_KEY = "sdk-0f1e2d3c-secret-key"
MOBILE_KEY = "mob-9a8b7c6d-secret-key"
CREATED_MS = 1_700_000_000_123


def environment(**fields: Any) -> dict[str, Any]:
    """An environment as LaunchDarkly sends it, secrets included."""
    wire: dict[str, Any] = {
        "_links": {"self": {"href": "/api/v2/projects/default/environments/production"}},
        "_id": "60a1b2c3d4e5f60718293a4b",
        "key": "production",
        "name": "Production",
        "apiKey": SDK_KEY,
        "mobileKey": MOBILE_KEY,
        "color": "417505",
        "defaultTtl": 0,
    }
    wire.update(fields)
    return wire


def segment(**fields: Any) -> dict[str, Any]:
    """A big segment as LaunchDarkly sends it, with fields ldstore does not read."""
    wire: dict[str, Any] = {
        "key": "beta-users",
        "name": "Beta users",
        "tags": [],
        "creationDate": CREATED_MS,
        "lastModifiedDate": CREATED_MS,
        "_links": {"self": {"href": "/api/v2/segments/default/production/beta-users"}},
        "rules": [],
        "version": 4,
        "deleted": False,
        "generation": 2,
        "unbounded": True,
        "unboundedContextKind": "device",
    }
    wire.update(fields)
    return wire


MEMBERSHIP = {"userKey": "ctx-1", "included": True, "excluded": False}
NOT_FOUND = {"code": "not_found", "message": "Unknown resource"}
ENVIRONMENT_REQUEST = GetEnvironmentRequest("default", "production")
SEGMENT_REQUEST = GetSegmentRequest("default", "production", "beta-users")


def membership_request(context_key: str = "ctx-1") -> GetBigSegmentMembershipRequest:
    return GetBigSegmentMembershipRequest("default", "production", "beta-users", context_key)


async def test_an_environment_decodes_without_its_keys() -> None:
    """getEnvironment: Ok(Environment) with the client-side ID; no trace of the SDK or
    mobile key in the value or its repr; one GET on the documented path, without the beta
    header."""
    async with serve(answer(200, environment())) as server, core_at(server.url) as core:
        result = await get_environment(core, ENVIRONMENT_REQUEST)

    assert isinstance(result, Ok)
    assert result.value == Environment(
        id="60a1b2c3d4e5f60718293a4b", key="production", name="Production"
    )
    assert SDK_KEY not in repr(result)
    assert MOBILE_KEY not in repr(result)
    assert [(hit.method, hit.path) for hit in server.hits] == [
        ("GET", "/api/v2/projects/default/environments/production")
    ]
    assert "LD-API-Version" not in server.hits[0].headers
    assert server.hits[0].headers["Authorization"] == TOKEN


async def test_the_store_routes_still_send_the_beta_header() -> None:
    """The beta header is a property of the route: the store integrations keep it."""
    listing: dict[str, Any] = {"_links": {"self": {"href": "/x"}}, "items": []}
    async with serve(answer(200, listing)) as server, core_at(server.url) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    assert server.hits[0].headers["LD-API-Version"] == "beta"


async def test_a_segment_decodes_the_fields_ldstore_needs() -> None:
    """getSegment: Ok(Segment) with its generation, context kind, UTC creation date and
    links; the store's segment ref is <key>.g<generation>."""
    async with serve(answer(200, segment())) as server, core_at(server.url) as core:
        result = await get_segment(core, SEGMENT_REQUEST)

    assert isinstance(result, Ok)
    assert result.value == Segment(
        key="beta-users",
        name="Beta users",
        generation=2,
        version=4,
        creation_date=datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=timezone.utc),
        links={"self": Link(href="/api/v2/segments/default/production/beta-users")},
        unbounded=True,
        unbounded_context_kind="device",
    )
    assert result.value.ref == "beta-users.g2"
    assert server.hits[0].path == "/api/v2/segments/default/production/beta-users"
    assert "LD-API-Version" not in server.hits[0].headers


async def test_a_standard_segment_is_not_unbounded() -> None:
    """A segment without "unbounded" (a standard one) decodes with unbounded False."""
    wire = segment()
    del wire["unbounded"], wire["unboundedContextKind"]
    async with serve(answer(200, wire)) as server, core_at(server.url) as core:
        result = await get_segment(core, SEGMENT_REQUEST)

    assert isinstance(result, Ok)
    assert result.value.unbounded is False
    assert result.value.unbounded_context_kind is None


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (MEMBERSHIP, BigSegmentMembership(user_key="ctx-1", included=True, excluded=False)),
        (
            {"userKey": "ctx-1", "included": False, "excluded": False, "extra": [1]},
            BigSegmentMembership(user_key="ctx-1", included=False, excluded=False),
        ),
    ],
)
async def test_a_membership_decodes(wire: dict[str, Any], expected: BigSegmentMembership) -> None:
    """getSegmentMembershipForContext: included, or neither (both false); extra keys ignored."""
    async with serve(answer(200, wire)) as server, core_at(server.url) as core:
        result = await get_big_segment_membership(core, membership_request())

    assert result == Ok(expected)
    assert server.hits[0].path == "/api/v2/segments/default/production/beta-users/contexts/ctx-1"
    assert "LD-API-Version" not in server.hits[0].headers


async def test_a_unicode_context_key_is_one_encoded_segment() -> None:
    """A context key with "/", "%", spaces and non-ASCII reaches the server as one
    percent-encoded path segment that decodes back to it."""
    key = "ü/ser %2F 名前?#"
    async with serve(answer(200, MEMBERSHIP)) as server, core_at(server.url) as core:
        result = await get_big_segment_membership(core, membership_request(key))

    assert isinstance(result, Ok)
    last = server.hits[0].path.rsplit("/", 1)[1]
    assert unquote(last) == key


@given(st.text(max_size=12))
def test_any_context_key_gives_one_segment_or_an_input_error(key: str) -> None:
    """For any context key: a path whose last segment decodes back to it, or
    Err(InputValidationError) on context_key for "", ".", ".." or text with no UTF-8."""
    template = "/api/v2/segments/{}/{}/{}/contexts/{}"

    result = _path(membership_request(key), template)

    match result:
        case Ok(path):
            prefix = "/api/v2/segments/default/production/beta-users/contexts/"
            assert path.startswith(prefix)
            assert "/" not in path.removeprefix(prefix)
            assert unquote(path.removeprefix(prefix)) == key
        case Err(error):
            assert isinstance(error, InputValidationError)
            assert error.field == "context_key"
            assert key in {"", ".", ".."} or any(0xD800 <= ord(c) <= 0xDFFF for c in key)


@pytest.mark.parametrize("key", ["", ".", ".."])
async def test_a_refused_context_key_sends_nothing(key: str) -> None:
    """An empty, "." or ".." context key: Err(InputValidationError) naming it; 0 requests."""
    async with serve(answer(200, MEMBERSHIP)) as server, core_at(server.url) as core:
        result = await get_big_segment_membership(core, membership_request(key))

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert result.error.field == "context_key"
    assert server.hits == []


async def test_an_unknown_segment_is_not_found() -> None:
    """The documented 404 JSON: Err(NotFoundError) with its code and message, one request."""
    async with serve(answer(404, NOT_FOUND)) as server, core_at(server.url) as core:
        result = await get_segment(core, SEGMENT_REQUEST)

    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    assert (result.error.status_code, result.error.code) == (404, "not_found")
    assert len(server.hits) == 1


async def test_membership_of_a_standard_segment_is_an_invalid_request() -> None:
    """A 400 (the route is for big segments only) is Err(InvalidRequestError), not retried."""
    body = {"code": "invalid_request", "message": "not a big segment"}
    async with serve(answer(400, body)) as server, core_at(server.url, retry_config=FAST) as core:
        result = await get_big_segment_membership(core, membership_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert len(server.hits) == 1


async def test_the_reads_are_retried_and_hooked_like_the_store_routes() -> None:
    """A 429 then a 503 then 200: Ok after three attempts, each hook call naming the
    LaunchDarkly operationId and its attempt number."""
    seen: list[tuple[str, int]] = []

    def before(context: HookContext, _: object) -> None:
        seen.append((context.operation_id, context.attempt))

    handler = script(
        answer(429, {"code": "rate_limited", "message": "slow"}, {"Retry-After": "0"}),
        answer(503, b"<html>busy</html>"),
        answer(200, MEMBERSHIP),
    )
    async with (
        serve(handler) as server,
        core_at(server.url, retry_config=FAST, hooks=Hooks(before_request=before)) as core,
    ):
        result = await get_big_segment_membership(core, membership_request())

    assert isinstance(result, Ok)
    assert len(server.hits) == 3
    assert seen == [("getSegmentMembershipForContext", n) for n in (1, 2, 3)]


async def test_an_exhausted_rate_limit_is_an_err() -> None:
    """429s until the budget is spent: Err(RateLimitedError), never an exception, within
    the retry budget (5 s)."""
    limited = answer(429, {"code": "rate_limited", "message": "slow"}, {"Retry-After": "60"})
    async with serve(limited) as server, core_at(server.url, retry_config=FAST) as core:
        result = await asyncio.wait_for(get_environment(core, ENVIRONMENT_REQUEST), 7.0)

    assert isinstance(result, Err)
    assert isinstance(result.error, RateLimitedError)
    assert len(server.hits) == 1  # the server asked for longer than the budget: no retry


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({**MEMBERSHIP, "included": "false"}, "included"),
        ({**MEMBERSHIP, "excluded": 0}, "excluded"),
        ({**MEMBERSHIP, "userKey": 5}, "userKey"),
        ({**MEMBERSHIP, "included": None}, "included"),
        ({"userKey": "ctx-1", "included": True}, "excluded"),
        ([MEMBERSHIP], "object"),
        ("included", "object"),
    ],
)
async def test_a_mistyped_membership_is_a_validation_error(body: object, named: str) -> None:
    """A membership whose types are wrong ("false" for false, 0, 5, null, a missing key,
    not an object) is Err(ResponseValidationError) naming what, never a guessed answer."""
    async with serve(answer(200, body)) as server, core_at(server.url) as core:
        result = await get_big_segment_membership(core, membership_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert named in result.error.message


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"generation": "2"}, "generation"),
        ({"generation": True}, "generation"),
        ({"version": 4.5}, "version"),
        ({"unbounded": "true"}, "unbounded"),
        ({"creationDate": "2023-11-14"}, "creationDate"),
        ({"_links": []}, "_links"),
        ({"_links": {"self": "x"}}, "_links"),
        ({"_links": {"self": {"href": 7}}}, "href"),
        ({"name": ["Beta"]}, "name"),
    ],
)
async def test_a_mistyped_segment_is_a_validation_error(fields: dict[str, Any], named: str) -> None:
    """A segment field of the wrong JSON type is Err(ResponseValidationError) naming it."""
    async with serve(answer(200, segment(**fields))) as server, core_at(server.url) as core:
        result = await get_segment(core, SEGMENT_REQUEST)

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert named in result.error.message


@pytest.mark.parametrize(
    "body",
    [
        environment(name=None),  # mistyped
        {k: v for k, v in environment().items() if k != "_id"},  # missing
        environment(key={"apiKey": SDK_KEY}),  # a secret nested where a field was expected
        b'{"_id": "x", "apiKey": "' + SDK_KEY.encode() + b'", "mobileKey": "' + MOBILE_KEY.encode(),
        b'{"_id": 1, "apiKey": "' + SDK_KEY.replace("-", "\\u002d").encode() + b'"}',
    ],
    ids=["mistyped", "missing", "nested", "truncated", "escaped"],
)
async def test_a_bad_environment_body_never_keeps_its_keys(body: object) -> None:
    """An environment that does not decode: Err(ResponseValidationError) whose message,
    body and repr hold neither key in any spelling (raw, JSON-escaped, percent, base64)."""
    async with serve(answer(200, body)) as server, core_at(server.url) as core:
        result = await get_environment(core, ENVIRONMENT_REQUEST)

    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, ResponseValidationError)
    kept = f"{error} {error!r} {error.body.decode('utf-8', 'replace')}"
    if error.body:  # kept only as JSON, which may spell a key with escapes: read it back
        kept += json.dumps(json.loads(error.body), ensure_ascii=False)
    for form in secret_forms(SDK_KEY) | secret_forms(MOBILE_KEY):
        assert form not in kept
    assert len(server.hits) == 1


async def test_an_echoed_token_is_redacted_from_a_bad_body() -> None:
    """A server that echoes the token in a mistyped segment: the error holds no token."""
    async with serve(answer(200, segment(name=[TOKEN]))) as server, core_at(server.url) as core:
        result = await get_segment(core, SEGMENT_REQUEST)

    assert isinstance(result, Err)
    assert isinstance(result.error, ResponseValidationError)
    assert TOKEN.encode() not in result.error.body
    assert TOKEN not in repr(result.error)


async def test_the_facade_reads_and_raises() -> None:
    """client.environments and client.segments return the values, or raise the error."""
    handler = script(
        answer(200, environment()),
        answer(200, segment()),
        answer(200, MEMBERSHIP),
        answer(404, NOT_FOUND),
    )
    async with serve(handler) as server, Client(core=core_at(server.url)) as client:
        env = await client.environments.get_environment(
            project_key="default", environment_key="production"
        )
        seg = await client.segments.get_segment(
            project_key="default", environment_key="production", segment_key="beta-users"
        )
        member = await client.segments.get_big_segment_membership(
            project_key="default",
            environment_key="production",
            segment_key="beta-users",
            context_key="ctx-1",
        )
        with pytest.raises(NotFoundError):
            _ = await client.segments.get_segment(
                project_key="default", environment_key="production", segment_key="gone"
            )
        await client.core.close()

    assert (env.id, seg.generation, member.included) == ("60a1b2c3d4e5f60718293a4b", 2, True)
