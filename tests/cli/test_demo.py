"""``ldstore demo`` through the installed script: its own fake by default, an account only with --live."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import attrs
import pytest
from cli_support import TIMEOUT, run, run_against
from ldstore_process import clean_environment, ldstore_executable

from ldstore.cli._demo import WIDTH
from ldstore.testing import MASKED_SECRET, FakeLaunchDarkly, ServerError

_STEPS = (
    "1. Say what should exist, and plan",
    "2. Apply the plan",
    "3. List",
    "4. Get it by ID",
    "5. Meanwhile, someone else changes it",
    "6. Switch it on, only if it is still at version 1",
    "7. Read it again, and retry at the version it has now",
    "8. Wait until",
    "9. Delete it",
    "10. Get it again",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROMPT = b"[y/N]"
ServeFake = Callable[[FakeLaunchDarkly], Awaitable[FakeLaunchDarkly]]  # conftest's serve_fake


@attrs.frozen
class _Terminal:
    """What a run on a pseudo-terminal left: its exit code and all it wrote there."""

    code: int
    output: str  # stdout and stderr together, "\r\n" back to "\n"


def _run_on_terminal(
    args: Sequence[str], env: Mapping[str, str], answer: str | None = None
) -> _Terminal:
    """Run ``ldstore *args`` with a pty as stdin, stdout and stderr; type ``answer`` when asked."""
    master, slave = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [ldstore_executable(), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(env),
        start_new_session=True,
    )
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every copy of the terminal's other end is closed
                break
            if not chunk:
                break
            output += chunk
            if answer is not None and _PROMPT in output:
                _ = os.write(master, answer.encode())
                answer = None
        code = process.wait(timeout=TIMEOUT)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            _ = process.wait()
    return _Terminal(code, output.decode().replace("\r\n", "\n"))


async def on_terminal(*args: str, env: Mapping[str, str], answer: str | None = None) -> _Terminal:
    """``_run_on_terminal`` in a thread, so that a fake served by this loop keeps answering."""
    return await asyncio.to_thread(_run_on_terminal, args, env, answer)


def _too_wide(text: str) -> list[str]:
    return [line for line in _ANSI.sub("", text).splitlines() if len(line) > WIDTH]


@pytest.fixture(scope="module")
def piped() -> subprocess.CompletedProcess[str]:
    """One `ldstore demo` through pipes, shared by the tests that only read its output."""
    return subprocess.run(  # noqa: S603 - our own console script
        [ldstore_executable(), "demo", "--sync-delay", "0"],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def on_a_tty() -> _Terminal:
    """One `ldstore demo` on a pseudo-terminal (TERM=xterm, no NO_COLOR), shared likewise."""
    return _run_on_terminal(("demo", "--sync-delay", "0"), clean_environment(TERM="xterm"))


def test_demo_walks_every_step_against_its_own_fake(
    piped: subprocess.CompletedProcess[str],
) -> None:
    """`ldstore demo` needs no account: each numbered step, its command and call, exit 0."""
    stdout = piped.stdout

    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    positions = [stdout.index(step) for step in _STEPS]
    assert positions == sorted(positions)
    assert "ldstore.testing.FakeLaunchDarkly" in stdout
    assert "A big segment store is your own Redis or DynamoDB" in stdout
    assert "   $ ldstore apply -f stores.toml --dry-run" in stdout
    assert ">>> planned = (await plan(core, desired)).unwrap()" in stdout
    assert "+ create redis default/test 'ldstore demo " in stdout
    assert ">>> report = (await apply(core, planned)).unwrap()" in stdout
    assert f"password={MASKED_SECRET}" in stdout
    assert "demo-s3cret" in stdout  # in the code shown, never in a result
    assert "is available, after" in stdout
    assert "Err(NotFoundError): HTTP 404 not_found" in stdout
    assert "`ldstore doctor redis --url" in stdout


def test_every_step_shows_its_ldstore_command_beside_the_python(
    piped: subprocess.CompletedProcess[str],
) -> None:
    """Each numbered step prints a `$ ldstore ...` line and a `>>>` line."""
    steps = re.split(r"\n(?=\d+\. )", piped.stdout)[1:]

    assert [step.split(".")[0] for step in steps] == [str(n) for n in range(1, 11)]
    for step in steps:
        assert "\n   $ ldstore " in step, step
        assert "\n   >>> " in step, step


def test_the_conflict_is_a_real_409_from_a_change_made_behind_its_back(
    piped: subprocess.CompletedProcess[str],
) -> None:
    """Step 6's StatusConflictError comes from the server, after a raw patch bumped the version."""
    stdout = piped.stdout

    changed = stdout.index("Ok: now at version 2, tags demo, edited-elsewhere")
    conflict = stdout.index("Err(StatusConflictError): HTTP 409")
    retried = stdout.index("Ok: on=True, now at version 3")

    assert changed < conflict < retried
    assert "Had someone changed it" not in stdout


def test_no_line_is_wider_than_80_columns(
    piped: subprocess.CompletedProcess[str], on_a_tty: _Terminal
) -> None:
    """Bound: every line of the tour (pipe or terminal, emphasis aside) fits 80 columns."""
    assert piped.returncode == 0, piped.stderr
    assert on_a_tty.code == 0, on_a_tty.output
    assert len(piped.stdout.splitlines()) > 50
    assert _too_wide(piped.stdout) == []
    assert _too_wide(on_a_tty.output) == []


async def test_long_names_from_the_account_still_fit_80_columns(fake: FakeLaunchDarkly) -> None:
    """Bound: 80 columns even with --live and a 120-character environment key."""
    environment = "e" * 120
    fake.add_environment("default", environment)

    result = await run_against(fake, "demo", "--live", "--yes", "--environment", environment)

    assert result.code == 0, result.stderr
    assert environment[:60] in result.stdout
    assert _too_wide(result.stdout) == []


async def test_emphasis_only_on_a_terminal_and_never_with_no_color(
    piped: subprocess.CompletedProcess[str], on_a_tty: _Terminal
) -> None:
    """Bold and dim on a terminal; none through a pipe, nor on a terminal with NO_COLOR set."""
    no_color = await on_terminal(
        "demo", "--sync-delay", "0", env=clean_environment(TERM="xterm", NO_COLOR="1")
    )

    assert "\x1b[" not in piped.stdout
    assert "\x1b[1m1. Say what should exist" in on_a_tty.output
    assert "\x1b[2m" in on_a_tty.output
    assert no_color.code == 0, no_color.output
    assert "\x1b[" not in no_color.output
    assert "1. Say what should exist" in no_color.output


async def test_ld_base_uri_without_live_sends_that_server_nothing(fake: FakeLaunchDarkly) -> None:
    """Bound: 0 requests reach the server LD_BASE_URI names; the demo uses its own fake."""
    result = await run_against(fake, "demo", "--sync-delay", "0")

    assert result.code == 0, result.stderr
    assert fake.requests == []
    assert fake.url not in result.stdout
    assert "ldstore.testing.FakeLaunchDarkly" in result.stdout


async def test_live_with_yes_runs_there_and_cleans_up(fake: FakeLaunchDarkly) -> None:
    """--live --yes: the tour runs on LD_BASE_URI's server, meets a 409 there, leaves nothing."""
    result = await run_against(fake, "demo", "--live", "--yes", "--environment", "production")

    assert result.code == 0, result.stderr
    assert f"against {fake.url}" in result.stdout
    assert fake.token not in result.stdout + result.stderr
    operations = [request.operation_id for request in fake.requests]
    assert "createBigSegmentStoreIntegration" in operations
    assert operations[-2:] == ["deleteBigSegmentStoreIntegration", "getBigSegmentStoreIntegration"]
    statuses = [
        r.status for r in fake.requests if r.operation_id == "patchBigSegmentStoreIntegration"
    ]
    assert statuses == [200, 409, 200]
    assert {r.path_params.get("environmentKey") for r in fake.requests} <= {None, "production"}
    assert fake.integrations == []


async def test_live_without_a_terminal_or_yes_sends_nothing(fake: FakeLaunchDarkly) -> None:
    """Bound: --live from a script without --yes exits 2 naming the server; 0 requests sent."""
    result = await run_against(fake, "demo", "--live")

    assert result.code == 2
    result.assert_one_error_line("--yes", fake.url, "nothing was sent")
    assert fake.token not in result.stdout + result.stderr
    assert fake.requests == []


async def test_live_on_a_terminal_answered_no_sends_nothing(fake: FakeLaunchDarkly) -> None:
    """Bound: asked on a terminal and answered "n", the demo exits 2; 0 requests sent."""
    env = clean_environment(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN=fake.token, TERM="xterm")

    shown = await on_terminal("demo", "--live", env=env, answer="n\n")

    assert shown.code == 2, shown.output
    assert f"Run the demo on {fake.url} (default/test)? [y/N]" in shown.output
    assert "nothing was sent" in shown.output
    assert fake.token not in shown.output
    assert fake.requests == []


async def test_live_on_a_terminal_answered_yes_runs(fake: FakeLaunchDarkly) -> None:
    """Answered "y" on a terminal, the --live tour runs on that server and cleans up."""
    env = clean_environment(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN=fake.token, TERM="xterm")

    shown = await on_terminal("demo", "--live", env=env, answer="y\n")

    assert shown.code == 0, shown.output
    assert fake.requests
    assert fake.integrations == []
    assert fake.token not in shown.output


async def test_flags_naming_an_account_need_live(fake: FakeLaunchDarkly) -> None:
    """--base-uri, --access-token, --environment or --yes without --live: exit 2, 0 requests."""
    results = [
        await run("demo", "--base-uri", fake.url),
        await run("demo", "--access-token", fake.token, "--environment", "production"),
        await run("demo", "--yes"),
    ]

    assert [result.code for result in results] == [2, 2, 2]
    results[0].assert_one_error_line("--base-uri only applies with --live")
    results[1].assert_one_error_line("--access-token, --environment only apply with --live")
    assert fake.token not in results[1].stderr
    results[2].assert_one_error_line("--yes only applies with --live")
    assert fake.requests == []


async def test_options_the_demo_cannot_honour_are_refused() -> None:
    """-o json, -q (not offered on demo), and --sync-delay with --live: exit 2, not ignored."""
    results = [
        await run("demo", "--output", "json"),
        await run("-q", "demo"),
        await run("demo", "--live", "--sync-delay", "0", "--base-uri", "http://127.0.0.1:9"),
    ]

    assert [result.code for result in results] == [2, 2, 2]
    assert "unknown flag --output" in results[0].stderr
    assert "demo does not take --quiet" in results[1].stderr
    results[2].assert_one_error_line("--sync-delay")


async def test_live_without_a_token_is_a_usage_error() -> None:
    """--live with no LD_ACCESS_TOKEN: exit 2 before anything is sent."""
    result = await run("demo", "--live", "--yes", "--base-uri", "http://127.0.0.1:9")

    assert result.code == 2
    result.assert_one_error_line("no access token")


@pytest.mark.parametrize(
    ("operation", "every"),
    [
        ("getBigSegmentStoreIntegrations", 1),  # the plan's list: nothing created yet
        ("createBigSegmentStoreIntegration", 1),  # the apply
        ("getBigSegmentStoreIntegration", 1),  # step 4
        ("getBigSegmentStoreIntegration", 2),  # the re-read of step 7
        ("patchBigSegmentStoreIntegration", 1),  # the change behind its back
        ("deleteBigSegmentStoreIntegration", 1),  # step 9; the clean-up deletes again
    ],
)
async def test_a_failed_step_is_one_error_line_and_leaves_nothing_behind(
    fake: FakeLaunchDarkly, operation: str, every: int
) -> None:
    """A 502 at any step: one error line naming it, exit 1, and no integration left over."""
    fake.schedule(ServerError(502), operation=operation, every=every, times=1)

    result = await run_against(fake, "demo", "--live", "--yes", "--retry-budget", "0")

    assert result.code == 1
    result.assert_one_error_line("HTTP 502")
    assert fake.integrations == []


async def test_a_store_that_never_syncs_is_reported_and_the_tour_goes_on(
    serve_fake: ServeFake,
) -> None:
    """--live where the store stays unsynced past --wait-timeout: NotAvailableError, exit 0."""
    fake = await serve_fake(FakeLaunchDarkly(sync_delay=3600))

    result = await run_against(fake, "demo", "--live", "--yes", "--wait-timeout", "0.3")

    assert result.code == 0, result.stderr
    assert "Err(NotAvailableError)" in result.stdout
    assert "Expected against a real account" in result.stdout
    assert fake.integrations == []
