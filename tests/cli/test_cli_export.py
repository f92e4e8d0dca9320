"""`ldstore export` and `ldstore plan`: the file a team starts from, and the drift gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_support import run_against
from sdk import ENVIRONMENT, PROJECT, REDIS_WIRE

from ldstore.testing import FakeLaunchDarkly

_VARIABLE = re.compile(r"^  ([A-Z0-9_]+)  # ", re.MULTILINE)


def _seed(fake: FakeLaunchDarkly) -> str:
    _ = fake.seed_integration(
        PROJECT,
        ENVIRONMENT,
        "redis",
        name="Prod | Redis *1*",
        config={**REDIS_WIRE, "password": "s3cret-pw"},
        on=True,
        tags=["team-a"],
    )
    stored = fake.seed_integration(
        PROJECT,
        ENVIRONMENT,
        "dynamodb",
        name="Dynamo",
        config={
            "tableName": "t",
            "region": "us-east-1",
            "roleArn": "arn:aws:iam::1:role/r",
            "externalId": "e",
        },
    )
    return str(stored["_id"])


async def test_export_then_plan_is_a_clean_round_trip(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """export --file, then plan --detailed-exitcode with the listed variables set: exit 0
    and no change; the file holds no secret; stderr names each variable and its store."""
    _ = _seed(fake)
    file = tmp_path / "stores.toml"

    exported = await run_against(fake, "export", "--file", str(file))
    variables = _VARIABLE.findall(exported.stderr)
    planned = await run_against(
        fake,
        "plan",
        "-f",
        str(file),
        "--detailed-exitcode",
        **dict.fromkeys(variables, "anything"),
    )

    assert exported.code == 0, exported.stderr
    assert variables == ["REDIS_PASSWORD_DEFAULT_PRODUCTION_PROD_REDIS_1"]
    assert "'Prod | Redis *1*'" in exported.stderr
    assert "s3cret-pw" not in file.read_text()
    assert f'password = {{ env = "{variables[0]}" }}' in file.read_text()
    assert planned.code == 0, planned.stderr
    assert "0 to create, 0 to update, 0 to delete, 2 unchanged" in planned.stdout


async def test_export_refuses_an_existing_file_without_force(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """An existing --file: exit 2, one error line, the file untouched and nothing read
    from the API; --force replaces it."""
    _ = _seed(fake)
    file = tmp_path / "stores.json"
    _ = file.write_text("keep me")

    refused = await run_against(fake, "export", "--format", "json", "--file", str(file))
    kept = file.read_text()
    forced = await run_against(fake, "export", "--format", "json", "--file", str(file), "--force")

    assert refused.code == 2
    refused.assert_one_error_line(str(file), "--force")
    assert kept == "keep me"
    assert forced.code == 0, forced.stderr
    assert len(json.loads(file.read_text())["integration"]) == 2


async def test_export_writes_terraform_to_stdout(fake: FakeLaunchDarkly) -> None:
    """--format terraform: an import block per integration with the provider's ID, and
    the password as a sensitive variable named on stderr."""
    dynamodb_id = _seed(fake)

    done = await run_against(fake, "export", "--format", "terraform")

    assert done.code == 0, done.stderr
    assert done.stdout.count("import {") == 2
    assert f'id = "{PROJECT}/{ENVIRONMENT}/dynamodb/{dynamodb_id}"' in done.stdout
    assert '"password" = var.redis_prod_redis_1_password' in done.stdout
    assert "redis_prod_redis_1_password  # redis" in done.stderr


async def test_plan_detailed_exit_codes(fake: FakeLaunchDarkly, tmp_path: Path) -> None:
    """--detailed-exitcode: 2 when something would change; 1 for an unset variable (one
    line naming it and the item, nothing sent), where plain plan exits 2 for it."""
    file = tmp_path / "stores.toml"
    _ = file.write_text(
        '[[integration]]\nproject = "default"\nenvironment = "production"\nstore = "redis"\n'
        'name = "New"\n[integration.config]\nhost = "h"\npassword = { env = "NO_SUCH_VAR_X" }\n'
    )
    changes = tmp_path / "changes.toml"
    _ = changes.write_text(file.read_text().replace('{ env = "NO_SUCH_VAR_X" }', '"pw"'))

    with_changes = await run_against(fake, "plan", "-f", str(changes), "--detailed-exitcode")
    unset = await run_against(fake, "plan", "-f", str(file), "--detailed-exitcode")
    plain = await run_against(fake, "plan", "-f", str(file))

    assert with_changes.code == 2, with_changes.stderr
    assert "1 to create" in with_changes.stdout
    assert unset.code == 1
    unset.assert_one_error_line("NO_SUCH_VAR_X", "integration[0] (New)")
    assert plain.code == 2
    assert [request.method for request in fake.requests] == ["GET"]  # the first plan's list


async def test_plan_json_is_the_documented_plan_document(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """--output json: {"format_version": "1", "changes": [...]}, one change per item with
    exactly the documented keys, secrets masked, the update's patch included."""
    _ = _seed(fake)
    file = tmp_path / "stores.json"
    item = {
        "project": PROJECT,
        "environment": ENVIRONMENT,
        "store": "redis",
        "name": "Prod | Redis *1*",
        "on": False,
        "tags": ["team-a"],
        "config": {**REDIS_WIRE, "password": "new-pw"},
    }
    _ = file.write_text(json.dumps([item]))

    done = await run_against(fake, "plan", "-f", str(file), "--output", "json")

    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert list(document) == ["format_version", "changes"]
    assert document["format_version"] == "1"
    (change,) = document["changes"]
    assert list(change) == [
        "action",
        "project",
        "environment",
        "kind",
        "id",
        "name",
        "before",
        "after",
        "patch",
    ]
    assert (change["action"], change["kind"], change["name"]) == (
        "update",
        "redis",
        "Prod | Redis *1*",
    )
    assert change["before"]["on"] is True
    assert change["before"]["config"]["password"] == "********"
    assert change["after"] == {
        "name": "Prod | Redis *1*",
        "on": False,
        "tags": ["team-a"],
        "config": {**REDIS_WIRE, "password": "********"},
    }
    assert change["patch"] == [
        {"op": "test", "path": "/version", "value": 1},
        {"op": "replace", "path": "/on", "value": False},
    ]
    assert "new-pw" not in done.stdout
    assert "s3cret-pw" not in done.stdout


async def test_plan_markdown_is_a_pull_request_comment(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """--output markdown: a summary line, a table per project/environment, and names
    whose Markdown characters are escaped (a "|" cannot break the table)."""
    _ = _seed(fake)
    file = tmp_path / "stores.json"
    item = {
        "project": PROJECT,
        "environment": ENVIRONMENT,
        "store": "redis",
        "name": "Prod | Redis *1*",
        "on": False,
        "config": REDIS_WIRE,
    }
    _ = file.write_text(json.dumps([item]))

    done = await run_against(fake, "plan", "-f", str(file), "--output", "markdown")

    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "**ldstore plan:** 0 to create, 1 to update, 0 to delete, 0 unchanged.",
        "",
        "### default / production",
        "",
        "| Action | Store | Name | ID | Changes |",
        "| --- | --- | --- | --- | --- |",
        done.stdout.splitlines()[6],
    ]
    row = done.stdout.splitlines()[6]
    assert row.startswith("| ~ update | redis | Prod \\| Redis \\*1\\* | ")
    assert row.endswith(r' | on: true \-\> false<br>tags: \["team\-a"\] \-\> \[\] |')
