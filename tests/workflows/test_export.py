"""export() and its renderings: an apply file that plans to zero changes, and Terraform."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any, cast

import hcl2  # pyright: ignore[reportMissingTypeStubs]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sdk import core_for

from ldstore import Err, Ok
from ldstore.models import MASKED
from ldstore.testing import FakeLaunchDarkly
from ldstore.workflows import (
    Export,
    ExportedIntegration,
    export,
    load_desired,
    plan,
    render_json,
    render_terraform,
    render_toml,
    terraform_variables,
)


def _toml(text: str) -> dict[str, Any]:
    # tomli on 3.10 (the test extra brings it), tomllib after.
    module = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    loaded: dict[str, Any] = module.loads(text)
    return loaded


def _hcl(text: str) -> dict[str, Any]:
    loaded: object = hcl2.loads(text)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]  # untyped
    return cast("dict[str, Any]", loaded)


PROJECTS = ("default", "mobile-app", "données")
ENVIRONMENTS = ("production", "staging")
ODD_NAMES = ["Prod ☃ Redis", 'quo"te\\back', "tab\tand\nnewline", "${var.x} %{if}", "名前", "🙂"]


def seed_fleet(fake: FakeLaunchDarkly, count: int = 200) -> list[dict[str, Any]]:
    """``count`` integrations across projects, environments and both store kinds, with
    unicode names and tags, passwords, defaults left out and set."""
    seeded: list[dict[str, Any]] = []
    for number in range(count):
        project = PROJECTS[number % len(PROJECTS)]
        environment = ENVIRONMENTS[(number // len(PROJECTS)) % len(ENVIRONMENTS)]
        name = f"{ODD_NAMES[number % len(ODD_NAMES)]} {number}"
        tags = [f"team-{number % 4}", "ünïcode"] if number % 6 != 5 else []
        if number % 5 == 4:
            kind = "dynamodb"
            config: dict[str, Any] = {
                "tableName": f"table-{number}",
                "region": "eu-west-1",
                "roleArn": f"arn:aws:iam::123456789012:role/ld-{number}",
                "externalId": f"ext-{number}",
            }
        else:
            kind = "redis"
            config = {"host": f"redis-{number}.internal"}
            if number % 2:
                config |= {"port": "6380", "tlsEnabled": True, "password": f"pw-{number}"}
            if number % 7 == 0:
                config["username"] = "ld"
        seeded.append(
            fake.seed_integration(
                project,
                environment,
                kind,
                name=name,
                config=config,
                on=number % 2 == 0,
                tags=tags,
            )
        )
    return seeded


async def _exported(fake: FakeLaunchDarkly, **filters: Any) -> Export:
    async with core_for(fake) as core:
        result = await export(core, **filters)
    assert isinstance(result, Ok)
    return result.value


def _set_variables(exported: Export, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, _ in exported.variables:
        monkeypatch.setenv(variable, "whatever-the-operator-sets")


@pytest.mark.parametrize("suffix", [".toml", ".json"])
async def test_an_export_of_200_integrations_plans_to_zero_changes(
    fake: FakeLaunchDarkly, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """Round trip: 200 integrations (both kinds, 3 projects, 2 environments, unicode
    names and tags, defaults left out) export to a file that plans to zero changes once
    its variables are set; no secret and no mask is in the file."""
    seeded = seed_fleet(fake)
    exported = await _exported(fake)
    rendered = render_json(exported) if suffix == ".json" else render_toml(exported).unwrap()
    file = tmp_path / f"stores{suffix}"
    _ = file.write_text(rendered, encoding="utf-8")
    _set_variables(exported, monkeypatch)

    desired = load_desired(file)
    assert isinstance(desired, Ok), desired
    async with core_for(fake) as core:
        planned = await plan(core, desired.value)

    assert isinstance(planned, Ok)
    assert len(planned.value.items) == 200
    assert planned.value.changes == ()
    assert all(f"pw-{n}" not in rendered for n in range(200))
    assert MASKED not in rendered
    assert len(exported.variables) == sum(1 for s in seeded if "password" in s["config"])


async def test_variable_names_are_deterministic_and_unique(fake: FakeLaunchDarkly) -> None:
    """Two exports of the same account name the same variables; no name repeats, each is
    an environment variable name (capitals, digits, _) naming kind, key and scope."""
    _ = seed_fleet(fake, 40)

    first = await _exported(fake)
    second = await _exported(fake)

    names = [variable for variable, _ in first.variables]
    assert names == [variable for variable, _ in second.variables]
    assert len(set(names)) == len(names)
    assert all(name.startswith("REDIS_PASSWORD_") for name in names)
    assert all(name.replace("_", "").isalnum() and name.isascii() for name in names)
    assert all(name == name.upper() for name in names)


async def test_filters_select_what_is_exported(fake: FakeLaunchDarkly) -> None:
    """project, environment, store kind and tags (all must match) narrow the export."""
    _ = seed_fleet(fake, 30)

    exported = await _exported(
        fake,
        project_key="default",
        environment_key="production",
        integration_key="redis",
        tags=["team-0", "ünïcode"],
    )

    assert exported.items
    for item in exported.items:
        integration = item.integration
        assert (integration.project_key, integration.environment_key) == ("default", "production")
        assert str(integration.integration_key) == "redis"
        assert {"team-0", "ünïcode"} <= set(integration.tags)


async def test_an_unknown_store_kind_is_skipped_not_guessed() -> None:
    """A kind this release has no config for (a future one, off the spec: a fake without
    the contract check) is listed in ``skipped``, not written."""
    async with FakeLaunchDarkly() as fake:
        _ = fake.seed_integration("default", "production", "cassandra", name="C", config={"x": 1})
        _ = fake.seed_integration("default", "production", "redis", name="R", config={"host": "h"})
        exported = await _exported(fake)

    assert [item.integration.name for item in exported.items] == ["R"]
    assert [item.name for item in exported.skipped] == ["C"]


async def test_terraform_parses_as_hcl_and_names_each_integration_once(
    fake: FakeLaunchDarkly,
) -> None:
    """--format terraform: valid HCL (python-hcl2) with one import block and one resource
    per integration, unique labels, the provider's import ID, secrets as sensitive vars."""
    _ = seed_fleet(fake, 60)
    exported = await _exported(fake)

    text = render_terraform(exported).unwrap()
    parsed = _hcl(text)

    resources = [
        (_unquoted(label), body)
        for block in parsed["resource"]
        for kind, labelled in block.items()
        if _unquoted(kind) == "launchdarkly_big_segment_store_integration"
        for label, body in labelled.items()
    ]
    imports = parsed["import"]
    assert len(resources) == len(imports) == len(exported.items) == 60
    assert len({label for label, _ in resources}) == 60
    assert {_unquoted(str(block["to"])) for block in imports} == {
        "${launchdarkly_big_segment_store_integration." + label + "}" for label, _ in resources
    }
    ids = {_unquoted(str(block["id"])) for block in imports}
    assert ids == {
        f"{i.integration.project_key}/{i.integration.environment_key}/"
        f"{i.integration.integration_key}/{i.integration.id}"
        for i in exported.items
    }
    variables = {_unquoted(name) for block in parsed.get("variable", []) for name in block}
    assert variables == {name for name, _ in terraform_variables(exported)}
    assert all("pw-" not in line for line in text.splitlines())


def _unquoted(text: str) -> str:
    """python-hcl2 (v8) keeps the quotes of labels and strings."""
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _one(name: str, tags: list[str], config: dict[str, Any]) -> Export:
    from ldstore.models import BigSegmentStoreIntegration  # noqa: PLC0415
    from ldstore.wire import from_wire  # noqa: PLC0415

    wire = {
        "_links": {k: {"href": "/"} for k in ("self", "parent", "project", "environment")},
        "_id": "abc123",
        "integrationKey": "redis",
        "projectKey": "default",
        "environmentKey": "production",
        "config": config,
        "on": True,
        "tags": tags,
        "name": name,
        "version": 1,
        "_status": {},
    }
    integration = from_wire(wire, BigSegmentStoreIntegration)
    return Export(items=(ExportedIntegration(integration=integration, variables={}),))


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)


@given(_TEXT, st.lists(_TEXT, max_size=3), _TEXT)
def test_any_text_survives_toml_and_json(name: str, tags: list[str], host: str) -> None:
    """Any name, tags and config value (no lone surrogates) read back from TOML and JSON
    exactly as written, and the Terraform form parses with them."""
    exported = _one(name, tags, {"host": host, "weird key.x": host})

    from_toml = _toml(render_toml(exported).unwrap())["integration"][0]
    from_json = json.loads(render_json(exported))["integration"][0]
    terraform = _hcl(render_terraform(exported).unwrap())

    for item in (from_toml, from_json):
        assert (item["name"], item["tags"]) == (name, tags)
        assert item["config"] == {"host": host, "weird key.x": host}
    assert len(terraform["resource"]) == 1


def test_a_lone_surrogate_is_refused_in_toml_and_hcl_but_kept_in_json() -> None:
    """Text no UTF-8 can carry: TOML and HCL say so (use JSON); JSON escapes it."""
    exported = _one("bad \ud800", [], {"host": "h"})

    assert isinstance(render_toml(exported), Err)
    assert isinstance(render_terraform(exported), Err)
    assert json.loads(render_json(exported))["integration"][0]["name"] == "bad \ud800"


async def test_a_null_setting_is_left_out_and_plans_no_change(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A config key the API shows as null is "not set": the export leaves it out (TOML has
    no null), and planning that file changes nothing."""
    _ = fake.seed_integration(
        "default", "production", "redis", name="N", config={"host": "h", "username": None}
    )
    exported = await _exported(fake)
    file = tmp_path / "stores.toml"
    _ = file.write_text(render_toml(exported).unwrap(), encoding="utf-8")

    async with core_for(fake) as core:
        planned = await plan(core, load_desired(file).unwrap())

    assert "username" not in file.read_text()
    assert isinstance(planned, Ok)
    assert planned.value.changes == ()
