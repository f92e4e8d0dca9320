"""The ``ldstore`` command as the tests run it: the installed console script, in an
environment without the user's ldstore settings or config file."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = ["clean_environment", "ldstore_executable"]


def ldstore_executable() -> str:
    """The console script the package installed next to this interpreter."""
    beside = Path(sys.executable).parent / "ldstore"
    if beside.exists():
        return str(beside)
    found = shutil.which("ldstore")
    if found is None:  # pragma: no cover - the package is installed for the tests
        msg = "the ldstore console script is not installed: pip install -e '.[test]'"
        raise RuntimeError(msg)
    return found


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without ldstore settings (nor the user's config file),
    plus ``extra``."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LD_", "LDSTORE_", "XDG_CONFIG_HOME"))
    }
    environment["XDG_CONFIG_HOME"] = str(Path(__file__).parent / "no-such-config-home")
    environment.update(extra)
    return environment
