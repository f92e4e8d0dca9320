"""The README's runnable Python examples run as written."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
# The examples that bring their own server (the embedded fake) and run a main().
RUNNABLE = [block for block in BLOCKS if "FakeLaunchDarkly(" in block and "asyncio.run(" in block]


def test_the_readme_has_runnable_examples() -> None:
    """At least the workflows example is self-contained, so this file checks something."""
    assert RUNNABLE


@pytest.mark.parametrize("source", BLOCKS)
def test_every_readme_example_compiles(source: str) -> None:
    """Each Python block is valid Python (top-level await allowed, as in a notebook)."""
    code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    assert code.co_filename == "README.md"


@pytest.mark.parametrize("source", RUNNABLE)
def test_a_readme_example_runs(source: str) -> None:
    """The example exits 0 and prints what its comments promise."""
    completed = subprocess.run(  # noqa: S603 (our own interpreter, our own README)
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60, check=False
    )

    assert completed.returncode == 0, completed.stderr
    assert "+ create" in completed.stdout
    assert "100 ok" in completed.stdout
    assert "= unchanged" in completed.stdout
