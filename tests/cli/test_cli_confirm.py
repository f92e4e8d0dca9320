"""Consent needs a person: a terminal on stdin AND on stderr, or --yes.

With only one of the two streams a terminal (the other a pipe), a "y" arriving on stdin
is a script's line, not a person's answer: nothing is deleted, nothing but reads is sent,
and the exit code is 2. One stream is a real pseudo-terminal (``pty.openpty``).
"""

from __future__ import annotations

import asyncio
import io
import os
import pty
import select
from typing import Literal

import pytest
from cli_support import TIMEOUT, by_id
from ldstore_process import clean_environment, ldstore_executable

from ldstore.cli._confirm import Answer, confirm
from ldstore.testing import FakeLaunchDarkly


def _drain(master: int) -> bytes:
    """Whatever the child wrote to the terminal (it has exited)."""
    seen = b""
    while select.select([master], [], [], 0.1)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child's end is closed
            break
        if not chunk:
            break
        seen += chunk
    return seen


async def _delete_with_one_terminal(
    fake: FakeLaunchDarkly, integration_id: str, terminal: Literal["stdin", "stderr"]
) -> tuple[int, bytes]:
    """``ldstore delete`` with ``terminal`` a pty and the other stream a pipe; "y" typed or piped."""
    master, slave = pty.openpty()
    environment = clean_environment(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN=fake.token)
    process = await asyncio.create_subprocess_exec(
        ldstore_executable(),
        "delete",
        *by_id(integration_id),
        stdin=slave if terminal == "stdin" else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=slave if terminal == "stderr" else asyncio.subprocess.PIPE,
        env=environment,
        start_new_session=True,
    )
    os.close(slave)
    try:
        if terminal == "stdin":
            _ = os.write(master, b"y\n")  # typed at the terminal, in advance
            _, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
        else:
            _, _ = await asyncio.wait_for(process.communicate(b"y\n"), TIMEOUT)
            stderr = _drain(master)
    finally:
        if process.returncode is None:
            process.kill()
            _ = await process.wait()
        os.close(master)
    assert process.returncode is not None
    return process.returncode, stderr


@pytest.mark.parametrize("terminal", ["stdin", "stderr"])
async def test_one_terminal_is_not_enough_for_consent(
    fake: FakeLaunchDarkly, terminal: Literal["stdin", "stderr"]
) -> None:
    """With only stdin or only stderr a terminal, "y" deletes nothing: exit 2, no DELETE."""
    seeded = fake.seed_integration(
        "default", "production", "redis", name="keep me", config={"host": "h"}
    )

    code, stderr = await _delete_with_one_terminal(fake, seeded["_id"], terminal)

    assert code == 2, stderr
    assert b"needs --yes" in stderr
    assert b"[y/N]" not in stderr  # nobody was asked
    assert fake.get_integration(seeded["_id"]) is not None
    assert [r.method for r in fake.requests if r.method != "GET"] == []  # bound: reads only


class _Stream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, text: str = "", *, terminal: bool) -> None:
        super().__init__(text)
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize(
    ("stdin_tty", "stderr_tty"), [(True, False), (False, True), (False, False)]
)
def test_confirm_asks_only_with_both_ends_on_a_terminal(
    stdin_tty: bool,  # noqa: FBT001 - parameters
    stderr_tty: bool,  # noqa: FBT001
) -> None:
    """confirm(): either stream off a terminal is NOT_A_TERMINAL, the "y" left unread."""
    reader, writer = _Stream("y\n", terminal=stdin_tty), _Stream(terminal=stderr_tty)

    answer = confirm("Delete?", assume_yes=False, stdin=reader, stderr=writer)

    assert answer is Answer.NOT_A_TERMINAL
    assert reader.tell() == 0  # not a byte of the piped consent was read
    assert writer.getvalue() == ""


def test_confirm_takes_yes_from_a_person_at_a_terminal() -> None:
    """Both ends a terminal: "y" is consent, anything else declines."""
    yes = confirm("Delete?", assume_yes=False, stdin=_Stream("y\n", terminal=True),
                  stderr=_Stream(terminal=True))  # fmt: skip
    no = confirm("Delete?", assume_yes=False, stdin=_Stream("\n", terminal=True),
                 stderr=_Stream(terminal=True))  # fmt: skip

    assert (yes, no) == (Answer.YES, Answer.DECLINED)
