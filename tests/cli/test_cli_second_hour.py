"""Issue 27: the second hour with the command line — typos, defaults that filter, one
meaning per flag, honest small results, the config file read once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from cli_support import SCOPE, by_id, run, run_against
from ldstore_process import clean_environment
from sdk import seed

from ldstore.cli import main
from ldstore.testing import FakeLaunchDarkly


def test_a_typo_in_a_required_flag_gets_a_did_you_mean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--integraton-id: "unknown flag ...; did you mean --integration-id?", not "required"."""
    code = main(["get", *SCOPE, "--integraton-id", "x"])

    err = capsys.readouterr().err
    assert code == 2
    assert "unknown flag --integraton-id; did you mean --integration-id?" in err
    assert "required" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["create", *SCOPE, "--name", "", "--host", "h"],
        ["update", *SCOPE, "--integration-id", "x", "--name", "  "],
        ["list", "--name", ""],
    ],
)
def test_an_empty_name_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty (or blank) --name: exit 2 before anything is sent."""
    code = main([*argv, "--base-uri", "http://127.0.0.1:9", "--access-token", "t"])

    assert code == 2
    assert "argument --name: expected a non-empty value" in capsys.readouterr().err


async def test_a_default_that_filters_list_says_so(fake: FakeLaunchDarkly) -> None:
    """LD_PROJECT narrows list: one stderr line says so; --all lists every one; json is quiet."""
    _ = seed(fake, "Here")
    _ = fake.seed_integration("other", "staging", "redis", name="Elsewhere", config={"host": "h"})

    narrowed = await run_against(fake, "list", LD_PROJECT="default")
    everything = await run_against(fake, "list", "--all", LD_PROJECT="default")
    flagged = await run_against(fake, "list", "--project", "default")
    as_json = await run_against(fake, "list", "-o", "json", LD_PROJECT="default")

    assert narrowed.stderr == (
        "ldstore: filtered by project=default (LD_PROJECT); --all to see every one\n"
    )
    assert "Elsewhere" not in narrowed.stdout
    assert "Elsewhere" in everything.stdout
    assert "Here" in everything.stdout
    assert everything.stderr == flagged.stderr == as_json.stderr == ""


async def test_a_config_file_default_is_named_as_such(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A project from the config file is named "config file" in the filter line."""
    config = tmp_path / "config.toml"
    _ = config.write_text('environment = "production"\n')

    listed = await run_against(fake, "list", LDSTORE_CONFIG=str(config))

    assert "filtered by environment=production (config file)" in listed.stderr


async def test_wait_for_is_the_whole_wait_and_timeout_is_deprecated(
    fake: FakeLaunchDarkly,
) -> None:
    """wait --for 0.3 gives up in time (exit 4); the old --timeout still works and says so."""
    integration_id = seed(fake, "Slow")
    fake.set_status(integration_id, available=False)

    new = await run_against(
        fake, "wait", *by_id(integration_id), "--for", "0.3", "--interval", "0.05"
    )
    old = await run_against(
        fake, "wait", *by_id(integration_id), "--timeout", "0.3", "--interval", "0.05"
    )

    assert new.code == old.code == 4
    assert "deprecated" not in new.stderr
    assert "wait --timeout is deprecated and will go in the next release: use --for" in old.stderr


async def test_removing_a_tag_that_is_not_set_sends_nothing(fake: FakeLaunchDarkly) -> None:
    """--remove-tag nosuch: says the tag was not set, exit 0, no PATCH sent."""
    integration_id = seed(fake, "Tagged", tags=["keep"])

    result = await run_against(fake, "update", *by_id(integration_id), "--remove-tag", "nosuch")

    assert result.code == 0, result.stderr
    assert "tag 'nosuch' was not set: nothing to remove" in result.stderr
    assert "nothing to update" in result.stderr
    assert [request.method for request in fake.requests] == ["GET"]


async def test_removing_a_missing_tag_beside_a_real_change_sends_the_change(
    fake: FakeLaunchDarkly,
) -> None:
    """--remove-tag nosuch --add-tag new: the note, and one PATCH adding the tag."""
    integration_id = seed(fake, "Tagged", tags=["keep"])

    result = await run_against(
        fake, "update", *by_id(integration_id), "--remove-tag", "nosuch", "--add-tag", "new"
    )

    assert result.code == 0, result.stderr
    assert "tag 'nosuch' was not set" in result.stderr
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert stored["tags"] == ["keep", "new"]


async def test_a_duplicate_name_409_says_to_pick_another_name(fake: FakeLaunchDarkly) -> None:
    """Creating a second "Taken": the 409 line says to pick another name, not to re-read."""
    _ = seed(fake, "Taken")

    result = await run_against(fake, "create", *SCOPE, "--name", "Taken", "--host", "h")

    assert result.code == 1
    result.assert_one_error_line("HTTP 409", "pick another name (--name)")
    assert "re-read" not in result.stderr


async def test_the_config_file_is_read_once_per_command(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A FIFO as the config file gives its text once: a second read would hang the command."""
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    text = f'project = "default"\nenvironment = "production"\nbase-uri = "{fake.url}"\n'
    text += f'access-token = "{fake.token}"\n'

    def feed() -> None:
        with fifo.open("w") as writer:  # blocks until the command opens it
            _ = writer.write(text)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    environment = clean_environment(LDSTORE_CONFIG=str(fifo))

    listed = await run("list", env=environment, timeout=10)  # a second read: TimeoutError

    assert listed.code == 0, listed.stderr
    assert "filtered by project=default (config file)" in listed.stderr
    feeder.join(timeout=5)
