"""The README's shell examples run as written, against a fake the test starts.

The rules, for whoever adds a shell example to the README:

- Every ```console, ```sh and ```bash block runs, each in a fresh ``bash`` whose working
  directory is an empty temporary one, with ``LD_BASE_URI`` and ``LD_ACCESS_TOKEN``
  naming a fake API this test serves on 127.0.0.1 (and no config file). Exports and
  background jobs last until the end of their block; the jobs are then stopped.
- A block's commands run in order, and each must exit 0. A command is a line, with the
  lines a trailing ``\\`` continues; blank lines and ``#`` lines are not commands. In a
  block that uses ``$ `` prompts, only the prompted lines are commands (the rest is
  output).
- A block preceded by a ``<!-- not-run: reason -->`` line does not run; say why in
  the reason. Prefer a runnable example.
- Stand-ins, so that the commands run here as they would for a reader:
  ``$ID`` is a Redis integration the test seeded in default/production (tags
  ``legacy``); every command reads ``redis-password`` on stdin (``--password-stdin``);
  ``stores.toml`` is the README's apply-file example (its ```toml block); a fixed
  ``--port N`` (and ``127.0.0.1:N``) becomes a free port, so that two runs at once
  cannot collide, and after a command that starts a server in the background the
  script waits for that port to accept connections, as a reader waits for the
  ``listening on`` line; ``.venv/bin/ldstore`` is the installed ``ldstore``.
- Skipped commands, each for a reason (``SKIPS`` below): ``./check`` (it runs this
  suite), creating a virtualenv and ``pip install`` (a minute and the package index;
  this suite runs where that was done), ``ldstore mcp`` (a stdio server that runs until
  its client leaves; the MCP tests drive it with a real client) and ``ldstore doctor``
  (it reads a Redis or DynamoDB store the README's URL names, which does not run here;
  the doctor tests run it against redis-server and moto).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from ldstore.testing import FakeLaunchDarkly

README = Path(__file__).resolve().parents[1] / "README.md"
TIMEOUT = 120.0  # seconds for one block, far above what any takes
_FENCE = re.compile(
    r"(?:<!-- not-run: (?P<reason>[^>]*?) -->\s*\n)?^```(?P<lang>\w*)\n(?P<body>.*?)^```",
    re.DOTALL | re.MULTILINE,
)
_SHELLS = frozenset({"console", "sh", "bash"})
_PORT = re.compile(r"(?<=--port )\d{4,5}\b|(?<=127\.0\.0\.1:)\d{4,5}\b|(?<=localhost:)\d{4,5}\b")
_BACKGROUND_PORT = re.compile(r"--port (\d+)\b.*&\s*(#.*)?$", re.DOTALL)

# (pattern, reason): a command part (between `&&`) matching a pattern does not run.
SKIPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\./check\b"), "runs this very test suite"),
    (
        re.compile(r"^python3? -m venv\b"),
        "creates a virtualenv: the suite runs in one already",
    ),
    (
        re.compile(r"^(\S*/)?(python3? -m )?pip3? install\b"),
        "installs from the package index (a minute, a network): done before the suite runs",
    ),
    (
        re.compile(r"^(python3? -m )?ldstore mcp\b"),
        "an MCP server on stdio, running until its client leaves: the MCP tests drive it",
    ),
    (
        re.compile(r"^(python3? -m )?ldstore doctor\b"),
        "reads a live Redis or DynamoDB store, which does not run here: see the doctor tests",
    ),
)


@attrs.frozen
class Block:
    """One shell block of the README: where it is, and its commands."""

    line: int
    commands: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (command part, reason)

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def _commands(body: str) -> Iterator[str]:
    lines = body.splitlines()
    prompted = any(line.startswith("$ ") for line in lines)
    command: list[str] = []
    for line in lines:
        if command:
            command.append(line)
        elif prompted and not line.startswith("$ "):
            continue
        elif line.strip() and not line.lstrip().startswith("#"):
            command.append(line.removeprefix("$ "))
        if command and not line.endswith("\\"):
            yield "\n".join(command)
            command = []
    if command:
        yield "\n".join(command)


def _without_skipped(command: str) -> tuple[str | None, list[tuple[str, str]]]:
    """The command with its skipped `&&` parts removed (None if none is left), and those."""
    kept: list[str] = []
    skipped: list[tuple[str, str]] = []
    for part in command.split(" && "):
        reason = next((why for pattern, why in SKIPS if pattern.match(part.strip())), None)
        if reason is None:
            kept.append(part)
        else:
            skipped.append((part.strip(), reason))
    return (" && ".join(kept) if kept else None), skipped


def _blocks(text: str) -> tuple[list[Block], list[tuple[str, str]], str | None]:
    """The shell blocks to run, the blocks opted out (with reasons), and the apply file."""
    blocks: list[Block] = []
    opted_out: list[tuple[str, str]] = []
    apply_file: str | None = None
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start("body"))
        if match["lang"] == "toml" and "[[integration]]" in match["body"]:
            apply_file = apply_file or match["body"]
        if match["lang"] not in _SHELLS:
            continue
        if match["reason"] is not None:
            opted_out.append((f"README.md:{line}", match["reason"]))
            continue
        commands: list[str] = []
        skipped: list[tuple[str, str]] = []
        for command in _commands(match["body"]):
            kept, dropped = _without_skipped(command)
            skipped.extend(dropped)
            if kept is not None:
                commands.append(kept)
        blocks.append(Block(line, tuple(commands), tuple(skipped)))
    return blocks, opted_out, apply_file


BLOCKS, OPTED_OUT, APPLY_FILE = _blocks(README.read_text(encoding="utf-8"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _script(block: Block, ports: dict[str, str], work: Path) -> str:
    """Bash running each command with the stand-ins, logging `<index> <exit code>`."""
    lines = ["set -u"]
    for index, command in enumerate(block.commands):
        shown = _PORT.sub(lambda found: ports.setdefault(found[0], str(_free_port())), command)
        lines += [
            "{",
            shown,
            f'}} < "{work}/stdin" > "{work}/out.{index}" 2> "{work}/err.{index}"',
            f'echo "{index} $?" >> "{work}/codes"',
        ]
        background = _BACKGROUND_PORT.search(shown)
        if background:
            port = background[1]
            lines.append(
                f"for _ in $(seq 300); do (: <>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break;"
                " sleep 0.1; done"
            )
    lines += ["kill $(jobs -p) 2>/dev/null", "wait", "exit 0"]
    return "\n".join(lines)


def _environment(fake: FakeLaunchDarkly, work: Path, integration_id: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LD_", "LDSTORE_", "XDG_CONFIG_HOME", "NO_COLOR"))
    }
    environment.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        LD_BASE_URI=fake.url,
        LD_ACCESS_TOKEN=fake.token,
        XDG_CONFIG_HOME=str(work / "config"),
        ID=integration_id,
    )
    return environment


def _prepare(work: Path) -> None:
    """The working directory's stand-ins: stdin, stores.toml, .venv/bin/ldstore."""
    _ = (work / "stdin").write_text("redis-password\n", encoding="utf-8")
    if APPLY_FILE is not None:
        _ = (work / "stores.toml").write_text(APPLY_FILE, encoding="utf-8")
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "ldstore").symlink_to(Path(sys.executable).parent / "ldstore")


def test_the_readme_has_shell_examples_to_run() -> None:
    """The two commands, the command line and the shell workflow blocks are found and run."""
    commands = [command for block in BLOCKS for command in block.commands]

    assert len(BLOCKS) >= 3
    assert ".venv/bin/ldstore demo" in commands
    assert any(command.startswith("ldstore wait ") for command in commands)


def test_only_the_documented_commands_are_skipped() -> None:
    """Every skipped command matches one of SKIPS; an opted-out block gives its reason."""
    skipped = [part for block in BLOCKS for part, _ in block.skipped]

    assert "./check" in skipped
    assert all(reason.strip() for _, reason in OPTED_OUT)
    assert all(any(p.match(part) for p, _ in SKIPS) for part in skipped)


def test_the_rules_on_a_sample_readme() -> None:
    """Prompts, continuations, comments, the not-run marker and skipped `&&` parts."""
    sample = textwrap.dedent(
        """\
        ```console
        $ ldstore list \\
            --quiet
        6500d7a1e1c2b3a4f5e6d7c8
        $ ./check
        ```

        <!-- not-run: it opens a browser -->
        ```sh
        open https://example.com
        ```

        ```bash
        # set up, then tour
        python3 -m venv .venv && .venv/bin/pip install x && .venv/bin/ldstore demo
        ```
        """
    )

    blocks, opted_out, _ = _blocks(sample)

    assert [block.commands for block in blocks] == [
        ("ldstore list \\\n    --quiet",),
        (".venv/bin/ldstore demo",),
    ]
    assert [str(block) for block in blocks] == ["README.md:1", "README.md:13"]
    assert opted_out == [("README.md:9", "it opens a browser")]
    assert [part for block in blocks for part, _ in block.skipped] == [
        "./check",
        "python3 -m venv .venv",
        ".venv/bin/pip install x",
    ]


def test_the_wait_example_picks_an_id_in_its_own_environment() -> None:
    """The `wait` example filters `list -q` by project, environment and store kind."""
    text = README.read_text(encoding="utf-8")

    assert "ldstore list -q | head -1" not in text
    for found in re.finditer(r"ldstore list -q[^|)\n]*", text):
        words = shlex.split(found[0])
        assert {"--project", "--environment", "--integration"} <= set(words), found[0]


@pytest.mark.parametrize("block", BLOCKS, ids=str)
async def test_a_readme_shell_block_runs(
    block: Block, fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """Each command of the block exits 0, in order, against the fake LD_BASE_URI names."""
    stored = fake.seed_integration(
        "default",
        "production",
        "redis",
        name="Seeded",
        config={"host": "redis.internal", "port": "6379", "password": "hunter2"},
        tags=["legacy"],
    )
    _prepare(tmp_path)
    script = _script(block, {}, tmp_path)

    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        cwd=tmp_path,
        env=_environment(fake, tmp_path, str(stored["_id"])),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            _ = await process.wait()

    log = (tmp_path / "codes").read_text(encoding="utf-8") if block.commands else ""
    codes = [int(line.split()[1]) for line in log.splitlines()]
    assert process.returncode == 0, stderr.decode()
    assert len(codes) == len(block.commands), stderr.decode()
    failures = [
        (command, code, (tmp_path / f"err.{index}").read_text(encoding="utf-8"))
        for index, (command, code) in enumerate(zip(block.commands, codes, strict=True))
        if code != 0
    ]
    assert failures == []
