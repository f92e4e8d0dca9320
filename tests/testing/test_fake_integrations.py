"""Create, list, get and delete: validation, representation and masking."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ldstore.testing import MASKED_SECRET, FakeLaunchDarkly

from .fakeclient import (
    BASE,
    DYNAMODB_CONFIG,
    REDIS_CONFIG,
    FakeClient,
    ServeFake,
    item_path,
    path,
)

HEX_ID = re.compile(r"[0-9a-f]{24}")


async def test_create_returns_the_detailed_representation(client: FakeClient) -> None:
    """A create answers 201 with every documented field, links and version 1."""
    answer = await client.create(
        body={"name": "cache", "config": dict(REDIS_CONFIG), "on": True, "tags": ["a", "b"]}
    )

    assert answer.status == 201
    assert answer.headers["Content-Type"] == "application/json"
    item = answer.json()
    assert HEX_ID.fullmatch(item["_id"])
    self_href = path("default", "production", "redis", item["_id"])
    assert item["_links"] == {
        "self": {"href": self_href, "type": "application/json"},
        "parent": {"href": BASE, "type": "application/json"},
        "project": {"href": "/api/v2/projects/default", "type": "application/json"},
        "environment": {
            "href": "/api/v2/projects/default/environments/production",
            "type": "application/json",
        },
    }
    assert item["integrationKey"] == "redis"
    assert (item["projectKey"], item["environmentKey"]) == ("default", "production")
    assert (item["name"], item["on"], item["tags"], item["version"]) == (
        "cache",
        True,
        ["a", "b"],
        1,
    )
    assert item["_access"] == {"denied": [], "allowed": []}
    assert item["_status"]["available"] is False


async def test_create_defaults(client: FakeClient) -> None:
    """Only config is required: on defaults to false, tags to [], name to ""."""
    item = await client.created(body={"config": {"host": "h"}})

    assert (item["on"], item["tags"], item["name"]) == (False, [], "")
    assert item["config"] == {"host": "h"}


async def test_create_dynamodb(client: FakeClient) -> None:
    """A complete DynamoDB config is accepted and shown as sent."""
    item = await client.created("dynamodb", {"name": "ddb", "config": dict(DYNAMODB_CONFIG)})

    assert item["config"] == DYNAMODB_CONFIG


async def test_redis_password_is_masked(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """Answers show the password as MASKED_SECRET; the fake keeps the real one."""
    created = await client.created()

    fetched = await client.send("GET", item_path(created))

    assert MASKED_SECRET == "*" * 8
    assert created["config"]["password"] == MASKED_SECRET
    assert fetched.json()["config"]["password"] == MASKED_SECRET
    assert b"hunter2" not in fetched.body
    stored = fake.get_integration(created["_id"])
    assert stored is not None
    assert stored["config"]["password"] == REDIS_CONFIG["password"]


async def test_get_returns_what_create_did(client: FakeClient) -> None:
    """A get by ID returns the same representation as the create."""
    created = await client.created()

    fetched = await client.send("GET", item_path(created))

    assert fetched.status == 200
    assert fetched.json() == created


async def test_list_omits_config(client: FakeClient) -> None:
    """List items are summaries without config, across every project and environment."""
    first = await client.created()
    second = await client.create(environment_key="test")

    answer = await client.send("GET")

    assert answer.status == 200
    listing = answer.json()
    assert listing["_links"] == {"self": {"href": BASE, "type": "application/json"}}
    assert [item["_id"] for item in listing["items"]] == [first["_id"], second.json()["_id"]]
    assert all("config" not in item for item in listing["items"])
    expected = {key: value for key, value in first.items() if key != "config"}
    assert listing["items"][0] == expected


async def test_list_can_include_config(serve_fake: ServeFake, client: FakeClient) -> None:
    """With list_includes_config=True list items carry config, still masked."""
    fake = await serve_fake(FakeLaunchDarkly(list_includes_config=True))
    wide = FakeClient(fake, client.session)
    _ = await wide.created()

    listing = (await wide.send("GET")).json()

    assert listing["items"][0]["config"]["password"] == MASKED_SECRET
    assert listing["items"][0]["config"]["host"] == "redis.internal"


async def test_delete_removes_the_integration(client: FakeClient) -> None:
    """DELETE answers 204 with no body and no Content-Type; then the ID is 404."""
    item = await client.created()

    deleted = await client.send("DELETE", item_path(item))
    again = await client.send("GET", item_path(item))
    twice = await client.send("DELETE", item_path(item))

    assert deleted.status == 204
    assert deleted.body == b""
    assert "Content-Type" not in deleted.headers
    assert again.status == 404
    assert twice.status == 404
    assert (await client.send("GET")).json()["items"] == []


async def test_duplicate_name_conflicts(client: FakeClient) -> None:
    """A second integration with the same name in the same environment and store is 409."""
    _ = await client.created()

    answer = await client.create()

    assert answer.status == 409
    body = answer.json()
    assert body["code"] == "conflict"
    assert "'cache'" in body["message"]


async def test_same_name_elsewhere_is_fine(client: FakeClient) -> None:
    """The same name in another environment or store kind is no conflict."""
    _ = await client.created()

    other_env = await client.create(environment_key="test")
    other_store = await client.create(
        "dynamodb", {"name": "cache", "config": dict(DYNAMODB_CONFIG)}
    )

    assert (other_env.status, other_store.status) == (201, 201)


async def test_unnamed_integrations_do_not_conflict(client: FakeClient) -> None:
    """Two integrations without a name can coexist."""
    _ = await client.created(body={"config": {"host": "a"}})

    answer = await client.create(body={"config": {"host": "b"}})

    assert answer.status == 201


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": "x"}, "config is required"),
        ({"config": "host=h"}, "config must be an object"),
        ({"config": {"host": "h"}, "on": "yes"}, "on must be a boolean"),
        ({"config": {"host": "h"}, "tags": "a"}, "tags must be an array of strings"),
        ({"config": {"host": "h"}, "tags": [1]}, "tags must be an array of strings"),
        ({"config": {"host": "h"}, "name": 5}, "name must be a string"),
        ([{"config": {"host": "h"}}], "JSON object"),
    ],
)
async def test_invalid_create_body_names_the_field(
    client: FakeClient, body: object, named: str
) -> None:
    """A create body that breaks IntegrationDeliveryConfigurationPost is 400 naming the field."""
    answer = await client.create(body=body)

    assert answer.status == 400
    assert answer.json()["code"] == "invalid_request"
    assert named in answer.json()["message"]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({}, "config.host is required"),
        ({"host": ""}, "config.host"),
        ({"host": 1}, "config.host"),
        ({"host": "h", "port": 6379}, "config.port"),
        ({"host": "h", "port": "0"}, "config.port"),
        ({"host": "h", "port": "65536"}, "config.port"),
        ({"host": "h", "port": "63 79"}, "config.port"),
        ({"host": "h", "port": "-1"}, "config.port"),
        ({"host": "h", "username": None}, "config.username"),
        ({"host": "h", "password": 1234}, "config.password"),
        ({"host": "h", "tlsEnabled": "true"}, "config.tlsEnabled"),
        ({"host": "h", "tls": True}, "config.tls "),
    ],
)
async def test_invalid_redis_config_names_the_field(
    client: FakeClient, config: dict[str, Any], named: str
) -> None:
    """Redis config follows the manifest: host required, port a string of 1-65535, ..."""
    answer = await client.create(body={"config": config})

    assert answer.status == 400
    assert named in answer.json()["message"]


async def test_redis_port_bounds_are_accepted(client: FakeClient) -> None:
    """Ports "1" and "65535", a username, an empty password and tlsEnabled are all valid."""
    low = {"host": "h", "port": "1", "username": "u", "password": "", "tlsEnabled": True}

    answers = [
        await client.create(body={"name": "low", "config": low}),
        await client.create(body={"name": "high", "config": {"host": "h", "port": "65535"}}),
    ]

    assert [answer.status for answer in answers] == [201, 201]
    assert answers[0].json()["config"]["password"] == ""


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"tableName": None}, "config.tableName is required"),
        ({"region": None}, "config.region is required"),
        ({"roleArn": None}, "config.roleArn is required"),
        ({"externalId": None}, "config.externalId is required"),
        ({"region": "mars-north-1"}, "config.region must be one of us-east-1"),
        ({"tableName": ""}, "config.tableName"),
        ({"roleArn": 7}, "config.roleArn"),
        ({"table_name": "t"}, "config.table_name"),
    ],
)
async def test_invalid_dynamodb_config_names_the_field(
    client: FakeClient, change: dict[str, Any], named: str
) -> None:
    """DynamoDB config needs tableName, a documented region, roleArn and externalId."""
    config = {**DYNAMODB_CONFIG, **change}
    config = {key: value for key, value in config.items() if value is not None}

    answer = await client.create("dynamodb", {"config": config})

    assert answer.status == 400
    assert named in answer.json()["message"]


async def test_every_documented_region_is_accepted(client: FakeClient) -> None:
    """All seventeen regions of the reference page are valid."""
    regions = [
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1",
        "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
        "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "sa-east-1",
    ]  # fmt: skip

    for region in regions:
        body = {"name": region, "config": {**DYNAMODB_CONFIG, "region": region}}
        answer = await client.create("dynamodb", body)

        assert answer.status == 201, region


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b'{"config": {"host": NaN}}', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'{"config": {"host": "h"}}', "text/plain"),
        (b'{"config": {"host": "h"}}', None),
    ],
)
async def test_unreadable_body_is_invalid(
    client: FakeClient, data: bytes, content_type: str | None
) -> None:
    """A body that is not JSON, or not sent as application/json, is 400."""
    headers = {"Content-Type": content_type}

    answer = await client.send(
        "POST", path("default", "production", "redis"), data=data, headers=headers
    )

    assert answer.status == 400
    assert answer.json()["code"] == "invalid_request"


async def test_content_type_may_carry_a_charset(client: FakeClient) -> None:
    """application/json; charset=utf-8 is JSON."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    data = b'{"config": {"host": "h"}}'

    answer = await client.send(
        "POST", path("default", "production", "redis"), data=data, headers=headers
    )

    assert answer.status == 201


async def test_seeded_integration_is_served(fake: FakeLaunchDarkly, client: FakeClient) -> None:
    """seed_integration stores without checks and returns the unmasked wire JSON."""
    seeded = fake.seed_integration(
        "default", "production", "redis", name="s", config=dict(REDIS_CONFIG), tags=["t"], version=7
    )

    listing = (await client.send("GET")).json()
    fetched = (await client.send("GET", item_path(seeded))).json()

    assert seeded["config"]["password"] == REDIS_CONFIG["password"]
    assert (seeded["version"], seeded["tags"], seeded["on"]) == (7, ["t"], False)
    assert fetched["config"]["password"] == MASKED_SECRET
    assert fetched["version"] == 7
    assert listing["items"][0]["_id"] == seeded["_id"]
    assert fake.integrations == [seeded]
    assert fake.get_integration("0" * 24) is None


async def test_seeding_can_plant_what_a_future_server_sends(client: FakeClient) -> None:
    """An unknown store kind can be seeded (in a new environment) and is listed."""
    # Off the spec on purpose, so not the contract-checked `fake` fixture.
    async with FakeLaunchDarkly() as fake:
        odd = fake.seed_integration("new", "env", "kafka", name="future", config={"brokers": 3})

        listing = (await FakeClient(fake, client.session).send("GET")).json()

    assert listing["items"][0]["integrationKey"] == "kafka"
    assert listing["items"][0]["_id"] == odd["_id"]
    assert fake.environments["new"] == ["env"]
