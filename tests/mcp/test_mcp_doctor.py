"""The doctor's two tools through mcp's in-process client: the fake API and a real redis-server."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import mcp
import pytest
from conftest import ServeFake
from doctor.support import (
    READER,
    READER_PASSWORD,
    Members,
    RedisServer,
    new_table,
    now_ms,
    seed_dynamodb,
    seed_redis,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp_support import (
    ENVIRONMENT,
    PROJECT,
    TOKEN,
    dumped,
    error_of,
    server_environment,
    stdio_session,
    structured,
    text,
)
from store_servers import AWS_ENVIRONMENT

from ldstore.cli import main
from ldstore.core import Core, RetryConfig
from ldstore.mcp import READ_ONLY_TOOLS, build_server
from ldstore.testing import FakeLaunchDarkly
from ldstore.text import secret_forms
from ldstore.watch import StoresFile, load_stores

DIAGNOSE = "diagnose_big_segment_store"
MEMBERSHIP = "check_big_segment_membership"
PASSWORD_ENV = "MCP_TEST_REDIS_PASSWORD"
SCOPE = {"project_key": PROJECT, "environment_key": ENVIRONMENT, "integration_key": "redis"}
BOUND = 30.0  # seconds for one call, far above what one takes (a closed port: milliseconds)


@pytest.fixture
def redis_store(redis_session: RedisServer, monkeypatch: pytest.MonkeyPatch) -> RedisServer:
    """The suite's redis-server, emptied; its reader's password in the server's environment."""
    _ = redis_session.admin.flushall()
    monkeypatch.setenv(PASSWORD_ENV, READER_PASSWORD)
    return redis_session


@pytest.fixture
async def fake(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A running fake with a long token, so redaction applies."""
    return await serve_fake(FakeLaunchDarkly(TOKEN))


def stores_file(tmp_path: Path, redis_store: RedisServer, **entry: str) -> StoresFile:
    """A stores file mapping the integration named 'Seeded' to the redis-server's reader."""
    fields = {
        "project": PROJECT,
        "environment": ENVIRONMENT,
        "kind": "redis",
        "name": "Seeded",
        "url": f"redis://{READER}@127.0.0.1:{redis_store.port}/0",
        "password_env": PASSWORD_ENV,
        **entry,
    }
    path = tmp_path / "stores.toml"
    body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in fields.items())
    _ = path.write_text(f"[[store]]\n{body}\n", encoding="utf-8")
    return load_stores(path).unwrap()


@asynccontextmanager
async def connected(
    fake: FakeLaunchDarkly, stores: StoresFile | None = None
) -> AsyncGenerator[mcp.Client, None]:
    """mcp's in-memory client on a server whose Core points at ``fake``."""
    core = Core(fake.token, server_url=fake.url, retry_config=RetryConfig.none())
    server = build_server(core, stores=stores)
    async with mcp.Client(server) as client:
        yield client


async def call(client: mcp.Client, name: str, arguments: dict[str, Any]) -> Any:
    """Call a tool within BOUND seconds; neither secret is anywhere in what came back."""
    result = await asyncio.wait_for(client.call_tool(name, arguments), BOUND)
    assert TOKEN not in dumped(result)
    assert READER_PASSWORD not in dumped(result)
    return result


def seed(fake: FakeLaunchDarkly) -> str:
    """Plant the Redis integration the stores file maps ('Seeded'); its ID."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Seeded", config={"host": "127.0.0.1"}, on=True
    )
    return str(stored["_id"])


def moving(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with what moves between two reads (the age, timings) made constant."""
    steady = [
        {**check, "detail": re.sub(r"[0-9]+(\.[0-9]+)?", "N", check["detail"])}
        for check in document["checks"]
    ]
    return {**document, "age_seconds": None, "checks": steady}


def untouched(redis_store: RedisServer) -> bool:
    """No command reached the redis-server since the test reset its statistics."""
    return set(redis_store.admin.info("commandstats")) <= {"cmdstat_config|resetstat"}


def checks(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {check["name"]: check for check in document["checks"]}


# diagnose_big_segment_store


async def test_diagnose_gives_the_doctors_json(
    redis_store: RedisServer, fake: FakeLaunchDarkly, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store by URL, with the project and environment: the very document `ldstore doctor
    --output json` prints (but the age, which moves), the prefix checked."""
    prefix = fake.client_side_id(PROJECT, ENVIRONMENT)
    seed_redis(
        redis_store.admin,
        prefix=prefix,
        synchronized_on=now_ms(),
        members={"alice": (["beta.g1"], [])},
    )
    arguments = {**SCOPE, "url": redis_store.url, "context_keys": ["alice"]}

    async with connected(fake) as client:
        result = await call(client, DIAGNOSE, arguments)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LD_ACCESS_TOKEN", fake.token)
        patch.setenv("LD_BASE_URI", fake.url)
        flags = ["--project", PROJECT, "--environment", ENVIRONMENT, "--context-key", "alice"]
        _ = capsys.readouterr()
        code = await asyncio.to_thread(
            main, ["doctor", "redis", "--url", redis_store.url, *flags, "-o", "json"]
        )
    printed = json.loads(capsys.readouterr().out)

    document = structured(result)
    assert code == 0
    assert moving(document) == moving(printed)
    assert document["healthy"] is True
    assert checks(document)["prefix"]["status"] == "ok"
    assert document["memberships"] == {"alice": {"beta.g1": True}}
    assert text(result).startswith(f"redis store {redis_store.url}, prefix {prefix!r}: healthy")


async def test_an_unhealthy_store_is_a_finding_not_an_error(
    redis_store: RedisServer, fake: FakeLaunchDarkly
) -> None:
    """No metadata under the prefix: a success whose JSON says unhealthy and why."""
    async with connected(fake) as client:
        result = await call(client, DIAGNOSE, {**SCOPE, "url": redis_store.url, "prefix": "p"})

    document = structured(result)
    assert document["healthy"] is False
    assert checks(document)["metadata"]["status"] == "failure"
    assert "unhealthy" in text(result)


@pytest.mark.parametrize(
    "url",
    [
        f"redis://{READER}:{READER_PASSWORD}@127.0.0.1:6379/0",
        f"redis://:{READER_PASSWORD}@127.0.0.1:6379/0",
        f"redis://127.0.0.1:6379/0?password={READER_PASSWORD}",
        f"unix:///tmp/redis.sock?Password={READER_PASSWORD}",
    ],
)
@pytest.mark.parametrize("tool", [DIAGNOSE, MEMBERSHIP])
async def test_a_url_with_a_password_is_refused_naming_the_rule(
    fake: FakeLaunchDarkly, tool: str, url: str
) -> None:
    """A password in url is refused before anything is read, naming the rule and not the
    password: no request reaches the API (and so no store is read either)."""
    arguments = {**SCOPE, "url": url}
    if tool == MEMBERSHIP:
        arguments |= {"segment_key": "beta", "context_key": "alice"}

    async with connected(fake) as client:
        result = await call(client, tool, arguments)

    error = error_of(result)
    assert (error["kind"], error["field"]) == ("InputValidationError", "url")
    assert "secrets come only from the server's environment" in error["message"]
    assert "--stores" in error["message"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("arguments", "field", "words"),
    [
        ({}, "url", "give url"),
        ({"table": "t"}, "table", "a redis store takes url"),
        (
            {"integration_key": "dynamodb", "url": "redis://h/0"},
            "url",
            "a dynamodb store takes table",
        ),
        ({"integration_key": "dynamodb", "region": "us-east-1"}, "table", "named by its table"),
        ({"url": "redis://h:port/0"}, "url", "not a valid URL"),
    ],
)
async def test_a_store_named_wrongly_is_refused_before_reading(
    fake: FakeLaunchDarkly, arguments: dict[str, str], field: str, words: str
) -> None:
    """No store, the other kind's settings, a broken URL: InputValidationError naming the
    field; no request reaches the API."""
    async with connected(fake) as client:
        result = await call(client, DIAGNOSE, {"integration_key": "redis", **arguments})

    error = error_of(result)
    assert (error["kind"], error["field"]) == ("InputValidationError", field)
    assert words in error["message"]
    assert fake.requests == []


async def test_an_unreachable_store_is_an_error(fake: FakeLaunchDarkly) -> None:
    """Nothing listening: isError StoreUnreachableError, within the call's bound."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens

    async with connected(fake) as client:
        result = await call(
            client, DIAGNOSE, {"integration_key": "redis", "url": f"redis://127.0.0.1:{port}/0"}
        )

    assert error_of(result)["kind"] == "StoreUnreachableError"


async def test_the_stores_file_gives_the_store_and_its_password(
    redis_store: RedisServer, fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """Only integration_id: the stores file's entry for it, read with the password from the
    environment (the reader's ACL user needs it), and LaunchDarkly's status compared."""
    integration_id = seed(fake)
    prefix = fake.client_side_id(PROJECT, ENVIRONMENT)
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms())

    async with connected(fake, stores_file(tmp_path, redis_store)) as client:
        result = await call(client, DIAGNOSE, {**SCOPE, "integration_id": integration_id})

    document = structured(result)
    assert document["prefix"] == prefix
    assert checks(document)["reachable"]["status"] == "ok"
    assert "api status" in checks(document)
    assert f"redis://{READER}@127.0.0.1:{redis_store.port}/0" in text(result)


async def test_a_password_in_store_data_is_masked_in_every_result(
    redis_store: RedisServer, fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """The password from the environment, written into the store as a prefix: every
    result (JSON and text) shows it masked, never raw, percent-encoded or base64."""
    integration_id = seed(fake)
    seed_redis(redis_store.admin, prefix=READER_PASSWORD, synchronized_on=now_ms())
    stores = stores_file(tmp_path, redis_store)

    async with connected(fake, stores) as client:
        found = await call(client, DIAGNOSE, {**SCOPE, "integration_id": integration_id})
        given = await call(
            client, DIAGNOSE, {**SCOPE, "integration_id": integration_id, "prefix": READER_PASSWORD}
        )

    assert "[REDACTED]" in json.dumps(structured(found)["checks"])
    assert structured(given)["prefix"] == "[REDACTED]"


async def test_a_wrong_password_is_an_error_without_it(
    redis_store: RedisServer,
    fake: FakeLaunchDarkly,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis refuses the credentials: StoreUnreachableError, the password nowhere."""
    integration_id = seed(fake)
    monkeypatch.setenv(PASSWORD_ENV, f"{READER_PASSWORD}-wrong")

    async with connected(fake, stores_file(tmp_path, redis_store)) as client:
        result = await call(client, DIAGNOSE, {**SCOPE, "integration_id": integration_id})

    assert error_of(result)["kind"] == "StoreUnreachableError"
    assert f"{READER_PASSWORD}-wrong" not in dumped(result)


async def test_an_unset_password_variable_is_named(
    redis_store: RedisServer,
    fake: FakeLaunchDarkly,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The variable the entry names is unset at call time: an error naming it; no store read."""
    integration_id = seed(fake)
    stores = stores_file(tmp_path, redis_store)
    monkeypatch.delenv(PASSWORD_ENV)
    _ = redis_store.admin.config_resetstat()

    async with connected(fake, stores) as client:
        result = await call(client, DIAGNOSE, {**SCOPE, "integration_id": integration_id})

    error = error_of(result)
    assert (error["kind"], error["field"]) == ("InputValidationError", "password_env")
    assert PASSWORD_ENV in error["message"]
    assert untouched(redis_store)


async def test_an_integration_the_stores_file_does_not_map_is_named(
    redis_store: RedisServer, fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """An integration with no [[store]]: an error naming it and the file."""
    other = fake.seed_integration(PROJECT, ENVIRONMENT, "redis", name="Other", config={"host": "h"})

    async with connected(fake, stores_file(tmp_path, redis_store)) as client:
        result = await call(client, DIAGNOSE, {**SCOPE, "integration_id": other["_id"]})
        unnamed = await call(client, DIAGNOSE, {"integration_key": "redis"})
        halfway = await call(client, DIAGNOSE, {"integration_key": "redis", "integration_id": "x"})

    error = error_of(result)
    assert error["field"] == "integration_id"
    assert "has no [[store]]" in error["message"]
    assert "'Other'" in error["message"]
    assert "name the integration" in error_of(unnamed)["message"]
    assert "needs project_key and environment_key" in error_of(halfway)["message"]


async def test_an_unknown_integration_is_a_404(fake: FakeLaunchDarkly) -> None:
    """integration_id the API does not know: NotFoundError, as from the get tool."""
    async with connected(fake) as client:
        result = await call(client, DIAGNOSE, {**SCOPE, "integration_id": "nope"})

    assert error_of(result)["status"] == 404


async def test_the_prefix_check_fails_when_the_api_does_not_answer(
    redis_store: RedisServer, serve_fake: ServeFake
) -> None:
    """A wrong token: the client-side ID is unknown; one failed prefix line, the store read."""
    fake = await serve_fake(FakeLaunchDarkly(TOKEN))
    seed_redis(redis_store.admin, synchronized_on=now_ms())
    core = Core("api-wrong-token-000000", server_url=fake.url, retry_config=RetryConfig.none())

    async with mcp.Client(build_server(core)) as client:
        result = await call(client, DIAGNOSE, {**SCOPE, "url": redis_store.url})

    prefix = checks(structured(result))["prefix"]
    assert prefix["status"] == "failure"
    assert "UnauthorizedError" in prefix["detail"]
    assert checks(structured(result))["metadata"]["status"] == "ok"


# check_big_segment_membership

CASES: list[tuple[str, Members, bool, str]] = [
    ("alice", {"alice": (["beta.g1"], [])}, True, "agree: included"),
    ("bob", {"bob": ([], ["beta.g1"])}, True, "agree: excluded"),
    ("alice", {}, False, "missing include"),
    ("alice", {"alice": (["beta.g0"], [])}, False, "stale generation"),
    ("bob", {"bob": (["beta.g1"], [])}, False, "include where the API says excluded"),
]


@pytest.mark.parametrize(("context", "members", "agrees", "words"), CASES)
async def test_membership_is_the_api_against_the_store(  # noqa: PLR0913, PLR0917 - fixtures and the case
    redis_store: RedisServer,
    fake: FakeLaunchDarkly,
    context: str,
    members: Members,
    agrees: bool,  # noqa: FBT001 - a parameter of the case
    words: str,
) -> None:
    """The API's answer (getSegment, membership) against the store's sets: agreement, or the
    doctor's named fault, with both sides and the diagnosis in the JSON."""
    _ = fake.add_big_segment(PROJECT, ENVIRONMENT, "beta", included=["alice"], excluded=["bob"])
    prefix = fake.client_side_id(PROJECT, ENVIRONMENT)
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms(), members=members)
    arguments = {**SCOPE, "segment_key": "beta", "context_key": context, "url": redis_store.url}

    async with connected(fake) as client:
        result = await call(client, MEMBERSHIP, arguments)

    document = structured(result)
    assert document["agrees"] is agrees
    assert words in document["detail"]
    assert document["ref"] == "beta.g1"
    assert document["api"] == {"included": context == "alice", "excluded": context == "bob"}
    assert document["diagnosis"]["prefix"] == prefix
    assert text(result).startswith(f"beta:{context}: {'' if agrees else 'DISAGREE: '}")


async def test_membership_through_the_stores_file(
    redis_store: RedisServer, fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """The store from the stores file (password from the environment), status compared."""
    integration_id = seed(fake)
    _ = fake.add_big_segment(PROJECT, ENVIRONMENT, "beta", included=["alice"])
    prefix = fake.client_side_id(PROJECT, ENVIRONMENT)
    seed_redis(
        redis_store.admin,
        prefix=prefix,
        synchronized_on=now_ms(),
        members={"alice": (["beta.g1"], [])},
    )
    arguments = {
        **SCOPE,
        "integration_id": integration_id,
        "segment_key": "beta",
        "context_key": "alice",
    }

    async with connected(fake, stores_file(tmp_path, redis_store)) as client:
        result = await call(client, MEMBERSHIP, arguments)

    document = structured(result)
    assert document["agrees"] is True
    assert document["store"] == {"included": True, "excluded": False, "refs": ["beta.g1"]}
    assert "api status" in checks(document["diagnosis"])


async def test_membership_of_an_unknown_or_standard_segment_is_an_error(
    redis_store: RedisServer, fake: FakeLaunchDarkly
) -> None:
    """An unknown segment is the API's 404; a standard segment is refused by name: no store
    holds its members. The store is not read for either."""
    async with aiohttp.ClientSession() as http:
        created = await http.post(
            f"{fake.url}/api/v2/segments/{PROJECT}/{ENVIRONMENT}",
            json={"key": "standard", "name": "Standard"},
            headers={"Authorization": fake.token},
        )
        assert created.status == 201
    _ = redis_store.admin.config_resetstat()
    arguments = {**SCOPE, "context_key": "alice", "url": redis_store.url}

    async with connected(fake) as client:
        unknown = await call(client, MEMBERSHIP, {**arguments, "segment_key": "nope"})
        standard = await call(client, MEMBERSHIP, {**arguments, "segment_key": "standard"})

    assert error_of(unknown)["kind"] == "NotFoundError"
    error = error_of(standard)
    assert (error["kind"], error["field"]) == ("InputValidationError", "segment_key")
    assert "standard segment" in error["message"]
    assert untouched(redis_store)


async def test_membership_when_the_api_or_the_store_does_not_answer(
    serve_fake: ServeFake,
) -> None:
    """A wrong token (the environment's 401) and a store where nothing listens: each is the
    call's error, never a verdict on the membership."""
    fake = await serve_fake(FakeLaunchDarkly(TOKEN))
    _ = fake.add_big_segment(PROJECT, ENVIRONMENT, "beta", included=["alice"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens
    arguments = {
        **SCOPE,
        "segment_key": "beta",
        "context_key": "alice",
        "url": f"redis://127.0.0.1:{port}/0",
    }
    wrong = Core("api-wrong-token-000000", server_url=fake.url, retry_config=RetryConfig.none())

    async with mcp.Client(build_server(wrong)) as client:
        unauthorized = await call(client, MEMBERSHIP, arguments)
    async with connected(fake) as client:
        unreachable = await call(client, MEMBERSHIP, arguments)

    assert error_of(unauthorized)["kind"] == "UnauthorizedError"
    assert error_of(unreachable)["kind"] == "StoreUnreachableError"


def test_both_tools_are_read_only() -> None:
    """--read-only keeps them: annotated read-only (no confirmation, nothing written)."""
    assert {DIAGNOSE, MEMBERSHIP} <= set(READ_ONLY_TOOLS)


# Over stdio, as agents run it.


async def test_both_tools_over_stdio_with_a_stores_file(
    redis_store: RedisServer, fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """`ldstore mcp --read-only --stores FILE`: both tools served, the store found by
    integration ID and read with the password from the server's environment, which appears
    in no result and not on the server's stderr."""
    integration_id = seed(fake)
    _ = fake.add_big_segment(PROJECT, ENVIRONMENT, "beta", included=["alice"])
    prefix = fake.client_side_id(PROJECT, ENVIRONMENT)
    members: Members = {"alice": (["beta.g1"], [])}
    seed_redis(redis_store.admin, prefix=prefix, synchronized_on=now_ms(), members=members)
    stores = stores_file(tmp_path, redis_store)
    environment = server_environment(fake, **{PASSWORD_ENV: READER_PASSWORD})
    by_id = {**SCOPE, "integration_id": integration_id}
    errlog = tmp_path / "stderr.log"

    with errlog.open("w+", encoding="utf-8") as log:
        opening = stdio_session("--read-only", "--stores", stores.path, env=environment, errlog=log)
        async with opening as session:
            tools = [tool.name for tool in (await session.list_tools()).tools]
            diagnosed = await session.call_tool(DIAGNOSE, by_id)
            member = await session.call_tool(
                MEMBERSHIP, {**by_id, "segment_key": "beta", "context_key": "alice"}
            )
            refused = await session.call_tool(
                DIAGNOSE, {**SCOPE, "url": f"redis://:{READER_PASSWORD}@127.0.0.1/0"}
            )
        _ = log.seek(0)
        stderr = log.read()

    assert DIAGNOSE in tools
    assert MEMBERSHIP in tools
    assert "delete_big_segment_store_integration" not in tools
    assert structured(diagnosed)["healthy"] is True
    assert structured(member)["agrees"] is True
    assert error_of(refused)["field"] == "url"
    for result in (diagnosed, member, refused):
        assert READER_PASSWORD not in dumped(result)
        assert TOKEN not in dumped(result)
    assert READER_PASSWORD not in stderr


# DynamoDB, on moto's server.


async def test_a_dynamodb_store_by_table_and_from_the_stores_file(
    moto_endpoint: str, dynamodb: Any, fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A table named in the arguments is diagnosed; an integration the stores file maps to
    a table (by ID) has its membership checked there."""
    endpoint, client = moto_endpoint, dynamodb
    table = new_table(client)
    prefix = fake.client_side_id(PROJECT, ENVIRONMENT)
    members: Members = {"alice": (["beta.g1"], [])}
    seed_dynamodb(client, table, prefix=prefix, synchronized_on=now_ms(), members=members)
    _ = fake.add_big_segment(PROJECT, ENVIRONMENT, "beta", included=["alice"])
    stored = fake.seed_integration(
        PROJECT,
        ENVIRONMENT,
        "dynamodb",
        name="Tables",
        config={
            "tableName": table,
            "region": "us-east-1",
            "roleArn": "arn:aws:iam::1:role/r",
            "externalId": "e",
        },
    )
    path = tmp_path / "stores.toml"
    entry = {
        "project": PROJECT,
        "environment": ENVIRONMENT,
        "kind": "dynamodb",
        "id": stored["_id"],
        "table": table,
        "region": "us-east-1",
        "endpoint_url": endpoint,
    }
    _ = path.write_text(
        "[[store]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in entry.items()),
        encoding="utf-8",
    )
    scope = {**SCOPE, "integration_key": "dynamodb"}
    by_table = {**scope, "table": table, "region": "us-east-1", "endpoint_url": endpoint}

    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        async with connected(fake, load_stores(path).unwrap()) as client_:
            diagnosed = await call(client_, DIAGNOSE, by_table)
            member = await call(
                client_,
                MEMBERSHIP,
                {
                    **scope,
                    "integration_id": stored["_id"],
                    "segment_key": "beta",
                    "context_key": "alice",
                },
            )

    assert structured(diagnosed)["healthy"] is True
    assert structured(diagnosed)["store"] == "dynamodb"
    assert text(diagnosed).startswith(f"dynamodb store table {table!r}")
    assert structured(member)["agrees"] is True
    assert "api status" in checks(structured(member)["diagnosis"])


# Any password, however spelt, in any place a URL can carry one.

_PASSWORDS = st.text(min_size=3, max_size=40).filter(lambda text: text.strip() == text)


_BASELINE_PASSWORD = "baseline-pw-4d2c"


@settings(max_examples=60, deadline=None)
@given(password=_PASSWORDS, where=st.sampled_from(["userinfo", "bare", "query"]))
def test_any_password_in_url_is_refused_and_never_echoed(password: str, where: str) -> None:
    """Whatever the password (percent-encoded as a URL must carry it), wherever it sits:
    InputValidationError on url, and a result that does not depend on the password at all
    (the same as for another one, which shows in no spelling). Nothing is sent: the Core
    points at a port where nothing listens."""

    def url(secret: str) -> str:
        encoded = quote(secret, safe="")
        return {
            "userinfo": f"redis://reader:{encoded}@127.0.0.1:6379/0",
            "bare": f"redis://:{encoded}@127.0.0.1:6379/0",
            "query": f"redis://127.0.0.1:6379/0?password={encoded}",
        }[where]

    async def refused(secret: str) -> str:
        core = Core(TOKEN, server_url="http://127.0.0.1:9", retry_config=RetryConfig.none())
        async with mcp.Client(build_server(core)) as client:
            result = await call(client, DIAGNOSE, {"integration_key": "redis", "url": url(secret)})
        assert error_of(result)["field"] == "url"
        return dumped(result)

    shown = asyncio.run(asyncio.wait_for(refused(password), BOUND))
    baseline = asyncio.run(asyncio.wait_for(refused(_BASELINE_PASSWORD), BOUND))

    assert shown == baseline
    assert not any(form in baseline for form in secret_forms(_BASELINE_PASSWORD))
