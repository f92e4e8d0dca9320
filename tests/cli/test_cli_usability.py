"""The command line at the level of ldcli and gh (issue 10), as the installed command."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import SCOPE, by_id, run, run_against, run_on_terminal
from hypothesis import given
from hypothesis import strategies as st
from ldstore_process import clean_environment
from sdk import ENVIRONMENT, PROJECT, seed

from ldstore.cli import build_parser, main
from ldstore.cli._core import make_core
from ldstore.cli._settings import toml_line
from ldstore.testing import FakeLaunchDarkly, RateLimited, ServerError

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - Python 3.10
    import tomli as _toml  # pyright: ignore[reportMissingImports]

loads_toml: Callable[[str], dict[str, Any]] = _toml.loads  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]

# 1. Flags before or after the command; no abbreviations; did you mean.


async def test_flags_work_before_or_after_the_command(fake: FakeLaunchDarkly) -> None:
    """`--project p list -o json` and `list --project p -o json` give the same answer."""
    _ = seed(fake, "Mine")
    _ = fake.seed_integration("other", ENVIRONMENT, "redis", name="Theirs", config={"host": "h"})

    before, after, mixed = await asyncio.gather(
        run_against(fake, "--project", PROJECT, "--output", "json", "list"),
        run_against(fake, "list", "--project", PROJECT, "--output", "json"),
        run_against(fake, "-o", "json", "list", "--project", PROJECT),
    )

    assert (before.code, after.code, mixed.code) == (0, 0, 0), before.stderr
    assert [item["name"] for item in before.json()["items"]] == ["Mine"]
    assert before.json() == after.json() == mixed.json()


async def test_an_unknown_flag_shows_the_commands_usage_and_the_closest_flag() -> None:
    """`list --projct` shows list's usage and suggests --project; exit 2, nothing run."""
    typo, abbreviated, before = await asyncio.gather(
        run("list", "--projct", "default"),
        run("list", "--proj", "default"),  # abbreviations are refused, not guessed
        run("--projct", "default", "list"),
    )

    for completed in (typo, abbreviated, before):
        assert completed.code == 2
        assert "did you mean --project?" in completed.stderr
        assert "Traceback" not in completed.stderr
    assert typo.stderr.startswith("usage: ldstore list ")
    assert abbreviated.stderr.startswith("usage: ldstore list ")
    assert before.stderr.startswith("usage: ldstore [")


async def test_a_mistyped_command_is_suggested() -> None:
    """`ldstore lst` names list as the closest command; exit 2."""
    completed = await run("lst")

    assert completed.code == 2
    assert "'lst' is not a command (did you mean list?)" in completed.stderr


@pytest.mark.parametrize("flag", ["-V", "--version"])
async def test_version_flags_print_the_version(flag: str) -> None:
    """`ldstore -V` and `ldstore --version` print `ldstore X.Y.Z` and exit 0."""
    completed = await run(flag)

    assert completed.code == 0
    assert completed.stdout == f"ldstore {importlib.metadata.version('ldstore')}\n"


async def test_no_arguments_prints_the_help() -> None:
    """`ldstore` alone prints the help (commands, examples) and exits 0."""
    completed = await run()

    assert completed.code == 0
    assert "commands:" in completed.stdout
    assert "examples:" in completed.stdout


# 2. ldcli's conventions: config, LD_ variables, plaintext.


async def test_config_set_list_unset_keep_a_private_file(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """config --set writes a 0600 TOML file, --list masks the token, --unset removes a key."""
    path = tmp_path / "ldstore" / "config.toml"
    environment = clean_environment(LDSTORE_CONFIG=str(path))
    token = fake.token

    sets = [
        await run("config", "--set", key, value, env=environment)
        for key, value in (
            ("access-token", token),
            ("base-uri", fake.url),
            ("project", "p1"),
            ("output", "json"),
        )
    ]
    listed = await run("config", "--list", env=environment)
    unset = await run("config", "--unset", "output", env=environment)

    assert [completed.code for completed in sets] == [0, 0, 0, 0], sets[0].stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert listed.code == 0
    assert token not in listed.stdout + listed.stderr + sets[0].stdout
    assert 'access-token = "********"' in listed.lines
    assert 'project = "p1"' in listed.lines
    assert unset.code == 0
    assert loads_toml(path.read_text()) == {
        "access-token": token,
        "base-uri": fake.url,
        "project": "p1",
    }


async def test_settings_come_from_flags_then_environment_then_file(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """--project beats LD_PROJECT, which beats the file's project; the file names the server."""
    for project in ("from-file", "from-env", "from-flag"):
        _ = fake.seed_integration(project, ENVIRONMENT, "redis", name=project, config={"host": "h"})
    path = tmp_path / "config.toml"
    _ = path.write_text(
        f'access-token = "{fake.token}"\nbase-uri = "{fake.url}"\nproject = "from-file"\n'
        'output = "json"\n'
    )
    file_only = clean_environment(LDSTORE_CONFIG=str(path))
    with_env = {**file_only, "LD_PROJECT": "from-env", "LD_OUTPUT": "plaintext"}

    by_file, by_env, by_flag = await asyncio.gather(
        run("list", env=file_only),
        run("list", env=with_env),
        run("list", "--project", "from-flag", "-o", "json", env=with_env),
    )

    assert [item["name"] for item in by_file.json()["items"]] == ["from-file"]
    assert by_env.lines[0].startswith("ID ")  # LD_OUTPUT=plaintext beats the file's json
    assert "from-env" in by_env.stdout
    assert "from-file" not in by_env.stdout
    assert [item["name"] for item in by_flag.json()["items"]] == ["from-flag"]


async def test_output_plaintext_is_the_table(fake: FakeLaunchDarkly) -> None:
    """`--output plaintext` (ldcli's name) prints the same table as the default."""
    _ = seed(fake, "Mine")

    plain, table = await asyncio.gather(
        run_against(fake, "list", "--output", "plaintext"), run_against(fake, "list")
    )

    assert plain.code == 0
    assert plain.stdout == table.stdout
    assert plain.lines[0].startswith("ID ")


@given(st.text())
def test_the_config_writer_escapes_any_text(value: str) -> None:
    """Any string (quotes, backslashes, control characters, unicode) survives TOML."""
    assert loads_toml(toml_line("project", value)) == {"project": value}


async def test_config_round_trips_quotes_backslashes_and_unicode(tmp_path: Path) -> None:
    """A value with `"`, `\\`, a tab and non-ASCII is written and read back unchanged."""
    path = tmp_path / "config.toml"
    environment = clean_environment(LDSTORE_CONFIG=str(path))
    value = 'a "quoted" \\ back\tslash é 日本 \U0001f600'

    written = await run("config", "--set", "environment", value, env=environment)
    listed = await run("config", "--list", env=environment)

    assert written.code == 0, written.stderr
    assert loads_toml(path.read_text(encoding="utf-8")) == {"environment": value}
    assert loads_toml(listed.stdout) == {"environment": value}


async def test_config_refuses_unknown_keys_and_bad_values(tmp_path: Path) -> None:
    """An unknown key (with a suggestion), a bad output or URL: exit 2, the file untouched."""
    path = tmp_path / "config.toml"
    environment = clean_environment(LDSTORE_CONFIG=str(path))

    results = await asyncio.gather(
        run("config", "--set", "projet", "x", env=environment),
        run("config", "--set", "output", "yaml", env=environment),
        run("config", "--set", "base-uri", "ftp://x", env=environment),
        run("config", "--set", "access-token", "a\nb", env=environment),
        run("config", "--set", "zzzz", "x", env=environment),
    )

    assert [completed.code for completed in results] == [2, 2, 2, 2, 2]
    assert "unknown setting 'projet'; did you mean project? (the settings: " in results[0].stderr
    # No close match: the settings listed, nothing guessed.
    assert "unknown setting 'zzzz' (the settings: access-token, base-uri," in results[4].stderr
    assert "did you mean" not in results[4].stderr
    assert not path.exists()


# 3. Confirmation before deleting.


async def test_delete_off_a_terminal_needs_yes_and_sends_nothing(fake: FakeLaunchDarkly) -> None:
    """Without a terminal and without --yes, delete exits 2 saying to add --yes; 0 requests."""
    integration_id = seed(fake)

    refused = await run_against(fake, "delete", *by_id(integration_id))

    assert refused.code == 2
    refused.assert_one_error_line("--yes", "nothing was sent")
    assert fake.requests == []
    assert fake.get_integration(integration_id) is not None


async def test_delete_at_a_terminal_shows_the_integration_and_asks(
    fake: FakeLaunchDarkly,
) -> None:
    """At a terminal, delete shows the integration and asks; "n" sends no DELETE, "y" does."""
    integration_id = seed(fake, "Doomed")

    declined = await run_on_terminal(
        fake, "delete", *by_id(integration_id), answers=(("[y/N]", "n\n"),)
    )
    declined_methods = [request.method for request in fake.requests]
    accepted = await run_on_terminal(
        fake, "delete", *by_id(integration_id), answers=(("[y/N]", "y\n"),)
    )

    assert declined.code == 2
    assert "Doomed" in declined.terminal
    assert "ldstore: delete cancelled: nothing deleted" in declined.terminal
    assert "error" not in declined.terminal.split("[y/N]")[1].lower()  # a "no" is no error
    assert declined_methods == ["GET"]
    assert accepted.code == 0, accepted.terminal
    assert accepted.stdout == f"deleted {integration_id}\n"
    assert [request.method for request in fake.requests] == ["GET", "GET", "DELETE"]


async def test_apply_prune_off_a_terminal_needs_yes_and_sends_nothing(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """`apply --prune` without a terminal or --yes: exit 2 before any request."""
    _ = seed(fake, "Gone")
    path = tmp_path / "stores.json"
    _ = path.write_text("[]")

    refused = await run_against(fake, "apply", "-f", str(path), "--prune")

    assert refused.code == 2
    refused.assert_one_error_line("apply --prune needs --yes", "nothing was sent")
    assert fake.requests == []


async def test_apply_prune_at_a_terminal_asks_before_deleting(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """At a terminal, `apply --prune` prints the plan, asks, and deletes only after "y"."""
    gone = seed(fake, "Gone")
    kept = {
        "project": PROJECT,
        "environment": ENVIRONMENT,
        "store": "redis",
        "name": "Kept",
        "config": {"host": "h"},
    }
    path = tmp_path / "stores.json"
    _ = path.write_text(json.dumps([kept]))

    declined = await run_on_terminal(
        fake,
        "apply",
        "-f",
        str(path),
        "--prune",
        answers=(("[y/N]", "\n"),),
    )
    accepted = await run_on_terminal(
        fake, "apply", "-f", str(path), "--prune", answers=(("[y/N]", "yes\n"),)
    )

    assert declined.code == 2
    assert "- delete redis default/production 'Gone'" in declined.stdout
    assert accepted.code == 0, accepted.terminal
    assert fake.get_integration(gone) is None
    assert [request.method for request in fake.requests].count("DELETE") == 1
    assert [item["name"] for item in fake.integrations] == ["Kept"]


# 4. --password-stdin at a terminal.


async def test_password_stdin_at_a_terminal_prompts_without_echo(fake: FakeLaunchDarkly) -> None:
    """At a terminal --password-stdin asks "Redis password:" and the typing is not echoed."""
    created = await run_on_terminal(
        fake,
        "create",
        *SCOPE,
        "--name",
        "Typed",
        "--host",
        "redis.internal",
        "--password-stdin",
        "-q",
        answers=(("Redis password: ", "typed-secret\n"),),
    )

    assert created.code == 0, created.terminal
    assert "typed-secret" not in created.terminal
    stored = fake.get_integration(created.stdout.strip())
    assert stored is not None
    assert stored["config"]["password"] == "typed-secret"


# 5. A flag works on a command, or is not offered there.


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("plan", "-f", "x.toml", "-q"), "-q"),
        (("demo", "--quiet"), "--quiet"),
        (("demo", "-o", "json"), "-o"),
        (("-o", "json", "demo"), "--output"),
        (("fake-server", "--debug"), "--debug"),
        (("config", "--list", "--access-token", "x"), "--access-token"),
    ],
)
async def test_flags_a_command_would_ignore_are_refused(args: tuple[str, ...], flag: str) -> None:
    """-q on plan, -o on demo (before or after it), --debug on fake-server: exit 2."""
    completed = await run(*args)

    assert completed.code == 2
    assert flag in completed.stderr.splitlines()[-1]


# 6. Errors for machines.


async def test_output_json_errors_are_json_objects_with_the_same_exit_codes(
    fake: FakeLaunchDarkly,
) -> None:
    """With -o json: stderr is only {"error": {...}} (no retry notices), same exit codes."""
    fake.schedule(RateLimited(retry_after=7), times=1)

    limited = await run_against(fake, "get", *by_id("a"), "-o", "json", "--retry-budget", "0")
    fake.schedule(ServerError(503), times=1)
    retried = await run_against(fake, "list", "-o", "json")
    missing, usage = await asyncio.gather(
        run_against(fake, "-o", "json", "get", *by_id("no-such-id"), "--retry-budget", "0"),
        run_against(fake, "list", "--output", "json", "--bogus"),
    )

    errors = [json.loads(completed.stderr)["error"] for completed in (limited, missing, usage)]
    assert [completed.code for completed in (limited, missing, usage)] == [1, 1, 2]
    assert all(
        set(error) == {"kind", "status", "code", "message", "id", "retry_after", "field"}
        for error in errors
    )
    assert (errors[0]["kind"], errors[0]["status"], errors[0]["retry_after"]) == (
        "RateLimitedError",
        429,
        7.0,
    )
    assert (errors[1]["kind"], errors[1]["status"]) == ("NotFoundError", 404)
    assert errors[1]["id"]
    assert errors[2]["kind"] == "UsageError"
    assert "--bogus" in errors[2]["message"]
    assert missing.stdout == ""
    assert (retried.code, retried.stderr) == (0, "")  # the retry notice is not mixed in


# 7. An unreachable server: short lines, a short budget.


async def test_an_unreachable_server_fails_in_four_short_attempts() -> None:
    """Connection refused: one short line per retry naming host, reason and attempt N of 4."""
    environment = clean_environment(
        LD_BASE_URI="http://127.0.0.1:1", LD_ACCESS_TOKEN="api-unreachable-token"
    )

    completed = await run("list", env=environment)

    lines = completed.stderr.splitlines()
    assert completed.code == 3
    assert len(lines) == 4, completed.stderr
    for attempt, line in enumerate(lines[:3], start=2):
        assert line.startswith("ldstore: cannot connect to 127.0.0.1:1 (connection refused); ")
        assert line.endswith(f" s (attempt {attempt} of 4)")
        assert "ssl" not in line
    assert lines[3] == "ldstore: error: cannot connect to 127.0.0.1:1 (connection refused)"


async def test_retry_budget_overrides_the_short_budget() -> None:
    """`--retry-budget 0` makes one attempt: no retry line, exit 3."""
    environment = clean_environment(
        LD_BASE_URI="http://127.0.0.1:1", LD_ACCESS_TOKEN="api-unreachable-token"
    )

    completed = await run("list", "--retry-budget", "0", env=environment)

    assert completed.code == 3
    completed.assert_one_error_line("cannot connect to 127.0.0.1:1 (connection refused)")


# 8. Ctrl-C during wait.


async def test_ctrl_c_during_wait_ends_the_line_and_says_interrupted(
    fake: FakeLaunchDarkly,
) -> None:
    """SIGINT while `wait` shows its live line: the line ends, `interrupted`, exit 130."""
    integration_id = seed(fake, on=True)
    fake.set_status(integration_id, available=False)  # on, and never synced: it waits

    screen = await run_on_terminal(
        fake,
        "wait",
        *by_id(integration_id),
        "--interval",
        "0.05",
        interrupt_after="waiting",
    )

    assert screen.code == 130
    assert "Traceback" not in screen.terminal
    assert screen.terminal.endswith("\nldstore: interrupted\n")
    assert "\r" in screen.terminal.split("\n")[0]  # the live line, rewritten in place


# 9. list filters.


async def test_list_filters_by_name_tags_on_and_status(fake: FakeLaunchDarkly) -> None:
    """--name is exact, every --tag must match, --on/--off and --status select as named."""
    both = seed(fake, "Both", tags=["a", "b"], on=True)
    only_a = seed(fake, "Only A", tags=["a"], on=False)
    stale = seed(fake, "Stale", tags=[], on=False)
    fake.set_status(both, available=True, potentially_stale=False)
    fake.set_status(only_a, available=False, potentially_stale=False)
    fake.set_status(stale, available=False, potentially_stale=True)

    named, tagged, on, off, available, unavailable, stale_ones = await asyncio.gather(
        run_against(fake, "list", "--name", "Only A", "-q"),
        run_against(fake, "list", "--tag", "a", "--tag", "b", "-q"),
        run_against(fake, "list", "--on", "-q"),
        run_against(fake, "list", "--off", "--tag", "a", "-q"),
        run_against(fake, "list", "--status", "available", "-q"),
        run_against(fake, "list", "--status", "unavailable", "--tag", "a", "-q"),
        run_against(fake, "list", "--status", "stale", "-q"),
    )

    assert named.lines == [only_a]
    assert tagged.lines == [both]
    assert on.lines == [both]
    assert off.lines == [only_a]
    assert available.lines == [both]
    assert unavailable.lines == [only_a]
    assert stale_ones.lines == [stale]


async def test_an_empty_list_names_the_filter_that_matched_nothing(
    fake: FakeLaunchDarkly,
) -> None:
    """`list --project nosuch` says "no integrations matched --project nosuch" and exits 0."""
    _ = seed(fake, "Mine", tags=["a"])

    nosuch, combined, unfiltered_json = await asyncio.gather(
        run_against(fake, "list", "--project", "nosuch", "--tag", "a"),
        run_against(fake, "list", "--name", "Mine", "--tag", "b", "--tag", "a"),
        run_against(fake, "list", "--project", "nosuch", "-o", "json"),
    )

    assert (nosuch.code, nosuch.stdout) == (0, "")
    assert nosuch.stderr == "ldstore: no integrations matched --project nosuch\n"
    assert combined.stderr == "ldstore: no integrations matched --tag b\n"
    assert unfiltered_json.json()["items"] == []


# 10. Completion.


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
async def test_completion_scripts_cover_every_command_and_flag(shell: str) -> None:
    """`ldstore completion SHELL` prints a script naming commands and their flags."""
    completed = await run("completion", shell)

    assert completed.code == 0, completed.stderr
    for word in ("list", "apply", "config", "--integration-id", "--password-stdin", "--prune"):
        assert word in completed.stdout, word


def test_completion_without_shtab_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without shtab installed, completion says which extra to install and exits 2."""
    monkeypatch.setitem(sys.modules, "shtab", None)  # what an absent package looks like

    code = main(["completion", "bash"])

    assert code == 2
    assert "pip install 'ldstore[completion]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "base_url"),
    [
        (["--eu"], "https://app.eu.launchdarkly.com"),
        (["--federal"], "https://app.launchdarkly.us"),
        ([], "https://app.launchdarkly.com"),
        (["--eu", "--base-uri", "http://127.0.0.1:9"], "http://127.0.0.1:9"),
    ],
)
def test_eu_and_federal_name_their_instance(
    flags: list[str], base_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--eu picks the EU instance as --federal picks the federal one; --base-uri wins.

    The Core is built, not called: nothing is sent anywhere."""
    empty = tmp_path / "config.toml"
    _ = empty.write_text("")
    monkeypatch.setenv("LDSTORE_CONFIG", str(empty))
    monkeypatch.delenv("LD_BASE_URI", raising=False)
    parser = build_parser()
    # --retry-budget: no never-connected hook, which would count this Core in the process.
    args = parser.parse_args(
        ["list", "--access-token", "api-0123456789", "--retry-budget", "30", *flags]
    )
    for dest in ("federal", "eu", "base_uri", "timeout", "retry_budget"):
        if not hasattr(args, dest):
            setattr(args, dest, None if dest in {"base_uri", "timeout", "retry_budget"} else False)

    core = make_core(args)

    assert core.base_url == base_url


async def test_federal_and_eu_together_are_a_usage_error(fake: FakeLaunchDarkly) -> None:
    """Two instances named at once: exit 2, nothing sent."""
    completed = await run_against(fake, "list", "--federal", "--eu")

    assert completed.code == 2
    completed.assert_one_error_line("--federal and --eu")
    assert fake.requests == []
