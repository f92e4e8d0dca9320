"""The fake against the OpenAPI subset: every operation and documented status fits the spec."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import attrs
import pytest
import yarl
from contract import (
    documented_statuses,
    validate_exchanges,
    validate_request,
    validate_response,
)

from ldstore.testing import FakeLaunchDarkly, RateLimit, RecordedRequest

BASE = "/api/v2/integration-capabilities/big-segment-store"
LIST = "getBigSegmentStoreIntegrations"
CREATE = "createBigSegmentStoreIntegration"
GET = "getBigSegmentStoreIntegration"
PATCH = "patchBigSegmentStoreIntegration"
DELETE = "deleteBigSegmentStoreIntegration"
# Statuses the spec documents that the fake has no way to produce: the list has no
# path parameters to be unknown, and a delete meets no concurrent request.
UNREACHABLE = {(LIST, 404), (DELETE, 409)}
REDIS = {"name": "cache", "config": {"host": "redis.internal", "password": "hunter2"}}


class SDKLike:
    """Sends as the SDK does (User-Agent ldstore/...), so requests are checked as well."""

    def __init__(self, fake: FakeLaunchDarkly, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session

    async def send(
        self,
        method: str,
        keys: tuple[str, ...] = (),
        body: object = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> RecordedRequest:
        """Send, check the exchange against the contract, and return its log entry."""
        sent = {
            "Authorization": self.fake.token,
            "LD-API-Version": "beta",
            "User-Agent": "ldstore/0.0 contract-test",
            **(headers or {}),
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        raw_path = "/".join((BASE, *(quote(key, safe="") for key in keys)))
        url = yarl.URL(self.fake.url + raw_path, encoded=True)
        async with self.session.request(method, url, data=data, headers=sent) as response:
            _ = await response.read()
        record = self.fake.requests[-1]
        assert record.operation_id is not None
        assert record.status is not None
        validate_response(record.operation_id, record.status, record.response_body)
        validate_request(record.operation_id, record.body)
        return record


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session with a timeout."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


def item_keys(record: RecordedRequest) -> tuple[str, str, str, str]:
    """The path keys of the integration a create answered with."""
    item: dict[str, Any] = json.loads(record.response_body)
    return (item["projectKey"], item["environmentKey"], item["integrationKey"], item["_id"])


async def test_every_operation_and_status_matches_the_spec(
    fake: FakeLaunchDarkly,
    serve_fake: Callable[[FakeLaunchDarkly], Awaitable[FakeLaunchDarkly]],
    session: aiohttp.ClientSession,
) -> None:
    """All five operations, through every status the fake can give, fit the OpenAPI subset."""
    sdk = SDKLike(fake, session)
    where = ("default", "production", "redis")
    nowhere = ("default", "staging", "redis")
    bad_auth = {"Authorization": "api-wrong"}
    no_beta = {"LD-API-Version": "alpha"}

    created = await sdk.send("POST", where, REDIS)
    keys = item_keys(created)
    records = [
        created,
        await sdk.send("POST", where, REDIS),  # 409, duplicate name
        await sdk.send("POST", where, {"name": "x", "config": {}}),  # 400
        await sdk.send("POST", nowhere, REDIS),  # 404
        await sdk.send("GET"),
        await sdk.send("GET", keys),
        await sdk.send("GET", (*where, "0" * 24)),
        await sdk.send("PATCH", keys, [{"op": "replace", "path": "/on", "value": True}]),
        await sdk.send(
            "PATCH",
            keys,
            {"comment": "c", "patch": [{"op": "add", "path": "/tags/-", "value": "t"}]},
        ),
        await sdk.send("PATCH", keys, [{"op": "test", "path": "/version", "value": 1}]),  # 409
        await sdk.send("PATCH", keys, [{"op": "replace", "path": "/_id", "value": "x"}]),  # 400
        await sdk.send("PATCH", (*nowhere, keys[3]), []),
        await sdk.send("DELETE", keys),
        await sdk.send("DELETE", keys),  # 404
    ]
    calls: list[tuple[str, tuple[str, ...], object]] = [
        ("GET", (), None),
        ("POST", where, REDIS),
        ("GET", keys, None),
        ("PATCH", keys, []),
        ("DELETE", keys, None),
    ]
    for method, path_keys, body in calls:
        records.append(await sdk.send(method, path_keys, body, headers=bad_auth))
        records.append(await sdk.send(method, path_keys, body, headers=no_beta))
    limited = SDKLike(await serve_fake(FakeLaunchDarkly(rate_limit=RateLimit(0))), session)
    records += [await limited.send(method, path_keys, body) for method, path_keys, body in calls]

    seen = {(record.operation_id, record.status) for record in records}
    documented = {
        (operation, status)
        for operation in (LIST, CREATE, GET, PATCH, DELETE)
        for status in documented_statuses(operation)
    }
    assert seen == documented - UNREACHABLE


async def test_list_items_without_config_fit_the_contract(fake: FakeLaunchDarkly) -> None:
    """List summaries lack config; the contract allows that for list items only."""
    item = fake.seed_integration("default", "test", "redis", name="r", config={"host": "h"})
    summary = {key: value for key, value in item.items() if key != "config"}
    listing = {"_links": {"self": {"href": BASE}}, "items": [summary]}

    validate_response(LIST, 200, json.dumps(listing).encode())
    with pytest.raises(AssertionError, match="'config' is a required property"):
        validate_response(GET, 200, json.dumps(summary).encode())


@pytest.mark.parametrize(
    ("operation", "status", "body", "complaint"),
    [
        (GET, 200, b'{"_links": {}}', "does not match BigSegmentStoreIntegration"),
        (GET, 200, b"<html>Bad Gateway</html>", "not JSON"),
        (GET, 400, b'{"code": "x", "message": "y"}', "does not document status 400"),
        (DELETE, 204, b"{}", "must have no body"),
        (CREATE, 409, b'{"message": "taken"}', "'code' is a required property"),
        (LIST, 200, b'{"_links": {"self": {}}, "items": {}}', "at /items"),
        ("listThings", 200, b"{}", "not an operationId"),
    ],
)
def test_validator_rejects_wrong_responses(
    operation: str, status: int, body: bytes, complaint: str
) -> None:
    """The response check can fail, and says why."""
    with pytest.raises(AssertionError, match=complaint):
        validate_response(operation, status, body)


@pytest.mark.parametrize(
    ("operation", "body", "complaint"),
    [
        (CREATE, b'{"name": "x"}', "'config' is a required property"),
        (CREATE, b'{"config": {}, "tags": "a"}', "at /tags"),
        (PATCH, b'[{"op": "replace"}]', "'path' is a required property"),
        (PATCH, b'{"comment": "no patch"}', "'patch' is a required property"),
        (PATCH, b'{"comment": 1, "patch": []}', "at /comment"),
        (PATCH, b'{"patch": [], "merge": {}}', "Additional properties"),
        (GET, b"{}", "must be empty"),
        (DELETE, b"x", "must be empty"),
    ],
)
def test_validator_rejects_wrong_requests(operation: str, body: bytes, complaint: str) -> None:
    """The request check can fail, and says why."""
    with pytest.raises(AssertionError, match=complaint):
        validate_request(operation, body)


def test_validator_accepts_both_patch_forms() -> None:
    """A bare JSON Patch array and the documented {comment, patch} envelope both pass."""
    operations = [
        {"op": "test", "path": "/version", "value": 1},
        {"op": "remove", "path": "/tags/0"},
    ]

    validate_request(PATCH, json.dumps(operations).encode())
    validate_request(PATCH, json.dumps({"comment": "why", "patch": operations}).encode())


async def test_off_contract_exchange_is_caught(session: aiohttp.ClientSession) -> None:
    """validate_exchanges fails on a fake made to answer off the spec (an unknown store kind)."""
    async with FakeLaunchDarkly() as fake:
        _ = fake.seed_integration("default", "test", "kafka", name="k", config={})
        sdk = SDKLike(fake, session)
        with pytest.raises(AssertionError, match="integrationKey"):
            _ = await sdk.send("GET")

    with pytest.raises(AssertionError, match="'kafka' is not one of"):
        validate_exchanges(fake.requests)


async def test_faulted_and_unrouted_exchanges_are_skipped() -> None:
    """Injected faults and requests outside the API are not held to the spec."""
    faulted = RecordedRequest(
        method="GET",
        raw_path=BASE,
        path_params={},
        operation_id=LIST,
        headers={},
        body=b"",
        status=502,
        response_body=b"<html>",
        response_headers={},
        fault="ServerError",
        time=0.0,
    )
    unrouted = attrs.evolve(faulted, operation_id=None, status=405, fault=None)

    validate_exchanges([faulted, unrouted])
