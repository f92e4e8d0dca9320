"""The five operations through the installed ``ldstore`` script, in every output mode."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cli_support import SCOPE, by_id, run, run_against
from ldstore_process import clean_environment
from sdk import ENVIRONMENT, PROJECT, REDIS_WITH_PASSWORD, seed

from ldstore.testing import MASKED_SECRET, FakeLaunchDarkly


async def test_create_get_update_delete_round_trip(fake: FakeLaunchDarkly) -> None:
    """create (password from stdin), get, update with friendly flags, delete: the fake agrees."""
    created = await run_against(
        fake,
        "create",
        *SCOPE,
        "--name",
        "Prod Redis",
        "--host",
        "redis.internal",
        "--port",
        "6380",
        "--tls",
        "--tag",
        "team-a",
        "--password-stdin",
        "--quiet",
        stdin="s3cret-pass\n",
    )
    assert created.code == 0, created.stderr
    integration_id = created.stdout.strip()
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert stored["config"] == {
        "host": "redis.internal",
        "port": "6380",
        "password": "s3cret-pass",
        "tlsEnabled": True,
    }
    assert stored["on"] is False
    assert stored["tags"] == ["team-a"]

    shown = await run_against(fake, "get", *by_id(integration_id))

    assert shown.code == 0, shown.stderr
    assert f"ID:                {integration_id}" in shown.lines
    assert f"  password:   {MASKED_SECRET}" in shown.lines
    assert "  tlsEnabled: true" in shown.lines
    assert "s3cret-pass" not in shown.stdout

    updated = await run_against(
        fake,
        "update",
        *by_id(integration_id),
        "--name",
        "Renamed",
        "--on",
        "--add-tag",
        "team-b",
        "--remove-tag",
        "team-a",
        "--set-config",
        "port=6390",
        "--set-config",
        "tls-enabled=false",
        "--comment",
        "move port",
        "--output",
        "json",
    )

    assert updated.code == 0, updated.stderr
    assert updated.json()["name"] == "Renamed"
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert (stored["name"], stored["on"], stored["tags"]) == ("Renamed", True, ["team-b"])
    assert stored["config"]["port"] == "6390"
    assert stored["config"]["tlsEnabled"] is False
    sent = json.loads(fake.requests[-1].body)
    assert sent["comment"] == "move port"
    assert sent["patch"][0] == {"op": "test", "path": "/version", "value": 1}

    deleted, quiet_delete = await asyncio.gather(
        run_against(fake, "delete", *by_id(integration_id), "--yes"),
        run_against(
            fake, "delete", *by_id(seed(fake, config=REDIS_WITH_PASSWORD)), "--quiet", "-y"
        ),
    )

    assert (deleted.code, deleted.stdout) == (0, f"deleted {integration_id}\n")
    assert (quiet_delete.code, quiet_delete.stdout, quiet_delete.stderr) == (0, "", "")
    assert fake.integrations == []


async def test_list_in_every_output_mode(fake: FakeLaunchDarkly) -> None:
    """list prints a table, the API's JSON, or IDs; the filters apply client-side."""
    redis_id = seed(fake, "Redis store", on=True, config=REDIS_WITH_PASSWORD)
    fake.set_status(redis_id, available=True)
    dynamo = fake.seed_integration(
        PROJECT,
        "test",
        "dynamodb",
        name="Dynamo store",
        config={
            "tableName": "t",
            "region": "us-east-1",
            "roleArn": "arn:aws:iam::1:role/r",
            "externalId": "x",
        },
    )

    table, as_json, quiet, filtered, empty = await asyncio.gather(
        run_against(fake, "list"),
        run_against(fake, "list", "--output", "json"),
        run_against(fake, "list", "-q"),
        run_against(fake, "list", "--integration", "dynamodb", "--project", PROJECT, "-q"),
        run_against(fake, "list", "--environment", "staging"),
    )

    assert table.code == 0, table.stderr
    assert table.lines[0].split() == [
        "ID",
        "PROJECT",
        "ENVIRONMENT",
        "STORE",
        "NAME",
        "ON",
        "AVAILABLE",
        "VERSION",
    ]
    redis_row = [redis_id, PROJECT, ENVIRONMENT, "redis", "Redis", "store", "yes", "yes", "1"]
    assert table.lines[1].split() == redis_row
    assert len(table.lines) == 3
    document = as_json.json()
    assert [item["_id"] for item in document["items"]] == [redis_id, dynamo["_id"]]
    assert document["items"][1]["integrationKey"] == "dynamodb"
    assert "_links" in document
    assert "self" in document["items"][0]["_links"]
    assert "config" not in document["items"][0]  # summaries, as the real API sends
    assert quiet.lines == [redis_id, dynamo["_id"]]
    assert filtered.lines == [dynamo["_id"]]
    assert (empty.code, empty.stdout) == (0, "")
    assert "no integrations" in empty.stderr


async def test_get_prints_wire_json_or_the_id(fake: FakeLaunchDarkly) -> None:
    """get --output json is the API's shape (port a string); --quiet prints the ID alone."""
    integration_id = seed(fake, config=REDIS_WITH_PASSWORD)

    as_json, quiet, flags_first = await asyncio.gather(
        run_against(fake, "get", *by_id(integration_id), "--output", "json"),
        run_against(fake, "get", *by_id(integration_id), "--quiet"),
        run_against(fake, "--output", "json", "get", *by_id(integration_id)),
    )

    document = as_json.json()
    assert document["_id"] == integration_id
    assert document["integrationKey"] == "redis"
    assert document["config"] == {
        "host": "redis.internal",
        "port": "6379",
        "password": MASKED_SECRET,
    }
    assert set(document["_status"]) <= {"available", "potentiallyStale", "lastSync", "lastError"}
    assert quiet.stdout == f"{integration_id}\n"
    assert flags_first.json() == document


async def test_create_dynamodb_from_typed_flags(fake: FakeLaunchDarkly) -> None:
    """DynamoDB flags build a DynamoDBConfig; --on switches the new store on."""
    created = await run_against(
        fake,
        "create",
        "--project",
        PROJECT,
        "--environment",
        "test",
        "--integration",
        "dynamodb",
        "--name",
        "Dynamo",
        "--table-name",
        "ld-segments",
        "--region",
        "eu-west-1",
        "--role-arn",
        "arn:aws:iam::123456789012:role/ld",
        "--external-id",
        "ext-1",
        "--on",
        "-o",
        "json",
    )

    assert created.code == 0, created.stderr
    document = created.json()
    assert document["on"] is True
    assert document["config"] == {
        "tableName": "ld-segments",
        "region": "eu-west-1",
        "roleArn": "arn:aws:iam::123456789012:role/ld",
        "externalId": "ext-1",
    }


async def test_update_with_a_raw_patch_from_stdin_or_a_file(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """--patch reads a JSON Patch array or a {comment, patch} envelope, from stdin or a file."""
    integration_id = seed(fake, config=REDIS_WITH_PASSWORD)
    envelope = {
        "comment": "from stdin",
        "patch": [{"op": "replace", "path": "/name", "value": "Patched"}],
    }
    patch_file = tmp_path / "patch.json"
    _ = patch_file.write_text(json.dumps([{"op": "remove", "path": "/config/password"}]))

    from_stdin = await run_against(
        fake, "update", *by_id(integration_id), "--patch", "-", stdin=json.dumps(envelope)
    )
    from_file = await run_against(
        fake, "update", *by_id(integration_id), "--patch", str(patch_file), "--if-version", "2"
    )

    assert from_stdin.code == 0, from_stdin.stderr
    assert json.loads(fake.requests[-2].body) == envelope
    assert from_file.code == 0, from_file.stderr
    assert json.loads(fake.requests[-1].body) == [
        {"op": "test", "path": "/version", "value": 2},
        {"op": "remove", "path": "/config/password"},
    ]
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert stored["name"] == "Patched"
    assert "password" not in stored["config"]


async def test_config_file_names_the_account(fake: FakeLaunchDarkly, tmp_path: Path) -> None:
    """With no flag nor variable, the token and base URI come from the LDSTORE_CONFIG file."""
    integration_id = seed(fake, config=REDIS_WITH_PASSWORD)
    config = tmp_path / "config.toml"
    _ = config.write_text(f'access-token = "{fake.token}"\nbase-uri = "{fake.url}"\n')

    result = await run(
        "list", "--quiet", "--debug", env=clean_environment(LDSTORE_CONFIG=str(config))
    )

    assert result.code == 0, result.stderr
    assert result.lines == [integration_id]
    assert f"token from {config}" in result.stderr
