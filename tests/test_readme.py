"""The README's Python examples run as written, against a fake the test starts.

Rules (the shell blocks have theirs in ``test_readme_shell.py``):

- Every ```python block compiles (top-level ``await`` allowed, as in a notebook).
- Every block without a marker is a whole program: it runs as ``python -c BLOCK ID``
  with ``LD_BASE_URI`` and ``LD_ACCESS_TOKEN`` naming a fake this test serves on
  127.0.0.1, and exits 0. ``ID`` is a Redis integration the test seeded in
  default/production, for the examples that take one (``python enable.py ID``).
- A block preceded by a ``<!-- not-run: reason -->`` line is compiled only; the reason
  says why it cannot run here, and starts with ``fragment`` for a piece of a program
  (top-level ``await``, a pytest test module). The pytest fragment runs under pytest.
- The README's shell examples aim at one fake port.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

from ldstore import Core
from ldstore.testing import FakeLaunchDarkly

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(
    r"(<!-- not-run: (?P<reason>[^>]*?) -->\s*\n)?```python\n(?P<code>.*?)```", re.DOTALL
)
BLOCKS = [match["code"] for match in _BLOCK.finditer(README.read_text(encoding="utf-8"))]
PROGRAMS = [
    match["code"]
    for match in _BLOCK.finditer(README.read_text(encoding="utf-8"))
    if match["reason"] is None
]
FRAGMENTS = {
    match["code"]: match["reason"]
    for match in _BLOCK.finditer(README.read_text(encoding="utf-8"))
    if match["reason"] is not None
}
TIMEOUT = 60.0  # seconds for one example, far above what any takes


def _environment(fake: FakeLaunchDarkly) -> dict[str, str]:
    """This process's environment, with ldstore's variables naming ``fake`` only."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LD_")}
    environment.update(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN=fake.token)
    return environment


def _core_reads_ld_base_uri(monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether ``Core()`` goes where LD_BASE_URI says (issue 16, point 1)."""
    with monkeypatch.context() as patched:
        patched.setenv("LD_BASE_URI", "http://127.0.0.1:9")
        return Core("api-check").base_url.startswith("http://127.0.0.1:9")


def test_the_readme_has_runnable_examples() -> None:
    """The quick start, the facade and the workflows examples are whole programs."""
    assert len(PROGRAMS) >= 3


@pytest.mark.parametrize("source", PROGRAMS)
def test_an_unmarked_example_is_a_whole_program(source: str) -> None:
    """A block without a not-run marker compiles without top-level await (it runs below)."""
    code = compile(source, "README.md", "exec")

    assert code.co_filename == "README.md"


def test_a_block_with_top_level_await_is_marked_a_fragment() -> None:
    """Every block that needs top-level await says it is a fragment."""
    awaiting = [reason for source, reason in FRAGMENTS.items() if _needs_top_level_await(source)]

    assert awaiting
    assert all(reason.startswith("fragment") for reason in awaiting), awaiting


def _needs_top_level_await(source: str) -> bool:
    try:
        _ = compile(source, "README.md", "exec")
    except SyntaxError:
        return True
    return False


def test_the_readme_aims_at_one_fake_port() -> None:
    """Quick start and later sections start and name the fake on the same port."""
    text = README.read_text(encoding="utf-8")
    ports = set(re.findall(r"(?:fake-server|ldstore\.testing)[^\n`]*?--port (\d+)", text)) | set(
        re.findall(r"LD_BASE_URI=http://127\.0\.0\.1:(\d+)", text)
    )

    assert len(ports) == 1, ports


def test_the_pytest_fragment_passes_under_pytest(pytester: pytest.Pytester) -> None:
    """The README's ld_fake test module runs green with the plugin pytest gets."""
    (source,) = [code for code, reason in FRAGMENTS.items() if "pytest test module" in reason]
    _ = pytester.makepyfile(test_readme_fragment=source)

    result = pytester.runpytest_subprocess("-p", "asyncio", "-W", "ignore::DeprecationWarning")

    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("source", BLOCKS)
def test_every_readme_example_compiles(source: str) -> None:
    """Each Python block is valid Python (top-level await allowed, as in a notebook)."""
    code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    assert code.co_filename == "README.md"


@pytest.mark.parametrize("source", PROGRAMS)
async def test_a_readme_example_runs(
    source: str, fake: FakeLaunchDarkly, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example exits 0 against the fake that LD_BASE_URI names, and prints no traceback."""
    if "FakeLaunchDarkly(" not in source and not _core_reads_ld_base_uri(monkeypatch):
        pytest.skip("Core() ignores LD_BASE_URI here: the example would call the real API")
    seeded = fake.seed_integration(
        "default", "production", "redis", name="Seeded", config={"host": "redis.internal"}
    )

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        source,
        str(seeded["_id"]),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_environment(fake),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)

    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
    assert stdout


async def test_the_facade_example_switches_the_integration_on(
    fake: FakeLaunchDarkly, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python enable.py ID` (the facade example) switches that integration on, guarded."""
    if not _core_reads_ld_base_uri(monkeypatch):
        pytest.skip("Core() ignores LD_BASE_URI here: the example would call the real API")
    (source,) = [program for program in PROGRAMS if "sys.argv[1]" in program]
    seeded = fake.seed_integration(
        "default", "production", "redis", name="Seeded", config={"host": "redis.internal"}
    )

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        source,
        str(seeded["_id"]),
        stdout=asyncio.subprocess.PIPE,
        env=_environment(fake),
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)

    assert stdout.decode() == "Seeded on: True\n"
    patches = [r for r in fake.requests if r.operation_id == "patchBigSegmentStoreIntegration"]
    assert [r.status for r in patches] == [200]
    assert json.loads(patches[0].body)["patch"][0] == {"op": "test", "path": "/version", "value": 1}


async def test_the_workflows_example_prints_what_its_comments_promise() -> None:
    """The workflows example plans a create, makes 100 calls without a 429, then plans nothing."""
    (source,) = [program for program in PROGRAMS if "FakeLaunchDarkly(" in program]

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", source, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)

    assert process.returncode == 0
    assert "+ create" in stdout.decode()
    assert "100 ok" in stdout.decode()
    assert "= unchanged" in stdout.decode()
