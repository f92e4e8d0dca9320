"""Issue 22: the fake serves the environment and segment routes as LaunchDarkly documents them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from contract import validate_exchanges
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldstore.testing import FakeLaunchDarkly, RateLimit, openapi_document

from .fakeclient import FakeClient

SEGMENTS = "/api/v2/segments/default/production"
NO_BETA: dict[str, str | None] = {"LD-API-Version": None}


def env_path(project: str = "default", environment: str = "production") -> str:
    return f"/api/v2/projects/{quote(project, safe='')}/environments/{quote(environment, safe='')}"


def segment_path(key: str, *rest: str) -> str:
    return "/".join((SEGMENTS, quote(key, safe=""), *(quote(part, safe="") for part in rest)))


async def create(client: FakeClient, key: str = "vip", **fields: Any) -> dict[str, Any]:
    """POST a big segment (unless fields say otherwise), which must answer 201."""
    body = {"key": key, "name": key.upper() or "x", "unbounded": True, **fields}
    answer = await client.send("POST", SEGMENTS, json_body=body, headers=NO_BETA)
    assert answer.status == 201, answer.body
    created: dict[str, Any] = answer.json()
    return created


async def targets(client: FakeClient, key: str, body: object, twin: str = "contexts") -> int:
    answer = await client.send("POST", segment_path(key, twin), json_body=body, headers=NO_BETA)
    return answer.status


async def membership(client: FakeClient, key: str, context_key: str) -> dict[str, Any]:
    answer = await client.send("GET", segment_path(key, "contexts", context_key), headers=NO_BETA)
    assert answer.status == 200, answer.body
    found: dict[str, Any] = answer.json()
    return found


async def test_environment_id_is_a_stable_client_side_id(
    client: FakeClient, session: aiohttp.ClientSession
) -> None:
    """`_id` is 24 hex digits, the same in another fake, different for another environment."""
    answer = await client.send("GET", env_path(), headers=NO_BETA)
    other = await client.send("GET", env_path("default", "test"), headers=NO_BETA)
    async with FakeLaunchDarkly(token="other") as second:
        again = await FakeClient(second, session).send("GET", env_path(), headers=NO_BETA)

    environment = answer.json()
    assert answer.status == 200
    assert re.fullmatch("[0-9a-f]{24}", environment["_id"])
    assert (
        environment["_id"]
        == again.json()["_id"]
        == client.fake.client_side_id("default", "production")
    )
    assert other.json()["_id"] != environment["_id"]
    assert environment["key"] == "production"
    assert "fake" in environment["apiKey"]
    assert "fake" in environment["mobileKey"]


async def test_unknown_project_or_environment_is_not_found(client: FakeClient) -> None:
    """Every new route answers the documented 404 JSON for keys the fake does not know."""
    paths = [
        ("GET", env_path("nope", "production")),
        ("GET", env_path("default", "nope")),
        ("POST", "/api/v2/segments/nope/production"),
        ("GET", "/api/v2/segments/default/nope/vip"),
        ("GET", segment_path("no-such-segment")),
        ("DELETE", segment_path("no-such-segment")),
        ("POST", segment_path("no-such-segment", "contexts")),
        ("GET", segment_path("no-such-segment", "contexts", "a")),
    ]

    for method, where in paths:
        answer = await client.send(method, where, json_body={"key": "k", "name": "n"})

        assert answer.status == 404, where
        assert answer.json()["code"] == "not_found"


async def test_token_is_checked_first_on_every_new_route(client: FakeClient) -> None:
    """Without the token: 401, even where the keys are unknown or the body is broken."""
    for method, where in [
        ("GET", env_path("nope", "x")),
        ("POST", SEGMENTS),
        ("GET", segment_path("vip")),
        ("DELETE", segment_path("vip")),
        ("POST", segment_path("vip", "users")),
        ("GET", segment_path("vip", "contexts", "")),
    ]:
        answer = await client.send(
            method, where, data=b"{", headers={"Authorization": None, "LD-API-Version": None}
        )

        assert answer.status == 401, where
        assert answer.json()["code"] == "unauthorized"


async def test_a_big_segment_is_created_at_generation_one(client: FakeClient) -> None:
    """POST with unbounded: true answers 201 with generation 1 and the default context kind."""
    created = await create(client)
    answer = await client.send("GET", segment_path("vip"), headers=NO_BETA)

    assert created["unbounded"] is True
    assert created["generation"] == 1
    assert created["unboundedContextKind"] == "user"
    assert created["_links"]["self"]["href"] == segment_path("vip")
    assert answer.status == 200
    assert answer.json() == created


async def test_a_re_created_segment_gets_the_next_generation_and_starts_empty(
    client: FakeClient,
) -> None:
    """DELETE answers 204; the same key created again is generation 2 with no members."""
    _ = await create(client, unboundedContextKind="account")
    assert await targets(client, "vip", {"included": {"add": ["alice"]}}) == 204

    deleted = await client.send("DELETE", segment_path("vip"), headers=NO_BETA)
    gone = await client.send("GET", segment_path("vip"), headers=NO_BETA)
    again = await create(client)

    assert deleted.status == 204
    assert gone.status == 404
    assert again["generation"] == 2
    assert again["unboundedContextKind"] == "user"
    assert await membership(client, "vip", "alice") == {
        "userKey": "alice",
        "included": False,
        "excluded": False,
    }


@pytest.mark.parametrize("twin", ["contexts", "users"])
async def test_targets_update_changes_membership(client: FakeClient, twin: str) -> None:
    """Both twins take add/remove lists (removals first) and answer 204; membership follows."""
    _ = await create(client)
    first = {"included": {"add": ["a", "b", "c"]}, "excluded": {"add": ["x", "a"]}}
    second = {"included": {"remove": ["b"], "add": ["d"]}, "excluded": {"remove": ["x"]}}

    assert await targets(client, "vip", first, twin) == 204
    assert await targets(client, "vip", second, twin) == 204

    assert await membership(client, "vip", "a") == {
        "userKey": "a",
        "included": True,
        "excluded": True,
    }
    assert (await membership(client, "vip", "b"))["included"] is False
    assert (await membership(client, "vip", "d"))["included"] is True
    assert (await membership(client, "vip", "x"))["excluded"] is False
    assert await membership(client, "vip", "nobody") == {
        "userKey": "nobody",
        "included": False,
        "excluded": False,
    }


async def test_standard_segments_have_no_context_targets(client: FakeClient) -> None:
    """A standard segment (unbounded false) answers 400 to a targets update and a membership read."""
    created = await create(client, "plain", unbounded=False)

    update = await targets(client, "plain", {"included": {"add": ["a"]}})
    read = await client.send("GET", segment_path("plain", "contexts", "a"), headers=NO_BETA)

    assert created["included"] == []
    assert "unboundedContextKind" not in created
    assert update == 400
    assert read.status == 400
    assert read.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        {"included": {"add": ["ok", ""]}},
        {"included": {"add": "a"}},
        {"excluded": {"remove": [1]}},
        {"included": ["a"]},
        ["a"],
    ],
)
async def test_bad_targets_are_refused_and_change_nothing(client: FakeClient, body: object) -> None:
    """Empty or non-string keys and wrong shapes: 400, and no member is added or removed."""
    _ = await create(client)
    assert await targets(client, "vip", {"included": {"add": ["kept"]}}) == 204

    status = await targets(client, "vip", body)

    assert status == 400
    assert (await membership(client, "vip", "kept"))["included"] is True
    assert (await membership(client, "vip", "ok"))["included"] is False


async def test_an_empty_context_key_is_refused(client: FakeClient) -> None:
    """GET .../contexts/ (an empty key) is a 400, not a 404 or a listing."""
    _ = await create(client)

    answer = await client.send("GET", segment_path("vip", "contexts", ""), headers=NO_BETA)

    assert answer.status == 400
    assert answer.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "no key"},
        {"key": "", "name": "n"},
        {"key": "k"},
        {"key": "k", "name": "n", "unbounded": "yes"},
        {"key": "k", "name": "n", "tags": "t"},
        {"key": "k", "name": "n", "unbounded": True, "unboundedContextKind": ""},
    ],
)
async def test_invalid_segment_bodies_are_refused(client: FakeClient, body: object) -> None:
    """A SegmentBody without key or name, or of the wrong types: 400 and nothing created."""
    answer = await client.send("POST", SEGMENTS, json_body=body, headers=NO_BETA)
    after = await client.send("GET", segment_path("k"), headers=NO_BETA)

    assert answer.status == 400
    assert after.status == 404


async def test_a_taken_key_is_refused(client: FakeClient) -> None:
    """Creating a key that exists is a 400 (the API's own example) and keeps the first one."""
    first = await create(client)

    answer = await client.send(
        "POST", SEGMENTS, json_body={"key": "vip", "name": "other"}, headers=NO_BETA
    )

    assert answer.status == 400
    assert (await client.send("GET", segment_path("vip"))).json() == first


@pytest.mark.timeout(120)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(keys=st.lists(st.text(st.characters(exclude_categories=["Cs"]), min_size=1), min_size=1))
async def test_any_unicode_context_key_round_trips(
    fake: FakeLaunchDarkly, session: aiohttp.ClientSession, keys: list[str]
) -> None:
    """Any non-empty Unicode key (/, %, ?, controls, ...) added is a member when read back."""
    fake.reset()
    client = FakeClient(fake, session)
    _ = await create(client)

    assert await targets(client, "vip", {"included": {"add": keys}}) == 204

    for key in keys:
        assert await membership(client, "vip", key) == {
            "userKey": key,
            "included": True,
            "excluded": False,
        }
    validate_exchanges(fake.requests)


def test_python_helpers_seed_as_the_api_does() -> None:
    """add_big_segment/update_big_segment/delete_segment follow the API's generation rules."""
    fake = FakeLaunchDarkly()

    created = fake.add_big_segment("mobile", "staging", "beta", included=["a"], excluded=["b"])
    fake.update_big_segment("mobile", "staging", "beta", include=["c"], uninclude=["a"])
    fake.delete_segment("mobile", "staging", "beta")
    again = fake.add_big_segment("mobile", "staging", "beta", context_kind="org")

    assert created["generation"] == 1
    assert again["generation"] == 2
    assert again["unboundedContextKind"] == "org"
    assert fake.environments["mobile"] == ["staging"]
    with pytest.raises(ValueError, match="exists"):
        _ = fake.add_big_segment("mobile", "staging", "beta")
    with pytest.raises(KeyError):
        fake.delete_segment("mobile", "staging", "nope")
    with pytest.raises(KeyError):
        fake.update_big_segment("mobile", "staging", "nope", include=["a"])
    assert fake.get_segment("mobile", "staging", "nope") is None


def test_the_segments_subset_ships_with_its_source() -> None:
    """openapi_document("segments") has the seven operations and says where it was copied from."""
    document = openapi_document("segments")

    operation_ids = {
        operation["operationId"]
        for path_item in document["paths"].values()
        for operation in path_item.values()
    }
    assert operation_ids == {
        "getEnvironment",
        "postSegment",
        "getSegment",
        "deleteSegment",
        "updateBigSegmentContextTargets",
        "updateBigSegmentTargets",
        "getSegmentMembershipForContext",
    }
    assert "api-client-go" in document["info"]["description"]
    with pytest.raises(ValueError, match="subset"):
        _ = openapi_document("flags")  # type: ignore[arg-type]  # a wrong value on purpose


async def test_new_routes_share_the_rate_limits(session: aiohttp.ClientSession) -> None:
    """The account-wide limit counts the new routes too: headers on every answer, then a 429."""
    async with FakeLaunchDarkly(rate_limit=RateLimit(2, 10.0)) as fake:
        client = FakeClient(fake, session)
        answers = [await client.send("GET", env_path(), headers=NO_BETA) for _ in range(3)]

    assert [answer.status for answer in answers] == [200, 200, 429]
    assert answers[0].headers["X-Ratelimit-Global-Remaining"] == "1"
    assert answers[2].json()["code"] == "rate_limited"
    assert "Retry-After" not in answers[2].headers
    assert "X-Ratelimit-Reset" in answers[2].headers
