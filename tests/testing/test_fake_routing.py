"""Authentication, the beta header, routes and raw paths of the fake API."""

from __future__ import annotations

import re

import pytest

from ldstore.testing import FakeLaunchDarkly

from .fakeclient import BASE, FakeClient, path

ERROR_ID = re.compile(r"[0-9a-f-]{36}")


async def test_missing_token_is_unauthorized(client: FakeClient) -> None:
    """No Authorization header gives 401 with the JSON error shape."""
    answer = await client.send("GET", headers={"Authorization": None})

    assert answer.status == 401
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert body["code"] == "unauthorized"
    assert body["message"]
    assert ERROR_ID.fullmatch(body["id"])


@pytest.mark.parametrize("token", ["api-wrong", "Bearer api-fake-token", "API-FAKE-TOKEN"])
async def test_token_must_match_exactly(client: FakeClient, token: str) -> None:
    """A wrong token, or the right one with a Bearer prefix, is 401."""
    answer = await client.send("GET", headers={"Authorization": token})

    assert answer.status == 401
    assert answer.json()["code"] == "unauthorized"


@pytest.mark.parametrize("version", [None, "20240415", "Beta"])
async def test_beta_header_is_required(client: FakeClient, version: str | None) -> None:
    """Without LD-API-Version: beta the beta resource answers 403."""
    answer = await client.send("GET", headers={"LD-API-Version": version})

    assert answer.status == 403
    assert answer.json()["code"] == "forbidden"


async def test_bad_token_is_checked_before_beta_header(client: FakeClient) -> None:
    """With both wrong, the answer is 401, not 403."""
    answer = await client.send("GET", headers={"Authorization": "x", "LD-API-Version": None})

    assert answer.status == 401


async def test_unknown_path_is_not_found(client: FakeClient) -> None:
    """Paths outside the API, or with the wrong number of segments, give a JSON 404."""
    for raw_path in ("/api/v2/flags", BASE + "/", path("default"), path("a", "b", "c", "d", "e")):
        answer = await client.send("GET", raw_path)

        assert answer.status == 404, raw_path
        assert answer.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "raw_path", "allowed"),
    [
        ("POST", BASE, "GET, HEAD"),
        ("DELETE", BASE, "GET, HEAD"),
        ("GET", path("default", "production", "redis"), "POST"),
        ("PUT", path("default", "production", "redis", "x"), "GET, HEAD, PATCH, DELETE"),
    ],
)
async def test_wrong_method_is_not_allowed(
    client: FakeClient, method: str, raw_path: str, allowed: str
) -> None:
    """A known path with another method gives 405, with Allow and the JSON error shape."""
    answer = await client.send(method, raw_path)

    assert answer.status == 405
    assert answer.headers["Allow"] == allowed
    assert answer.json()["code"] == "method_not_allowed"


async def test_unknown_project_environment_or_store_is_not_found(
    client: FakeClient,
) -> None:
    """Create, get, patch and delete 404 on an unknown project, environment or store kind."""
    for keys in (
        ("nope", "production", "redis"),
        ("default", "nope", "redis"),
        ("default", "production", "kafka"),
    ):
        created = await client.create(keys[2], project_key=keys[0], environment_key=keys[1])
        fetched = await client.send("GET", path(*keys, "0" * 24))
        deleted = await client.send("DELETE", path(*keys, "0" * 24))
        patched = await client.send("PATCH", path(*keys, "0" * 24), json_body=[])

        assert [created.status, fetched.status, deleted.status, patched.status] == [404] * 4, keys
        assert created.json()["code"] == "not_found"


async def test_unknown_id_is_not_found(client: FakeClient) -> None:
    """An ID nobody created is 404."""
    answer = await client.send("GET", path("default", "production", "redis", "0" * 24))

    assert answer.status == 404
    assert answer.json()["code"] == "not_found"


async def test_id_under_another_scope_is_not_found(client: FakeClient) -> None:
    """An existing ID asked for under another environment or store kind is 404."""
    item = await client.created()

    other_env = await client.send("GET", path("default", "test", "redis", item["_id"]))
    other_store = await client.send("GET", path("default", "production", "dynamodb", item["_id"]))

    assert other_env.status == 404
    assert other_store.status == 404


async def test_added_environment_is_known(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """add_environment makes a new project and environment addressable."""
    fake.add_environment("mobile", "staging")

    answer = await client.create(project_key="mobile", environment_key="staging")

    assert answer.status == 201
    assert fake.environments == {"default": ["production", "test"], "mobile": ["staging"]}


@pytest.mark.parametrize(
    "key",
    ["a/b", "what?", "hash#tag", "100%", "with space", "ünïcödé", "plus+sign", ".", ".."],
)
async def test_encoded_keys_stay_one_segment(
    fake: FakeLaunchDarkly, client: FakeClient, key: str
) -> None:
    """Percent-encoded /, ?, #, %, space and non-ASCII in a key do not change the route."""
    fake.add_environment(key, key)

    created = await client.create(project_key=key, environment_key=key)
    item = created.json()
    fetched = await client.send("GET", path(key, key, "redis", item["_id"]))

    assert created.status == 201
    assert fetched.status == 200
    assert (item["projectKey"], item["environmentKey"]) == (key, key)
    assert fake.requests[0].path_params == {
        "projectKey": key,
        "environmentKey": key,
        "integrationKey": "redis",
    }
    assert fake.requests[0].raw_path == path(key, key, "redis")


async def test_links_are_percent_encoded(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """The self link of an integration with an odd key is the encoded path that reaches it."""
    fake.add_environment("a/b", "c d")
    created = await client.create(project_key="a/b", environment_key="c d")
    item = created.json()

    followed = await client.send("GET", item["_links"]["self"]["href"])

    assert followed.status == 200
    assert item["_links"]["project"]["href"] == "/api/v2/projects/a%2Fb"
    assert item["_links"]["environment"]["href"] == "/api/v2/projects/a%2Fb/environments/c%20d"


async def test_query_string_is_ignored(client: FakeClient) -> None:
    """A query string does not change the route."""
    answer = await client.send("GET", BASE + "?limit=5")

    assert answer.status == 200
