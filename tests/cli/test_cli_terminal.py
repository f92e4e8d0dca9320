"""Issue 20, class 5: the terminal is an attack surface.

Whatever a server (or anyone who can create an integration) puts in a name, a tag, a key,
a config value, a sync error or an error message, the human-readable output shows control
characters, C1 controls and bidirectional overrides escaped; ``--output json`` stays exact
JSON. The property runs the real ``ldstore`` entry point (``ldstore.cli.main``) in this
process against a fake served on 127.0.0.1 from a thread of its own; one test runs the
installed console script to check the bytes a terminal would receive.

The bound, in bytes on the terminal: not one byte of a C0 control (other than the newlines
ldstore writes), DEL, a C1 control or a bidi/line-separator character, and each field at
most six characters per character (``\\u202e``), so the output stays within a fixed frame
plus six times what the server sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import threading
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cli_support import run_against
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ldstore_process import clean_environment

from ldstore.cli import main
from ldstore.cli._logging import logging_to_stderr
from ldstore.cli._screen import Out
from ldstore.testing import FakeLaunchDarkly, ServerError

T = TypeVar("T")

# Each example runs the CLI a few times (~10 ms each): a few dozen examples, not shrunk
# (a failure prints its example as generated; shrinking would rerun the CLI for minutes).
_FEW = settings(
    max_examples=25,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every character printable() must escape: C0 (but the newline ldstore writes itself is
# checked apart), DEL, C1, and the Unicode format characters that reorder or break lines.
DANGEROUS = frozenset(
    [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]
    + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029", "\ufeff"]
    + [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]
)
# The attacks themselves, so hypothesis starts from the worst: clear the screen, set the
# clipboard (OSC 52), rewrite the line, a C1 CSI, a right-to-left override, a forged line.
ATTACKS = (
    "\x1b[2J",
    "\x1b]52;c;ZXZpbA==\x07",
    "\r\x1b[K",
    "\x9b31m",
    "\u202etxt.exe",
    "\nldstore: error: forged",
)
SIX = 6  # the longest escape of one character: \uXXXX

_hostile_part = st.one_of(
    st.sampled_from(sorted(DANGEROUS)),
    st.sampled_from(ATTACKS),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=4),
)
# A key or a name: hostile parts after a letter, so it is never empty, ".", "..", or
# taken for a flag on the command line.
hostile = st.lists(_hostile_part, min_size=1, max_size=5).map(lambda parts: "k" + "".join(parts))


class _FakeThread:
    """A FakeLaunchDarkly served by an event loop on a thread of its own, so the CLI can
    run its own ``asyncio.run`` in the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.fake = FakeLaunchDarkly(sync_delay=0)

    def start(self) -> None:
        self.thread.start()
        _ = self.call(self.fake.__aenter__)

    def call(self, function: Callable[[], Awaitable[T]]) -> T:
        async def run() -> T:
            return await function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def do(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the fake's loop: its state changes only there."""

        async def run() -> T:
            return function()

        return self.call(run)

    def stop(self) -> None:
        _ = self.call(lambda: self.fake.__aexit__(None, None, None))
        _ = self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def served() -> Iterator[_FakeThread]:
    """One fake for the module's examples, and no LD_* setting or config file of the user."""
    server = _FakeThread()
    server.start()
    with pytest.MonkeyPatch.context() as patch:
        for key in [key for key in __import__("os").environ if key.startswith(("LD_", "LDSTORE_"))]:
            patch.delenv(key)
        patch.setenv("XDG_CONFIG_HOME", clean_environment()["XDG_CONFIG_HOME"])
        yield server
    server.stop()


def _ldstore(served: _FakeThread, *args: str) -> tuple[int, str, str]:
    """Run ``ldstore *args`` in this process against the fake: exit code, stdout, stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    connection = ("--base-uri", served.fake.url, "--access-token", served.fake.token)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([*args, *connection, "--retry-budget", "0"])
    return code, stdout.getvalue(), stderr.getvalue()


def _assert_terminal_safe(text: str, *fields: str, frame: int = 1200) -> None:
    """No dangerous character but ldstore's own newlines, and the size bound."""
    assert not (set(text) - {"\n"}) & DANGEROUS, ascii(text)
    assert all(unicodedata.category(c) != "Cc" for c in text.replace("\n", "")), ascii(text)
    assert len(text) <= frame + SIX * sum(len(field) for field in fields), len(text)


def _seed(served: _FakeThread, project: str, environment: str, **fields: Any) -> dict[str, Any]:
    def seed() -> dict[str, Any]:
        served.fake.reset()
        return served.fake.seed_integration(project, environment, "redis", **fields)

    return served.do(seed)


@_FEW
@given(
    project=hostile,
    environment=hostile,
    name=hostile,
    tags=st.lists(hostile, min_size=1, max_size=3),
    host=hostile,
    sync_error=hostile,
)
def test_server_text_reaches_the_terminal_escaped_and_json_exact(  # noqa: PLR0913, PLR0917 - the fields
    served: _FakeThread,
    project: str,
    environment: str,
    name: str,
    tags: list[str],
    host: str,
    sync_error: str,
) -> None:
    """list and get print every server field escaped for people, exact in JSON."""
    seeded = _seed(
        served, project, environment, name=name, tags=tags, config={"host": host}, on=True
    )
    integration_id: str = seeded["_id"]
    served.do(
        lambda: served.fake.set_status(
            integration_id, available=False, errors=[{"statusCode": 500, "message": sync_error}]
        )
    )
    scope = ("--project", project, "--environment", environment, "--integration", "redis")
    fields = (project, environment, name, *tags, host, sync_error, integration_id)

    listed = _ldstore(served, "list")
    shown = _ldstore(served, "get", *scope, "--integration-id", integration_id)
    listed_json = _ldstore(served, "list", "--output", "json")
    shown_json = _ldstore(served, "get", *scope, "--integration-id", integration_id, "-o", "json")

    assert listed[0] == shown[0] == listed_json[0] == shown_json[0] == 0, (listed, shown)
    for _, stdout, stderr in (listed, shown):
        _assert_terminal_safe(stdout + stderr, *fields)
    assert len(listed[1].splitlines()) == 2  # the header and one row: no line forged
    assert len(shown[1].splitlines()) == 15  # 12 fields, one sync error, Config: and its key
    (item,) = json.loads(listed_json[1])["items"]
    assert (item["projectKey"], item["environmentKey"]) == (project, environment)
    assert (item["name"], item["tags"]) == (name, tags)
    one = json.loads(shown_json[1])
    assert one["config"]["host"] == host
    assert one["_status"]["errors"][0]["message"] == sync_error


@_FEW
@given(message=hostile, code=hostile, error_id=hostile, project=hostile)
def test_server_error_text_reaches_stderr_escaped_and_json_exact(
    served: _FakeThread, message: str, code: str, error_id: str, project: str
) -> None:
    """An error's message, code and id from the server: one escaped line, or exact JSON."""
    body = json.dumps({"code": code, "message": message, "id": error_id})
    fault = ServerError(status=400, body=body, content_type="application/json")

    def schedule() -> None:
        served.fake.reset()
        served.fake.schedule(fault, times=2)

    served.do(schedule)

    code_line, stdout, stderr = _ldstore(served, "list", "--project", project)
    code_json, _, stderr_json = _ldstore(served, "list", "--project", project, "-o", "json")

    assert code_line == code_json == 1
    _assert_terminal_safe(stdout + stderr, message, code, error_id, project)
    assert stderr.count("\n") == 1, ascii(stderr)  # one error line: nothing forged
    error = json.loads(stderr_json)["error"]
    assert (error["code"], error["id"]) == (code, error_id)
    # The message is the error line's own (whitespace runs made one space), not escaped.
    assert error["message"] == " ".join(f"HTTP 400 {code}: {message} (error id {error_id})".split())


@given(text=hostile)
def test_log_records_are_one_escaped_line(text: str) -> None:
    """A log record built from server data (args or message) cannot forge a line."""
    stderr = io.StringIO()
    args = type("Args", (), {"debug": True, "quiet": False, "output": "table"})()
    logger = logging.getLogger("ldstore")

    with contextlib.redirect_stderr(stderr), logging_to_stderr(args):  # pyright: ignore[reportArgumentType]
        logger.info("server said %s", text)
        logger.warning(text)

    lines = stderr.getvalue().splitlines()
    assert len(lines) == 2, ascii(stderr.getvalue())
    _assert_terminal_safe(stderr.getvalue(), text, text, frame=100)


async def test_the_console_script_writes_no_control_byte(fake: FakeLaunchDarkly) -> None:
    """The installed script, every attack at once: no raw control byte on stdout or stderr."""
    hostile_text = "k" + "".join(ATTACKS) + "".join(sorted(DANGEROUS - {"\x00"}))
    seeded = fake.seed_integration(
        "default", "production", "redis", name=hostile_text, config={"host": hostile_text},
        tags=[hostile_text],
    )  # fmt: skip
    by_id = ("--project", "default", "--environment", "production", "--integration", "redis",
             "--integration-id", seeded["_id"])  # fmt: skip
    body = json.dumps({"code": hostile_text, "message": hostile_text, "id": hostile_text})
    fake.schedule(ServerError(status=503, body=body, content_type="application/json"))

    listed = await run_against(fake, "list", "--debug", "--retry-budget", "5")
    shown = await run_against(fake, "get", *by_id)

    assert listed.code == shown.code == 0, (listed, shown)
    for completed in (listed, shown):
        raw = (completed.stdout + completed.stderr).encode()
        assert not {b for b in raw if (b < 0x20 and b != 0x0A) or b == 0x7F}, raw
        _assert_terminal_safe(completed.stdout + completed.stderr, *[hostile_text] * 4)
    assert "\\x1b[2J" in listed.stdout
    assert "\\x1b[2J" in listed.stderr  # the retried 503's message, in the --debug log


_WORST = "k" + "".join(ATTACKS) + "\x85\u2028"


def test_wait_and_apply_print_server_text_escaped(served: _FakeThread, tmp_path: Path) -> None:
    """wait's result line and apply's plan show keys, names and IDs escaped, one a line."""
    seeded = _seed(served, _WORST, _WORST, name=_WORST, tags=[_WORST], config={"host": "h"})
    served.do(lambda: served.fake.set_status(seeded["_id"], available=True))
    scope = ("--project", _WORST, "--environment", _WORST, "--integration", "redis")
    desired = tmp_path / "desired.json"
    _ = desired.write_text(
        json.dumps(
            [{"project": _WORST, "environment": _WORST, "store": "redis", "name": "n",
              "config": {"host": "h"}}]
        )
    )  # fmt: skip

    waited = _ldstore(
        served, "wait", *scope, "--integration-id", seeded["_id"], "--interval", "0.1"
    )
    planned = _ldstore(served, "apply", "-f", str(desired), "--prune", "--dry-run")

    assert waited[0] == planned[0] == 0, (waited, planned)
    for _, stdout, stderr in (waited, planned):
        _assert_terminal_safe(stdout + stderr, *[_WORST] * 6)
    assert len(waited[1].splitlines()) == 1
    assert [line[:1] for line in planned[1].splitlines()] == ["+", "-", "", "P"]  # none forged


def test_the_tour_escapes_what_it_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """demo --live prints names from the account: escaped, only the tour's own emphasis."""
    out = Out(emphasis=True)

    out.result(_WORST)
    out.heading(_WORST)

    shown = capsys.readouterr().out
    ours = shown.replace("\x1b[1m", "").replace("\x1b[0m", "")
    _assert_terminal_safe(ours, _WORST, _WORST)
    assert "\\x1b[2J" in ours


def test_config_list_shows_a_setting_escaped(
    served: _FakeThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config value holding escape sequences is listed escaped (it is only a setting)."""
    monkeypatch.setenv("LDSTORE_CONFIG", str(tmp_path / "config.toml"))
    hostile_value = _WORST.replace("\n", "").replace("\r", "")

    set_code, _, set_err = _ldstore_offline("config", "--set", "project", hostile_value)
    code, stdout, stderr = _ldstore_offline("config", "--list")

    assert set_code == code == 0, (set_err, stderr)
    _assert_terminal_safe(stdout + stderr, hostile_value)


def _ldstore_offline(*args: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(args))
    return code, stdout.getvalue(), stderr.getvalue()


@_FEW
@given(integration_id=hostile, kind=hostile)
def test_ids_and_kinds_from_a_server_are_escaped(
    served: _FakeThread, integration_id: str, kind: str
) -> None:
    """A server answering a list with a hostile _id and store kind: escaped, JSON exact."""
    seeded = _seed(served, "default", "production", name="n", tags=[], config={"host": "h"})
    item = {**seeded, "_id": integration_id, "integrationKey": kind}
    links = {
        "self": {
            "href": "/api/v2/integration-capabilities/big-segment-store",
            "type": "application/json",
        }
    }
    body = json.dumps({"_links": links, "items": [item]})
    answer = ServerError(status=200, body=body, content_type="application/json")
    served.do(lambda: served.fake.schedule(answer, times=3))

    table = _ldstore(served, "list")
    quiet = _ldstore(served, "list", "-q")
    as_json = _ldstore(served, "list", "-o", "json")

    assert table[0] == quiet[0] == as_json[0] == 0, (table, quiet, as_json)
    for _, stdout, stderr in (table, quiet):
        _assert_terminal_safe(stdout + stderr, integration_id, kind)
    assert len(quiet[1].splitlines()) == 1
    assert len(table[1].splitlines()) == 2  # the header and one row
    (shown,) = json.loads(as_json[1])["items"]
    assert (shown["_id"], shown["integrationKey"]) == (integration_id, kind)
