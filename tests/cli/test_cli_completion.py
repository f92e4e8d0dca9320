"""Completion that helps, tried as a person does: bash at a real terminal (a pty), TAB, read.

The script is ``ldstore completion bash``, sourced into ``bash --norc``; each test types
a command line, presses TAB (twice, to list), and reads what bash put on the screen.
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
from cli_support import clean_environment, ldstore_executable

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

_DEADLINE = 10.0  # seconds for bash to show what is expected


class _Bash:
    """An interactive bash on a pseudo-terminal, with ldstore's completion loaded."""

    def __init__(self, cwd: Path, environment: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile", "-i"],  # noqa: S607 - bash from PATH, as a user has it
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
        """What bash wrote, read until ``wanted`` appears (AssertionError after the deadline)."""
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


@pytest.fixture
def bash(tmp_path: Path) -> Iterator[_Bash]:
    """bash in ``tmp_path`` (holding stores.toml and a config file), completion sourced."""
    script = tmp_path / "ldstore.bash"
    _ = script.write_bytes(
        subprocess.run(  # noqa: S603 - our own console script
            [ldstore_executable(), "completion", "bash"], check=True, capture_output=True
        ).stdout
    )
    _ = (tmp_path / "stores.toml").write_text("")
    config = tmp_path / "config.toml"
    _ = config.write_text('project = "myproj"\nenvironment = "staging"\n')
    environment = clean_environment(LDSTORE_CONFIG=str(config), PS1="$ ", TERM="dumb")
    environment["PATH"] = f"{Path(ldstore_executable()).parent}{os.pathsep}{environment['PATH']}"
    shell = _Bash(tmp_path, environment)
    # Quoted so that the terminal's echo of the typed line is not taken for the output.
    shell.type(f"source {script}; echo READ''Y\n")
    _ = shell.screen_until("READY\r\n")
    try:
        yield shell
    finally:
        shell.close()


def test_a_file_option_completes_file_names(bash: _Bash) -> None:
    """apply -f sto<TAB> becomes stores.toml."""
    bash.type("ldstore apply -f sto\t")

    assert "stores.toml" in bash.screen_until("stores.toml")


def test_config_set_offers_the_setting_names(bash: _Bash) -> None:
    """config --set <TAB><TAB> lists the settings; bas<TAB> completes base-uri."""
    bash.type("ldstore config --set \t\t")
    listed = bash.screen_until("access-token")
    for name in ("base-uri", "environment", "output", "project"):  # whatever the columns
        if name not in listed:
            listed += bash.screen_until(name)
    bash.type("\x15ldstore config --set bas\t")  # Ctrl-U clears the line first

    assert all(name in listed for name in ("access-token", "base-uri", "environment", "project"))
    assert "--set base-uri" in bash.screen_until("--set base-uri")


def test_project_completes_from_the_config_file(bash: _Bash) -> None:
    """list --project <TAB> offers the config file's project."""
    bash.type("ldstore list --project \t")

    assert "myproj" in bash.screen_until("myproj")
