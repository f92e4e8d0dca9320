"""Completion that helps, tried as a person does: bash and zsh at a real terminal (a pty),
TAB, read; fish through its own completion engine (``complete -C``, what TAB runs).

Each shell loads the script ``ldstore completion SHELL`` prints, the way its ``--help``
says to install it (bash sources it; zsh finds ``_ldstore`` on its ``fpath``); a test
types a command line, presses TAB, and reads what the shell put on the screen.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ldstore_process import clean_environment, ldstore_executable

_DEADLINE = 10.0  # seconds for a shell to show what is expected


def _shell(program: str) -> str:
    """The path of ``program``; skipped without it, except in CI (.ci/run installs it)."""
    found = shutil.which(program)
    if found is not None:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{program} is not installed; .ci/run installs it (apt-get install {program})")
    pytest.skip(f"{program} is not installed (Debian: apt-get install {program})")


class _Terminal:
    """An interactive shell on a pseudo-terminal."""

    def __init__(self, command: list[str], cwd: Path, environment: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(  # noqa: S603 - a shell from PATH, as a user has it
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=environment,
            start_new_session=True,
        )
        os.close(slave)

    def type(self, text: str) -> None:
        _ = os.write(self.master, text.encode())

    def screen_until(self, wanted: str) -> str:
        """What the shell wrote, read until ``wanted`` appears (AssertionError after the
        deadline)."""
        seen = ""
        deadline = time.monotonic() + _DEADLINE
        while wanted not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {wanted!r} on the terminal; it showed {seen!r}"
            if select.select([self.master], [], [], min(left, 0.2))[0]:
                seen += os.read(self.master, 4096).decode(errors="replace")
        return seen

    def close(self) -> None:
        self.process.kill()
        _ = self.process.wait(timeout=5)
        os.close(self.master)


def _script(shell: str) -> bytes:
    return subprocess.run(  # noqa: S603 - our own console script
        [ldstore_executable(), "completion", shell], check=True, capture_output=True
    ).stdout


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A folder holding stores.toml, a config file naming a project and an environment,
    and an environment that finds ldstore and that config file."""
    _ = (tmp_path / "stores.toml").write_text("")
    config = tmp_path / "config.toml"
    _ = config.write_text('project = "myproj"\nenvironment = "staging"\n')
    environment = clean_environment(LDSTORE_CONFIG=str(config), PS1="$ ", **extra)
    environment["PATH"] = f"{Path(ldstore_executable()).parent}{os.pathsep}{environment['PATH']}"
    return environment


@pytest.fixture(params=["bash", "zsh"])
def terminal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_Terminal]:
    """bash or zsh in ``tmp_path``, at its prompt, ldstore's completion loaded."""
    shell: str = request.param
    program = _shell(shell)
    if shell == "bash":
        script = tmp_path / "ldstore.bash"
        _ = script.write_bytes(_script("bash"))
        command = [program, "--norc", "--noprofile", "-i"]
        # Quoted so that the terminal's echo of the typed line is not taken for the output.
        setup = f"source {script}; echo READ''Y\n"
        environment = _environment(tmp_path, TERM="dumb")
    else:
        functions = tmp_path / "zsh-functions"
        functions.mkdir()
        _ = (functions / "_ldstore").write_bytes(_script("zsh"))
        command = [program, "-f", "-i"]  # -f: no startup files
        setup = f"fpath=({functions} $fpath); autoload -Uz compinit; compinit -u -D; echo READ''Y\n"
        environment = _environment(tmp_path, TERM="xterm")  # zsh's line editor needs one
    terminal = _Terminal(command, tmp_path, environment)
    terminal.type(setup)
    try:
        _ = terminal.screen_until("READY\r\n")
        yield terminal
    finally:
        terminal.close()


def test_a_file_option_completes_file_names(terminal: _Terminal) -> None:
    """apply -f sto<TAB> becomes stores.toml."""
    terminal.type("ldstore apply -f sto\t")

    assert "stores.toml" in terminal.screen_until("stores.toml")


def test_config_set_offers_the_setting_names(terminal: _Terminal) -> None:
    """config --set <TAB><TAB> lists the settings; bas<TAB> completes base-uri."""
    terminal.type("ldstore config --set \t\t")
    listed = terminal.screen_until("access-token")
    for name in ("base-uri", "environment", "output", "project"):  # whatever the columns
        if name not in listed:
            listed += terminal.screen_until(name)
    terminal.type("\x15ldstore config --set bas\t")  # Ctrl-U clears the line first

    assert all(name in listed for name in ("access-token", "base-uri", "environment", "project"))
    assert "--set base-uri" in terminal.screen_until("--set base-uri")


def test_project_and_environment_complete_from_the_config_file(terminal: _Terminal) -> None:
    """list --project <TAB> offers the config file's project; get --environment st<TAB>
    its environment."""
    terminal.type("ldstore list --project \t")
    assert "myproj" in terminal.screen_until("myproj")

    terminal.type("\x15ldstore get --environment st\t")
    assert "--environment staging" in terminal.screen_until("--environment staging")


def _fish_completes(tmp_path: Path, line: str) -> list[str]:
    """What fish offers for ``line`` (its ``complete -C``: what TAB shows), with the script
    installed where ``ldstore completion --help`` says."""
    program = _shell("fish")
    home = tmp_path / "home"
    completions = home / ".config" / "fish" / "completions"
    completions.mkdir(parents=True)
    _ = (completions / "ldstore.fish").write_bytes(_script("fish"))
    environment = _environment(tmp_path, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    answered = subprocess.run(  # noqa: S603 - fish from PATH, as a user has it
        [program, "-c", f"complete -C {line!r}"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=_DEADLINE,
        check=True,
    )
    return [candidate.split("\t")[0] for candidate in answered.stdout.splitlines()]


def test_fish_completes_files_settings_and_configured_values(tmp_path: Path) -> None:
    """fish: a path option offers file names, --set the settings, --project and
    --environment the config file's values."""
    assert "stores.toml" in _fish_completes(tmp_path / "files", "ldstore apply -f sto")
    assert {"access-token", "base-uri", "environment", "project"} <= set(
        _fish_completes(tmp_path / "settings", "ldstore config --set ")
    )
    assert _fish_completes(tmp_path / "project", "ldstore list --project ") == ["myproj"]
    assert _fish_completes(tmp_path / "environment", "ldstore get --environment st") == ["staging"]
