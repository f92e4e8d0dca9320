"""Issue 9: arbitrary bodies and patches never break the fake, leave the contract or leak."""

from __future__ import annotations

import json
from typing import Any, cast

import aiohttp
import pytest
from contract import validate_exchanges, validate_response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldstore.testing import FakeLaunchDarkly

from .fakeclient import BASE, DYNAMODB_CONFIG, FakeClient, path

# Long and random-looking: hypothesis will not make it up, so seeing it means a leak.
SECRET = "pw-7f3c9a1e5b2d40688c1e"
OPERATIONS = ["add", "remove", "replace", "move", "copy", "test"]
POINTERS = [
    "",
    "/",
    "/name",
    "/on",
    "/tags",
    "/tags/-",
    "/tags/0",
    "/tags/9",
    "/config",
    "/config/host",
    "/config/port",
    "/config/password",
    "/config/password/0",
    "/config/tlsEnabled",
    "/version",
    "/_id",
    "/_links/self",
    "/projectKey",
    "/nope",
    "name",
    "/~2",
]

# Text includes lone surrogates, which json.dumps writes as \ud800-style escapes.
text = st.text(st.characters(exclude_categories=()), max_size=10) | st.sampled_from(
    ["\ud800", "a\udfffb", "cache", ""]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=10,
)
pointers = st.sampled_from(POINTERS) | text
operations = st.fixed_dictionaries(
    {"op": st.sampled_from([*OPERATIONS, "upsert"]) | scalars, "path": pointers | scalars},
    optional={"value": json_values, "from": pointers | scalars},
)
# Guesses at the stored secret, through every operation that could reveal it.
guesses = st.fixed_dictionaries(
    {
        "op": st.sampled_from(OPERATIONS),
        "path": st.sampled_from(["/config/password", "/config", ""]),
        "value": st.sampled_from([SECRET, {"host": "h", "password": SECRET}]),
    },
    optional={"from": st.sampled_from(["/config/password", "/config", ""])},
)
# Attempts to carry the secret into a field that answers show.
exfiltrations = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["copy", "move"]),
        "from": st.sampled_from(["/config/password", "/config", ""]),
        "path": st.sampled_from(["/name", "/tags/-", "/config/host", "/config/username"]),
    }
)
patch_arrays = st.lists(operations | guesses | exfiltrations, max_size=4)
patch_bodies = (
    patch_arrays
    | st.fixed_dictionaries({"patch": patch_arrays}, optional={"comment": scalars})
    | json_values
)
configs = st.fixed_dictionaries(
    {},
    optional={
        "host": text | scalars,
        "port": st.sampled_from(["6379", "0", "65536", "9" * 30, "06379"]) | scalars,
        "username": text,
        "password": st.just(SECRET) | text | scalars,
        "tlsEnabled": st.booleans() | scalars,
        "tableName": text,
        "region": st.sampled_from(["us-east-1", "mars-north-1"]),
        "roleArn": text,
        "externalId": text,
        "extra": json_values,
    },
)
# Creates that pass most checks, so that what they store is shown again later.
likely_config: st.SearchStrategy[dict[str, object]] = st.fixed_dictionaries(
    {"host": text}, optional={"password": st.just(SECRET) | text}
)
likely_creates: st.SearchStrategy[dict[str, object]] = st.fixed_dictionaries(
    {"config": likely_config},
    optional={"name": text, "on": st.booleans(), "tags": st.lists(text, max_size=2)},
)
create_bodies: st.SearchStrategy[object] = (
    likely_creates
    | st.fixed_dictionaries(
        {"config": configs},
        optional={
            "name": text | scalars,
            "on": st.booleans() | scalars,
            "tags": st.lists(text, max_size=3) | json_values,
            "_id": text,
            "unknown": json_values,
        },
    )
    | json_values
)
SCOPES = [
    ("default", "production", "redis"),  # the integration holding SECRET
    ("default", "production", "redis"),
    ("default", "test", "dynamodb"),
    ("nope", "production", "redis"),
    ("default", "production", "kafka"),
]
scopes = st.sampled_from(SCOPES)
as_json = st.sampled_from([True, True, True, False])  # send Content-Type: application/json
Step = tuple[str, tuple[str, str, str], object, bool]
steps: st.SearchStrategy[list[Step]] = st.lists(
    st.tuples(st.just("create"), scopes, create_bodies | st.binary(max_size=30), as_json)
    | st.tuples(
        st.sampled_from(["patch", "tunnelled patch"]),
        scopes,
        patch_bodies | st.binary(max_size=30),
        as_json,
    )
    | st.tuples(st.sampled_from(["get", "head", "list", "delete"]), scopes, st.just(b""), as_json),
    min_size=1,
    max_size=3,
)


def encode(body: object) -> bytes:
    """Bytes as sent: raw bytes as they are, anything else as (ASCII-escaped) JSON."""
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def where(kind: str, scope: tuple[str, str, str], items: dict[str, str]) -> str:
    """The raw path a step calls: the list, a create path, or a seeded integration's path."""
    if kind == "list":
        return BASE
    if kind == "create":
        return path(*scope)
    return path(*scope, items.get(scope[2], "0" * 24))


def seed(fake: FakeLaunchDarkly) -> dict[str, str]:
    """Forget everything, then store one Redis integration holding SECRET and one DynamoDB."""
    fake.reset()
    redis = fake.seed_integration(
        "default", "production", "redis", name="r", config={"host": "h", "password": SECRET}
    )
    dynamodb = fake.seed_integration(
        "default", "test", "dynamodb", name="d", config=dict(DYNAMODB_CONFIG)
    )
    return {"redis": redis["_id"], "dynamodb": dynamodb["_id"]}


async def send(
    client: FakeClient, kind: str, raw_path: str, body: bytes, *, as_json: bool
) -> tuple[int, bytes, str | None]:
    """One step over loopback HTTP: status, body and Content-Type of the answer."""
    method = {"create": "POST", "tunnelled patch": "POST", "head": "HEAD", "delete": "DELETE"}
    headers: dict[str, str | None] = {"Content-Type": "application/json" if as_json else None}
    if kind == "tunnelled patch":
        headers["X-HTTP-Method-Override"] = "PATCH"
    data = body if kind in {"create", "patch", "tunnelled patch"} else None
    answer = await client.send(
        method.get(kind, "PATCH" if kind == "patch" else "GET"),
        raw_path,
        data=data,
        headers=headers,
    )
    return answer.status, answer.body, answer.headers.get("Content-Type")


@pytest.mark.timeout(300)
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_arbitrary_requests_never_break_the_fake_nor_leak_the_secret(
    fake: FakeLaunchDarkly, session: aiohttp.ClientSession, steps: list[Any]
) -> None:
    """No 5xx; every answer JSON and within the contract; SECRET in no answer and not in the log."""
    client = FakeClient(fake, session)
    items = seed(fake)

    for kind, scope, body, as_json in steps:
        status, answer, content_type = await send(
            client, kind, where(kind, scope, items), encode(body), as_json=as_json
        )

        assert status < 500, answer
        assert SECRET.encode() not in answer
        if kind != "head" and status != 204:
            assert content_type == "application/json"
            _ = json.loads(answer)
        record = fake.requests[-1]
        if record.operation_id is not None and kind != "head":
            validate_response(record.operation_id, status, answer)

    listing = await client.send("GET")
    assert listing.status == 200  # nothing sent poisoned the list
    validate_exchanges(fake.requests)
    assert SECRET not in repr(fake.requests)


def reads_or_writes_the_secret(operation: object) -> bool:
    """Whether a test, copy or move names a pointer on the way to /config/password or below."""
    if not isinstance(operation, dict):
        return False
    members = cast("dict[str, object]", operation)
    return members.get("op") in {"test", "copy", "move"} and any(
        pointer in {"", "/config", "/config/password"} or pointer.startswith("/config/password/")
        for pointer in (members.get("path"), members.get("from"))
        if isinstance(pointer, str)
    )


@pytest.mark.timeout(300)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(patch=st.lists(guesses | exfiltrations | operations, min_size=1, max_size=4))
async def test_no_patch_reveals_the_stored_secret(
    fake: FakeLaunchDarkly, session: aiohttp.ClientSession, patch: list[Any]
) -> None:
    """Guesses at and copies of the password, among any operations: refused, never echoed."""
    client = FakeClient(fake, session)
    items = seed(fake)
    where = path("default", "production", "redis", items["redis"])

    answer = await client.send("PATCH", where, json_body=patch)
    after = await client.send("GET", where)

    assert answer.status in {200, 400, 409}
    if any(map(reads_or_writes_the_secret, patch)):
        assert answer.status == 400  # right guess or wrong: no oracle in the status either
    assert SECRET.encode() not in answer.body
    assert SECRET.encode() not in after.body
    assert SECRET not in repr(fake.requests)
    validate_exchanges(fake.requests)
