"""The fake speaks plain JSON (DESIGN): it imports none of the SDK's models, codec or transport,
and the store clients only when it syncs a store of that kind."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ldstore.testing

PACKAGE = Path(ldstore.testing.__file__).parent
SDK_INTERNALS = {
    "ldstore.models",
    "ldstore._codec",
    "ldstore._codec_gen",
    "ldstore._transport",
    "ldstore._retry",
    "ldstore.core",
    "ldstore.funcs",
    "ldstore.client",
    "ldstore.wire",
}


def imported_modules(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def test_no_module_of_the_fake_imports_the_sdk() -> None:
    """Every module of ldstore.testing: no import of models, codec, transport, funcs or client."""
    offenders = {
        f"{source.name}: {name}"
        for source in PACKAGE.glob("*.py")
        for name in imported_modules(source)
        if any(name == internal or name.startswith(internal + ".") for internal in SDK_INTERNALS)
    }

    assert len(list(PACKAGE.glob("*.py"))) > 10
    assert offenders == set()


def test_store_clients_load_only_when_a_store_is_synced() -> None:
    """A syncing fake with no integration on has not imported redis nor aiobotocore."""
    script = (
        "import asyncio, sys\n"
        "from ldstore.testing import FakeLaunchDarkly\n"
        "async def main():\n"
        "    async with FakeLaunchDarkly(sync=True, sync_interval=0.05):\n"
        "        await asyncio.sleep(0.2)\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in ('redis', 'aiobotocore', 'botocore') if m in sys.modules))\n"
    )

    done = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
