"""`ldstore wait` and `ldstore apply` as processes against the fake."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cli_support import Completed, run_against
from sdk import ENVIRONMENT, PROJECT, sent

from ldstore import _codec
from ldstore.cli._workflows import Progress
from ldstore.models import BigSegmentStoreIntegration
from ldstore.testing import FakeLaunchDarkly

STORES = f"""
[[integration]]
project = "{PROJECT}"
environment = "{ENVIRONMENT}"
store = "redis"
name = "Cache"
on = true
tags = ["team:platform"]

[integration.config]
host = "redis.internal"
port = 6380
password = {{ env = "LDSTORE_TEST_PASSWORD" }}

[[integration]]
project = "{PROJECT}"
environment = "{ENVIRONMENT}"
store = "redis"
name = "Kept"

[integration.config]
host = "kept.internal"
"""


async def ldstore(fake: FakeLaunchDarkly, *args: str) -> Completed:
    """``ldstore *args`` against ``fake``: one attempt, the stores file's password set."""
    return await run_against(fake, *args, "--retry-budget", "0", LDSTORE_TEST_PASSWORD="hunter2")


def scope(integration_id: str) -> list[str]:
    return [
        "--project",
        PROJECT,
        "--environment",
        ENVIRONMENT,
        "--integration",
        "redis",
        "--integration-id",
        integration_id,
    ]


def stores_file(tmp_path: Path) -> str:
    path = tmp_path / "stores.toml"
    _ = path.write_text(STORES, encoding="utf-8")
    return str(path)


async def test_wait_exits_0_once_the_store_is_available(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """`ldstore wait` polls, prints progress lines on a non-terminal, and exits 0."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Cache", config={"host": "h"}, on=True
    )

    ran = await ldstore(fake, "wait", *scope(stored["_id"]), "--interval", "0.02")

    assert ran.code == 0, ran.stderr
    assert ran.stdout.startswith("available after ")
    assert "'Cache'" in ran.stdout
    assert "ldstore: waiting" in ran.stderr
    assert "\r" not in ran.stderr


async def test_wait_exits_4_with_one_line_saying_why(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A store that will not sync (it is off) exits 4 (EXIT_NOT_READY) at once, with one
    error line saying why."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Cache", config={"host": "h"}, on=False
    )

    ran = await ldstore(
        fake, "wait", *scope(stored["_id"]), "--timeout", "0.2", "--interval", "0.05"
    )

    assert ran.code == 4
    errors = [line for line in ran.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert "is off" in errors[0]
    assert "switch it on first" in errors[0]


async def test_apply_dry_run_prints_the_plan_and_changes_nothing(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """`apply --dry-run` shows + create and ~ update with the fields, and sends no writes."""
    _ = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Kept", config={"host": "old.internal"}
    )

    ran = await ldstore(fake, "apply", "-f", stores_file(tmp_path), "--dry-run")

    assert ran.code == 0, ran.stderr
    assert "+ create redis default/production 'Cache'" in ran.stdout
    assert "~ update redis default/production 'Kept'" in ran.stdout
    assert 'config.host: "old.internal" -> "kept.internal"' in ran.stdout
    assert "Plan: 1 to create, 1 to update, 0 to delete, 0 unchanged." in ran.stdout
    assert all(request.method == "GET" for request in fake.requests)


async def test_apply_then_apply_again_prints_only_unchanged(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A real run creates and prunes; a second run prints every item as = and exits 0."""
    gone = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Gone", config={"host": "gone.internal"}
    )
    path = stores_file(tmp_path)

    first = await ldstore(fake, "apply", "-f", path, "--prune", "--yes")
    second = await ldstore(fake, "apply", "-f", path, "--prune", "--yes")

    assert first.code == 0, first.stderr
    assert "- delete redis default/production 'Gone'" in first.stdout
    assert "created redis default/production 'Cache'" in first.stdout
    assert f"deleted redis default/production 'Gone' ({gone['_id']})" in first.stdout
    assert "Applied: 3 changed, 0 failed." in first.stdout
    assert second.code == 0, second.stderr
    plan_lines = [
        line for line in second.stdout.splitlines() if line[:2] in {"+ ", "~ ", "- ", "= "}
    ]
    assert [line[:2] for line in plan_lines] == ["= ", "= "]
    assert "Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged." in second.stdout
    assert {item["name"] for item in fake.integrations} == {"Cache", "Kept"}
    assert len(sent(fake, "POST")) == 2


async def test_apply_output_json_prints_the_plan_and_outcomes(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """--output json prints one document: the plan (secrets masked) and each outcome."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Cache", config={"host": "h", "password": "old"}
    )
    path = tmp_path / "rotate.json"
    item = {
        "project": PROJECT,
        "environment": ENVIRONMENT,
        "store": "redis",
        "name": "Cache",
        "rotate_secrets": True,
        "config": {"host": "h", "password": "brand-new"},
    }
    _ = path.write_text(json.dumps({"integration": [item]}), encoding="utf-8")

    ran = await ldstore(fake, "apply", "-f", str(path), "--output", "json")

    assert ran.code == 0, ran.stderr
    assert "brand-new" not in ran.stdout
    document = json.loads(ran.stdout)
    assert document["dryRun"] is False
    (step,) = document["plan"]
    assert (step["action"], step["_id"]) == ("update", stored["_id"])
    assert {"op": "add", "path": "/config/password", "value": "********"} in step["patch"]
    (outcome,) = document["outcomes"]
    assert outcome["ok"] is True
    assert outcome["error"] is None
    assert outcome["integration"]["_id"] == stored["_id"]
    assert outcome["integration"]["config"]["password"] == "********"
    stored_now = fake.get_integration(stored["_id"])
    assert stored_now is not None
    assert stored_now["config"]["password"] == "brand-new"


async def test_apply_exits_1_when_an_item_fails(fake: FakeLaunchDarkly, tmp_path: Path) -> None:
    """One failed item: the others apply, the failure is printed, and the exit code is 1."""
    path = tmp_path / "stores.json"
    items = [
        {"project": PROJECT, "environment": ENVIRONMENT, "store": "redis", "name": "Fine",
         "config": {"host": "h"}},
        {"project": "nope", "environment": ENVIRONMENT, "store": "redis", "name": "Lost",
         "config": {"host": "h"}},
    ]  # fmt: skip
    _ = path.write_text(json.dumps(items), encoding="utf-8")

    ran = await ldstore(fake, "apply", "-f", str(path))

    assert ran.code == 1
    assert "created redis default/production 'Fine'" in ran.stdout
    assert "failed to create redis nope/production 'Lost': HTTP 404" in ran.stdout
    assert ran.stderr.strip().splitlines()[-1] == "ldstore: error: 1 of 2 changes failed"


async def test_apply_with_a_bad_file_exits_2_naming_the_field(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """An invalid file is a usage error (exit 2) whose one line names the item and field."""
    path = tmp_path / "bad.toml"
    _ = path.write_text(STORES.replace("port = 6380", 'port = "http"'), encoding="utf-8")

    ran = await ldstore(fake, "apply", "-f", str(path))

    assert ran.code == 2
    assert "integration[0] (Cache): config.port must be an int" in ran.stderr
    assert fake.requests == []


async def test_wait_output_json_prints_the_available_integration(
    fake: FakeLaunchDarkly,
    tmp_path: Path,
) -> None:
    """`wait --output json` prints the integration in the API's wire shape once available."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Cache", config={"host": "h"}, on=True
    )

    ran = await ldstore(fake, "wait", *scope(stored["_id"]), "--interval", "0.02",
        "--output", "json",
    )  # fmt: skip

    assert ran.code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert document["_id"] == stored["_id"]
    assert document["_status"]["available"] is True


async def test_wait_for_an_unknown_integration_exits_1(
    fake: FakeLaunchDarkly,
    tmp_path: Path,
) -> None:
    """An API error while waiting (404) is one error line and its own exit code, not 4."""
    ran = await ldstore(fake, "wait", *scope("nope"))

    assert ran.code == 1
    assert ran.stderr.startswith("ldstore: error: HTTP 404")
    assert len(fake.requests) == 1


async def test_fail_fast_stops_at_the_first_store_error(
    fake: FakeLaunchDarkly,
    tmp_path: Path,
) -> None:
    """`wait --fail-fast` exits 4 at the first status with errors, naming them."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Cache", config={"host": "h"}, on=True
    )
    error = {"statusCode": 500, "message": "NOAUTH Authentication required", "timestamp": 1}
    fake.set_status(stored["_id"], available=False, errors=[error])

    ran = await ldstore(fake, "wait", *scope(stored["_id"]), "--fail-fast")

    assert ran.code == 4
    assert "NOAUTH Authentication required (HTTP 500)" in ran.stderr
    assert "1 error(s)" in ran.stderr
    assert len(fake.requests) == 1


async def test_apply_json_with_nothing_to_change_prints_only_the_plan(
    fake: FakeLaunchDarkly,
    tmp_path: Path,
) -> None:
    """With everything unchanged, --output json prints the plan and no outcomes."""
    path = tmp_path / "one.json"
    item = {"project": PROJECT, "environment": ENVIRONMENT, "store": "redis", "name": "Same",
            "config": {"host": "h"}}  # fmt: skip
    _ = path.write_text(json.dumps([item]), encoding="utf-8")
    _ = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Same", config={"host": "h", "port": "6379",
        "tlsEnabled": False},
    )  # fmt: skip

    ran = await ldstore(fake, "apply", "-f", str(path), "-o", "json")

    assert ran.code == 0, ran.stderr
    document = json.loads(ran.stdout)
    assert [step["action"] for step in document["plan"]] == ["unchanged"]
    assert "outcomes" not in document


@pytest.mark.parametrize(
    "args",
    [
        ("wait", *scope("x"), "--interval", "0"),
        ("wait", *scope("x"), "--timeout", "-1"),
        ("wait", *scope("x"), "--timeout", "soon"),
        ("apply", "-f", "stores.toml", "--concurrency", "0"),
    ],
)
async def test_out_of_range_numbers_are_usage_errors(
    fake: FakeLaunchDarkly,
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    """A zero interval, a negative timeout or concurrency 0 exits 2 before any request."""
    ran = await ldstore(fake, *args)

    assert ran.code == 2
    assert "expected" in ran.stderr
    assert fake.requests == []


def integration(*, available: bool, stale: bool = False) -> BigSegmentStoreIntegration:
    wire: dict[str, Any] = {
        "_links": {"self": {}, "parent": {}, "project": {}, "environment": {}},
        "_id": "abc",
        "integrationKey": "redis",
        "projectKey": PROJECT,
        "environmentKey": ENVIRONMENT,
        "on": True,
        "tags": [],
        "name": "Cache",
        "version": 1,
        "_status": {"available": available, "potentiallyStale": stale, "lastSync": 0},
    }
    return _codec.decode(json.dumps(wire).encode(), BigSegmentStoreIntegration)


@pytest.mark.parametrize("live", [True, False])
def test_progress_rewrites_one_line_on_a_terminal(live: bool) -> None:  # noqa: FBT001
    """On a terminal each poll rewrites one line with \\r; elsewhere each poll is a line."""
    stream = io.StringIO()
    progress = Progress(stream, live=live, quiet=False)
    silent = Progress(stream, live=live, quiet=True)
    silent(integration(available=False), 0.5)

    progress(integration(available=False), 1.0)
    progress(integration(available=True, stale=True), 3.5)
    progress.finish()

    text = stream.getvalue()
    epoch = datetime.fromtimestamp(0, timezone.utc).isoformat(timespec="seconds")
    if live:
        assert text.count("\r") == 2
        assert text.count("\n") == 1
        assert text.endswith("\n")
    else:
        assert "\r" not in text
        assert text.count("\n") == 2
    assert "waiting   1.0s: available no, stale no" in text
    assert f"waiting   3.5s: available yes, stale yes, last sync {epoch}" in text


async def test_wait_not_ready_with_output_json_is_a_json_error(fake: FakeLaunchDarkly) -> None:
    """`wait -o json` that times out: exit 4 and one JSON object of kind NotAvailableError."""
    stored = fake.seed_integration(
        PROJECT, ENVIRONMENT, "redis", name="Cache", config={"host": "h"}, on=False
    )

    ran = await ldstore(
        fake, "wait", *scope(stored["_id"]), "-o", "json", "--timeout", "0.2", "--interval", "0.05"
    )

    assert ran.code == 4
    error = json.loads(ran.stderr)["error"]
    assert error["kind"] == "NotAvailableError"
    assert "is off" in error["message"]
