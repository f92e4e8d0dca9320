"""Start-up: ``ldstore --help`` builds no command's parser, a command builds only its own
module's, and what they print is what the fully built parser prints."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from typing import cast

import pytest

from ldstore.cli import _catalog, build_parser, main
from ldstore.cli._options import Parser

# Each command module, and what the catalog says it registers.
_MODULES = _catalog.modules()


def _imported_after(words: list[str]) -> tuple[str, set[str]]:
    """Run ``main(words)`` in a fresh interpreter: its stdout, and the modules it imported."""
    code = (
        "import sys\n"
        "from ldstore.cli import main\n"
        f"code = main({words!r})\n"
        "print('\\0'.join(sorted(sys.modules)), file=sys.stderr)\n"
        "raise SystemExit(code)\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(done.stderr.strip().split("\0"))


def _full_help(name: str) -> str:
    """Command ``name``'s help from the parser with every command built."""
    for action in build_parser()._actions:  # argparse lists them nowhere else
        choices: object = action.choices
        if isinstance(choices, dict):  # only subcommands map names to parsers
            commands = cast("dict[str, argparse.ArgumentParser]", choices)
            return commands[name].format_help()
    raise AssertionError(name)


def test_each_module_registers_exactly_the_catalogs_commands() -> None:
    """The catalog names every command a module registers, with that command's summary."""
    for module, names in _MODULES.items():
        scratch = Parser(prog="ldstore").add_subparsers()

        importlib.import_module(f"ldstore.cli.{module}").register(scratch)

        assert tuple(scratch.choices) == names, module
        helps = {action.dest: action.help for action in scratch._choices_actions}  # pyright: ignore[reportPrivateUsage]
        assert helps == {name: _catalog.summary(name) for name in names}


def test_help_lists_every_command_without_importing_any() -> None:
    """`ldstore --help` lists every command from the catalog alone: no command module, no
    models, no codec."""
    stdout, imported = _imported_after(["--help"])

    assert all(f"    {name} " in stdout for name in _catalog.COMMANDS)
    loaded = {name for name in imported if name.startswith("ldstore.cli._")}
    assert loaded.isdisjoint(f"ldstore.cli.{module}" for module in _MODULES)
    assert {"ldstore.models", "ldstore._codec", "ldstore.errors"}.isdisjoint(imported)


def test_a_commands_help_builds_only_its_own_module() -> None:
    """`ldstore list --help` imports the list's module, and none of the other commands'."""
    stdout, imported = _imported_after(["list", "--help"])

    assert stdout.startswith("usage: ldstore list ")
    assert "ldstore.cli._crud" in imported
    others = {f"ldstore.cli.{module}" for module in _MODULES} - {"ldstore.cli._crud"}
    assert others.isdisjoint(imported)
    assert "ldstore._codec" not in imported  # the codec loads when there is JSON to write


@pytest.mark.parametrize("name", list(_catalog.COMMANDS))
def test_a_commands_help_is_the_full_parsers(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`ldstore NAME --help`, built alone, prints what the fully built parser prints."""
    expected = _full_help(name)

    code = main([name, "--help"])

    assert code == 0
    assert capsys.readouterr().out == expected


def test_the_root_help_is_the_full_parsers(capsys: pytest.CaptureFixture[str]) -> None:
    """`ldstore --help` from the catalog's stubs prints what the fully built parser prints."""
    expected = build_parser().format_help()

    code = main(["--help"])

    assert code == 0
    assert capsys.readouterr().out == expected


def test_a_command_flag_before_the_command_says_where_it_goes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A flag of some command, given before any command, is named as belonging after it:
    the other commands' parsers are built to find it (only on this error)."""
    code = main(["--integration-id", "abc", "get"])

    assert code == 2
    err = capsys.readouterr().err
    assert "--integration-id goes after the command name" in err
    assert "abc" not in err


def test_an_unknown_flags_value_is_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    """The value after a flag the chosen command does not know (here, doctor's --url, given
    to list) is treated as a secret: the error names the flag, never the value."""
    code = main(["list", "--url", "redis://:hunter2-secret@127.0.0.1:9"])

    assert code == 2
    err = capsys.readouterr().err
    assert "unknown flag --url" in err
    assert "hunter2" not in err
