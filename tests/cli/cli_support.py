"""The one runner: the installed ``ldstore`` console script as a subprocess, as users run it.

Plain pipes by default; ``run_on_terminal`` gives it a pseudo-terminal (stdlib ``pty``) for
what only happens at a terminal: questions, password prompts, the live progress line.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import select
import signal
import termios
import time
from collections.abc import Mapping
from typing import Any, cast

import attrs
from ldstore_process import clean_environment, ldstore_executable
from sdk import ENVIRONMENT, PROJECT

from ldstore.testing import FakeLaunchDarkly

SCOPE = ("--project", PROJECT, "--environment", ENVIRONMENT, "--integration", "redis")
TIMEOUT = 20.0  # seconds for one command, far above what any takes


@attrs.frozen
class Completed:
    """What one ``ldstore`` run left: its exit code and its output."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def assert_one_error_line(self, *parts: str) -> None:
        """stderr is one ``ldstore: error:`` line holding every part, and no traceback."""
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("ldstore: error: "), self.stderr
        for part in parts:
            assert part in lines[0], (part, self.stderr)


async def spawn(
    *args: str, env: Mapping[str, str] | None = None, program: tuple[str, ...] = ()
) -> asyncio.subprocess.Process:
    """Start ``ldstore *args`` (or ``program *args``) with pipes, for tests that talk to it."""
    return await asyncio.create_subprocess_exec(
        *(program or (ldstore_executable(),)),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env) if env is not None else clean_environment(),
    )


async def run(
    *args: str, env: Mapping[str, str] | None = None, stdin: str = "", timeout: float = TIMEOUT
) -> Completed:
    """Run ``ldstore *args`` to the end with ``env`` (default: a clean one) and ``stdin``."""
    process = await spawn(*args, env=env)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode()), timeout)
    except asyncio.TimeoutError:
        process.kill()
        _ = await process.wait()
        raise
    code = process.returncode
    assert code is not None
    return Completed(code, stdout.decode(), stderr.decode())


async def run_against(
    fake: FakeLaunchDarkly, *args: str, stdin: str = "", **extra_env: str
) -> Completed:
    """Run ``ldstore *args`` with ``LD_BASE_URI`` and ``LD_ACCESS_TOKEN`` naming ``fake``."""
    environment = clean_environment(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN=fake.token)
    environment.update(extra_env)
    return await run(*args, env=environment, stdin=stdin)


def by_id(integration_id: str) -> tuple[str, ...]:
    """The flags naming one Redis integration in default/production."""
    return (*SCOPE, "--integration-id", integration_id)


def last_error_id(fake: FakeLaunchDarkly) -> str:
    """The error id of the fake's last answer."""
    body = json.loads(fake.requests[-1].response_body)
    return cast("str", body["id"])


@attrs.frozen
class Screen:
    """What a run at a pseudo-terminal left: exit code, stdout (a pipe), the terminal's text."""

    code: int
    stdout: str
    terminal: str


def _take_terminal() -> None:  # pragma: no cover - runs in the child, before exec
    # Make the pty (already stdin) this new session's controlling terminal, so getpass
    # finds it at /dev/tty as it would in a real shell.
    _ = fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_until(master: int, wanted: str, deadline: float) -> str:
    """The terminal's output up to and including ``wanted`` (or to EOF, for "")."""
    seen = b""
    while not wanted or wanted.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            msg = f"no {wanted!r} on the terminal; it showed {seen!r}"
            raise AssertionError(msg)
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            chunk = b""
        if not chunk:
            if wanted:
                msg = f"the terminal closed before {wanted!r}; it showed {seen!r}"
                raise AssertionError(msg)
            break
        seen += chunk
    return seen.decode(errors="replace")


async def run_on_terminal(
    fake: FakeLaunchDarkly,
    *args: str,
    answers: tuple[tuple[str, str], ...] = (),
    interrupt_after: str | None = None,
) -> Screen:
    """Run ``ldstore *args`` at a pseudo-terminal (stdin and stderr), aimed at ``fake``.

    For each ``(prompt, reply)`` in ``answers``, wait for ``prompt`` on the terminal and
    type ``reply``; with ``interrupt_after``, wait for that text and send SIGINT.
    """
    master, slave = pty.openpty()
    environment = clean_environment(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN=fake.token)
    process = await asyncio.create_subprocess_exec(
        ldstore_executable(),
        *args,
        stdin=slave,
        stdout=asyncio.subprocess.PIPE,
        stderr=slave,
        env=environment,
        start_new_session=True,
        preexec_fn=_take_terminal,
    )
    os.close(slave)
    deadline = time.monotonic() + TIMEOUT
    shown: list[str] = []
    try:
        for prompt, reply in answers:
            shown.append(await asyncio.to_thread(_read_until, master, prompt, deadline))
            _ = os.write(master, reply.encode())
        if interrupt_after is not None:
            shown.append(await asyncio.to_thread(_read_until, master, interrupt_after, deadline))
            process.send_signal(signal.SIGINT)
        assert process.stdout is not None
        stdout = await asyncio.wait_for(process.stdout.read(), TIMEOUT)
        code = await asyncio.wait_for(process.wait(), TIMEOUT)
        shown.append(await asyncio.to_thread(_read_until, master, "", deadline))
    finally:
        if process.returncode is None:
            process.kill()
            _ = await process.wait()
        os.close(master)
    return Screen(code, stdout.decode(), "".join(shown).replace("\r\n", "\n"))
