"""Hostile input to the command line (issue 15): one error line and exit 2, never a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cli_support import SCOPE, run, run_against
from ldstore_process import clean_environment

from ldstore import cli
from ldstore.cli import _crud
from ldstore.testing import FakeLaunchDarkly

DEPTH = 100_000
TOKEN = "api-hostile-secret-token"


def _deep_files(tmp_path: Path) -> tuple[Path, Path]:
    deep_json = tmp_path / "deep.json"
    _ = deep_json.write_text("[" * DEPTH + "]" * DEPTH)
    deep_toml = tmp_path / "deep.toml"
    _ = deep_toml.write_text("integration = " + "[" * DEPTH + "]" * DEPTH)
    return deep_json, deep_toml


async def test_apply_with_a_100k_deep_file_is_one_line(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """`apply -f` with 100k-deep JSON or TOML: exit 2, one line, 0 requests reach the server."""
    deep_json, deep_toml = _deep_files(tmp_path)

    results = await asyncio.gather(
        run_against(fake, "apply", "-f", str(deep_json)),
        run_against(fake, "apply", "-f", str(deep_toml), "--dry-run"),
    )

    for completed in results:
        assert completed.code == 2
        completed.assert_one_error_line("too deeply")
    assert fake.requests == []


async def test_hostile_connection_settings_are_one_line(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """A token with CR/LF, `http://[::1`, a non-UTF-8 or 100k-deep config: exit 2, 0 requests."""
    not_utf8 = tmp_path / "latin1.toml"
    _ = not_utf8.write_bytes(b'project = "caf\xe9"\n')
    deep = tmp_path / "deep.toml"
    _ = deep.write_text("project = " + "[" * DEPTH + "]" * DEPTH)
    base = {"LD_BASE_URI": fake.url, "LD_ACCESS_TOKEN": fake.token}

    results = await asyncio.gather(
        run("list", "--access-token", f"{TOKEN}\r\nX-Evil: 1", env=clean_environment(**base)),
        run("list", env=clean_environment(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN="a\nb")),
        run("list", "--base-uri", "http://[::1", env=clean_environment(**base)),
        run("list", env=clean_environment(**base, LDSTORE_CONFIG=str(not_utf8))),
        run("list", env=clean_environment(**base, LDSTORE_CONFIG=str(deep))),
    )

    expected = ("line break", "line break", "not a valid URL", "not UTF-8", "nested too deeply")
    for completed, part in zip(results, expected, strict=True):
        assert completed.code == 2, completed.stderr
        completed.assert_one_error_line(part)
        assert TOKEN not in completed.stderr
    assert fake.requests == []


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--acess-token", TOKEN),
        ("list", f"--acess-token={TOKEN}"),
        ("--acess-token", TOKEN, "list"),
        (TOKEN, "list"),
        ("create", *SCOPE, "--pasword", TOKEN),
        ("list", "--access-token", TOKEN, "--integration", TOKEN),
        ("get", "--access-token"),
    ],
)
async def test_a_mistyped_flag_never_echoes_its_value(args: tuple[str, ...]) -> None:
    """Whatever argparse refuses, the value after a mistyped or secret flag is not printed."""
    completed = await run(*args)

    assert completed.code == 2
    assert TOKEN not in completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr


def test_an_unexpected_exception_is_one_line_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug in a command is one `unexpected` line and exit 1; --debug adds the traceback."""

    def broken(_args: object) -> int:
        msg = "a bug"
        raise RuntimeError(msg)

    monkeypatch.setattr(_crud, "_run_list", broken)
    monkeypatch.setenv("LD_ACCESS_TOKEN", TOKEN)

    code = cli.main(["list"])
    plain = capsys.readouterr().err
    debug_code = cli.main(["list", "--debug"])
    debug = capsys.readouterr().err

    assert code == debug_code == 1
    assert plain == (
        "ldstore: error: unexpected RuntimeError: a bug (a bug in ldstore: please report it; "
        "--debug shows where)\n"
    )
    assert "Traceback" in debug


def test_ctrl_c_is_never_swallowed_by_the_guard(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """KeyboardInterrupt inside a command is exit 130 with `interrupted`, not the guard's line."""

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(_crud, "_run_list", interrupted)

    code = cli.main(["list"])

    assert code == 130
    assert capsys.readouterr().err == "ldstore: interrupted\n"
