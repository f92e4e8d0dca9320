"""The package's shape: modules of one concern and a readable size, imports that point down
the stack, and the command-line value types in one neutral module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

_PACKAGE = Path(__file__).resolve().parents[1] / "ldstore"
_MAX_LINES = 700
# The layers above the core: they use its public names, never its private modules.
_ABOVE_THE_CORE = ("cli", "workflows", "mcp", "doctor", "watch", "testing")
# The core's private modules (ldstore/_x.py), which may change at any time.
_PRIVATE_CORE = frozenset(path.stem for path in _PACKAGE.glob("_*.py")) - {"__init__", "__main__"}


def _modules() -> list[Path]:
    return sorted(_PACKAGE.rglob("*.py"))


def _is_private_core(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[0] == "ldstore" and parts[1] in _PRIVATE_CORE


def _package_of(path: Path) -> tuple[str, ...]:
    return path.relative_to(_PACKAGE.parent).with_suffix("").parts[:-1]


def _private_core_imports(source: str, package: tuple[str, ...]) -> list[str]:
    """The private core modules ``source`` (a module of ``package``, such as
    ``("ldstore", "cli")``) imports: at the top, deferred, relative or by name."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from .. import _codec: resolve against the package
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]  # importlib.import_module("ldstore._codec")
        found += [name for name in names if _is_private_core(name)]
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(_PACKAGE)))
def test_no_module_is_over_700_lines(path: Path) -> None:
    """Every module stays readable in one sitting: 700 lines at most (split by concern)."""
    lines = len(path.read_text(encoding="utf-8").splitlines())

    assert lines <= _MAX_LINES, f"{path.name}: {lines} lines"


@pytest.mark.parametrize("layer", _ABOVE_THE_CORE)
def test_no_layer_above_the_core_imports_a_private_core_module(layer: str) -> None:
    """cli/, workflows/, mcp/, doctor/, watch/ and testing/ use the core's public names:
    no ``ldstore._codec``, ``ldstore._transport``... however imported."""
    offenders = {
        str(path.relative_to(_PACKAGE)): imported
        for path in sorted((_PACKAGE / layer).rglob("*.py"))
        if (imported := _private_core_imports(path.read_text(encoding="utf-8"), _package_of(path)))
    }

    assert offenders == {}


def test_the_scan_finds_each_way_of_importing_a_private_module() -> None:
    """The scan above is not vacuous: each spelling of a private import is found."""
    sources = {
        "absolute": "from ldstore._codec import converter\n",
        "module": "import ldstore._transport\n",
        "from the package": "from ldstore import _json\n",
        "relative": "from .. import _retry\n",
        "deferred": "def f() -> None:\n    from ldstore._limiter import Held\n",
        "by name": "import importlib\nimportlib.import_module('ldstore._codec_gen')\n",
    }

    found = {
        how: _private_core_imports(source, ("ldstore", "cli")) for how, source in sources.items()
    }

    assert all(found.values()), found
    public = (
        "from ldstore import errors\nfrom ldstore.cli._errors import fail\nfrom . import _output\n"
    )
    assert _private_core_imports(public, ("ldstore", "cli")) == []


def test_the_fakes_command_defines_no_value_types_of_its_own() -> None:
    """`python -m ldstore.testing` and `ldstore fake-server` parse values with
    ``ldstore.argtypes`` (as the CLI does): every ``type=`` is ``argtypes.X`` and nothing in
    the fake's options raises ArgumentTypeError itself."""
    tree = ast.parse((_PACKAGE / "testing" / "_options.py").read_text(encoding="utf-8"))

    types = [
        keyword.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "type"
    ]
    raised = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise) and "ArgumentTypeError" in ast.dump(node)
    ]

    assert len(types) >= 10
    assert all(
        isinstance(value, ast.Attribute)
        and isinstance(value.value, ast.Name)
        and value.value.id == "argtypes"
        for value in types
    )
    assert raised == []
