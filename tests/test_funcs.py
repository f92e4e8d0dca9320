"""The five operations over real HTTP against the fake: wire shape and every status."""

import json

import pytest
from sdk import (
    ENVIRONMENT,
    PROJECT,
    core_for,
    create_request,
    delete_request,
    get_request,
    patch_request,
    seed,
)

from ldstore import Err, Ok, RequestOptions
from ldstore.errors import (
    ForbiddenError,
    InputValidationError,
    InvalidRequestError,
    NotFoundError,
    StatusConflictError,
    UnauthorizedError,
)
from ldstore.funcs import (
    create_big_segment_store_integration,
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.models import IntegrationKey, RedisConfig
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchWithComment, add_tag, if_version, replace_name, set_on
from ldstore.testing import MASKED_SECRET, FakeLaunchDarkly

BASE = "/api/v2/integration-capabilities/big-segment-store"


async def test_list_returns_summaries_without_config(fake: FakeLaunchDarkly) -> None:
    """The list call decodes every item; list items carry no config."""
    _ = seed(fake, "one")
    _ = seed(fake, "two", on=True, tags=["x"])

    async with core_for(fake) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    assert sorted(item.name for item in result.value.items) == ["one", "two"]
    assert all(item.config is None for item in result.value.items)
    assert fake.requests[-1].method == "GET"
    assert fake.requests[-1].raw_path == BASE


async def test_create_sends_the_typed_config_and_returns_201(fake: FakeLaunchDarkly) -> None:
    """A create posts the documented body and decodes the 201 answer, secret masked."""
    async with core_for(fake) as core:
        result = await create_big_segment_store_integration(core, create_request(on=True))

    assert isinstance(result, Ok)
    created = result.value
    assert created.integration_key is IntegrationKey.REDIS
    assert (created.project_key, created.environment_key, created.name) == (
        PROJECT,
        ENVIRONMENT,
        "Prod store",
    )
    assert created.config is not None
    assert created.config["password"] == MASKED_SECRET
    sent = fake.requests[-1]
    assert (sent.method, sent.raw_path, sent.status) == (
        "POST",
        f"{BASE}/default/production/redis",
        201,
    )
    assert json.loads(sent.raw_body) == {  # the log masks the password; the wire has it
        "config": {
            "host": "redis.internal",
            "port": "6379",
            "password": "hunter2",
            "tlsEnabled": False,
        },
        "on": True,
        "tags": ["team-a"],
        "name": "Prod store",
    }


async def test_every_call_sends_the_documented_headers(fake: FakeLaunchDarkly) -> None:
    """Authorization (raw, masked in the log), beta version, Accept, JSON content type, User-Agent."""
    async with core_for(fake) as core:
        created = await create_big_segment_store_integration(core, create_request())
        listed = await get_big_segment_store_integrations(core)

    assert created.ok
    assert listed.ok
    post, get = fake.requests[-2], fake.requests[-1]
    for sent in (post, get):
        assert sent.headers["Authorization"] == MASKED_SECRET  # present, and the fake matched it
        assert sent.headers["LD-API-Version"] == "beta"
        assert sent.headers["Accept"] == "application/json"
        assert sent.headers["User-Agent"].startswith("ldstore/0.1.0 ")
    assert post.headers["Content-Type"] == "application/json"
    assert "Content-Type" not in get.headers


async def test_get_by_id_includes_the_config(fake: FakeLaunchDarkly) -> None:
    """A get by ID returns the detailed representation with config."""
    integration_id = seed(fake)

    async with core_for(fake) as core:
        result = await get_big_segment_store_integration(core, get_request(integration_id))

    assert isinstance(result, Ok)
    assert result.value.id == integration_id
    assert result.value.config == {"host": "redis.internal"}
    assert result.value.links.self_.href == f"{BASE}/default/production/redis/{integration_id}"


async def test_patch_with_comment_and_version_guard_updates(fake: FakeLaunchDarkly) -> None:
    """A guarded, commented patch is sent as the envelope and bumps the version."""
    integration_id = seed(fake, version=3)
    body = PatchWithComment(
        [if_version(3), replace_name("Renamed"), set_on(True), add_tag("t")], "rename"
    )

    async with core_for(fake) as core:
        result = await patch_big_segment_store_integration(
            core, patch_request(integration_id, body)
        )

    assert isinstance(result, Ok)
    assert (result.value.name, result.value.on, result.value.version) == ("Renamed", True, 4)
    assert result.value.tags == ("t",)
    assert json.loads(fake.requests[-1].body) == {
        "comment": "rename",
        "patch": [
            {"op": "test", "path": "/version", "value": 3},
            {"op": "replace", "path": "/name", "value": "Renamed"},
            {"op": "replace", "path": "/on", "value": True},
            {"op": "add", "path": "/tags/-", "value": "t"},
        ],
    }


async def test_a_bare_patch_is_sent_as_an_array(fake: FakeLaunchDarkly) -> None:
    """A sequence of operations travels as a JSON Patch array, never wrapped."""
    integration_id = seed(fake)

    async with core_for(fake) as core:
        result = await patch_big_segment_store_integration(
            core, patch_request(integration_id, [replace_name("x")])
        )

    assert result.ok
    assert json.loads(fake.requests[-1].body) == [{"op": "replace", "path": "/name", "value": "x"}]


async def test_delete_returns_none_then_the_id_is_not_found(fake: FakeLaunchDarkly) -> None:
    """Delete answers 204 with Ok(None); a get afterwards is Err(NotFoundError)."""
    integration_id = seed(fake)

    async with core_for(fake) as core:
        deleted = await delete_big_segment_store_integration(core, delete_request(integration_id))
        after = await get_big_segment_store_integration(core, get_request(integration_id))

    assert isinstance(deleted, Ok)
    assert deleted.value is None
    assert fake.requests[-2].status == 204
    match after:
        case Err(NotFoundError(status_code=404, code=code, id=error_id)):
            assert code == "not_found"
            assert error_id
        case _:
            pytest.fail(f"expected NotFoundError, got {after!r}")


@pytest.mark.parametrize(
    "key",
    ["a/b", "what?", "hash#tag", "100%", "with space", "ünïcødé", "a%2Fb", "..x", "-._~"],
)
async def test_keys_reach_the_server_intact_as_one_segment(
    fake: FakeLaunchDarkly, key: str
) -> None:
    """Every character outside the unreserved set is percent-encoded; the key arrives unchanged."""
    fake.add_environment(key, key)

    async with core_for(fake) as core:
        created = await create_big_segment_store_integration(
            core, create_request(project=key, environment=key)
        )
        assert isinstance(created, Ok)
        fetched = await get_big_segment_store_integration(
            core, get_request(created.value.id, project=key, environment=key)
        )

    assert isinstance(fetched, Ok)
    assert (fetched.value.project_key, fetched.value.environment_key) == (key, key)
    assert fake.requests[-1].path_params["projectKey"] == key
    assert fake.requests[-1].raw_path.count("/") == BASE.count("/") + 4


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (GetBigSegmentStoreIntegrationRequest("", ENVIRONMENT, "redis", "id"), "project_key"),
        (GetBigSegmentStoreIntegrationRequest(PROJECT, ".", "redis", "id"), "environment_key"),
        (
            GetBigSegmentStoreIntegrationRequest(PROJECT, ENVIRONMENT, "redis", ".."),
            "integration_id",
        ),
        (GetBigSegmentStoreIntegrationRequest(PROJECT, ENVIRONMENT, 7, "id"), "integration_key"),  # type: ignore[arg-type]  # an untyped caller's mistake
    ],
)
async def test_invalid_keys_are_refused_before_sending(
    fake: FakeLaunchDarkly, request_: GetBigSegmentStoreIntegrationRequest, field: str
) -> None:
    """Empty, `.`, `..` and non-string keys give Err(InputValidationError) naming the field."""
    async with core_for(fake) as core:
        result = await get_big_segment_store_integration(core, request_)

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert result.error.field == field
    assert fake.requests == []


async def test_wrong_request_type_and_unencodable_body_are_input_errors(
    fake: FakeLaunchDarkly,
) -> None:
    """A request of the wrong class, or a config JSON cannot carry, never reaches the server."""
    async with core_for(fake) as core:
        wrong_type = await get_big_segment_store_integration(core, create_request())  # type: ignore[arg-type]  # deliberately wrong
        not_a_number = await create_big_segment_store_integration(
            core, create_request(config={"host": float("nan")})
        )
        not_json = await create_big_segment_store_integration(
            core, create_request(config={"host": object()})
        )

    assert isinstance(wrong_type, Err)
    assert isinstance(wrong_type.error, InputValidationError)
    assert "expected a GetBigSegmentStoreIntegrationRequest" in str(wrong_type.error)
    for unencodable in (not_a_number, not_json):
        assert isinstance(unencodable, Err)
        assert isinstance(unencodable.error, InputValidationError)
        assert "cannot be encoded" in str(unencodable.error)
    assert fake.requests == []


async def test_an_invalid_config_is_a_400_naming_the_field(fake: FakeLaunchDarkly) -> None:
    """The server's 400 for a bad config comes back as InvalidRequestError with its message."""
    async with core_for(fake) as core:
        result = await create_big_segment_store_integration(
            core, create_request(config={"port": "6379"})
        )

    assert isinstance(result, Err)
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.status_code == 400
    assert "host" in result.error.message
    assert result.error.body


async def test_a_wrong_token_is_unauthorized(fake: FakeLaunchDarkly) -> None:
    """401 comes back as UnauthorizedError; the token is not in the error."""
    async with core_for(fake, api_key="api-wrong-token") as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, UnauthorizedError)
    assert "api-wrong-token" not in str(result.error)
    assert "api-wrong-token" not in repr(result.error)


async def test_a_pinned_api_version_header_replaces_ours(fake: FakeLaunchDarkly) -> None:
    """RequestOptions headers replace ours case-insensitively; without beta the API says 403."""
    options = RequestOptions(headers={"ld-api-version": "20240415"})

    async with core_for(fake) as core:
        result = await get_big_segment_store_integrations(core, options)

    assert isinstance(result, Err)
    assert isinstance(result.error, ForbiddenError)
    sent = {name.lower(): value for name, value in fake.requests[-1].headers.items()}
    assert sent["ld-api-version"] == "20240415"


async def test_authorization_in_options_is_refused(fake: FakeLaunchDarkly) -> None:
    """An Authorization header in RequestOptions is an input error; nothing is sent."""
    options = RequestOptions(headers={"authorization": "api-other"})

    async with core_for(fake) as core:
        result = await get_big_segment_store_integrations(core, options=options)

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert fake.requests == []


async def test_unknown_ids_and_store_kinds_are_not_found(fake: FakeLaunchDarkly) -> None:
    """An unknown ID, environment or store kind is Err(NotFoundError)."""
    integration_id = seed(fake)
    requests = [
        get_request("no/such id"),
        get_request(integration_id, environment="nowhere"),
        GetBigSegmentStoreIntegrationRequest(PROJECT, ENVIRONMENT, "cassandra", integration_id),
    ]

    async with core_for(fake) as core:
        results = [await get_big_segment_store_integration(core, r) for r in requests]

    assert all(isinstance(r, Err) and isinstance(r.error, NotFoundError) for r in results)


async def test_duplicate_names_and_lost_updates_are_conflicts(fake: FakeLaunchDarkly) -> None:
    """409 for a taken name and for a failed version test, as StatusConflictError."""
    integration_id = seed(fake, "taken", version=2)

    async with core_for(fake) as core:
        duplicate = await create_big_segment_store_integration(core, create_request("taken"))
        stale = await patch_big_segment_store_integration(
            core, patch_request(integration_id, [if_version(1), replace_name("mine")])
        )

    for result in (duplicate, stale):
        assert isinstance(result, Err)
        assert isinstance(result.error, StatusConflictError)
        assert result.error.status_code == 409
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert (stored["name"], stored["version"]) == ("taken", 2)  # the lost update changed nothing


async def test_a_create_with_a_typed_dynamodb_config(fake: FakeLaunchDarkly) -> None:
    """DynamoDB configs pass the server's validation with their four keys."""
    from ldstore.models import DynamoDBConfig, IntegrationDeliveryConfigurationPost  # noqa: PLC0415

    request = CreateBigSegmentStoreIntegrationRequest(
        PROJECT,
        ENVIRONMENT,
        IntegrationKey.DYNAMODB,
        IntegrationDeliveryConfigurationPost(
            DynamoDBConfig("segments", "us-west-2", "arn:aws:iam::123456789012:role/ld", "ext"),
            name="Dynamo",
        ),
    )

    async with core_for(fake) as core:
        result = await create_big_segment_store_integration(core, request)

    assert isinstance(result, Ok)
    assert result.value.integration_key is IntegrationKey.DYNAMODB
    assert fake.requests[-1].raw_path.endswith("/dynamodb")


async def test_a_redis_config_with_every_field_is_accepted(fake: FakeLaunchDarkly) -> None:
    """The fake, like the API, accepts every documented Redis key in its documented type."""
    config = RedisConfig(
        "redis.internal", port=6380, username="ld", password="pw", tls_enabled=True
    )

    async with core_for(fake) as core:
        result = await create_big_segment_store_integration(core, create_request(config=config))

    assert isinstance(result, Ok)
    assert result.value.config is not None
    assert result.value.config["port"] == "6380"
    assert result.value.config["tlsEnabled"] is True
