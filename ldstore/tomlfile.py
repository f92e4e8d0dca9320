"""Reading TOML (the config file, apply files, the watch's stores file): ``tomllib``, or
the ``tomli`` backport on Python 3.10, imported only when a file is read."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["toml_loads"]

if sys.version_info >= (3, 11):

    def toml_loads() -> Callable[[str], Any] | None:
        """``tomllib.loads`` (its errors are ``ValueError``s); None on Python 3.10 without tomli."""
        import tomllib  # noqa: PLC0415 - only when a TOML file is read

        return tomllib.loads

else:  # pragma: no cover - Python 3.10

    def toml_loads() -> Callable[[str], Any] | None:
        """``tomli.loads``, if the backport is installed (ldstore[test] brings it)."""
        try:
            tomli = importlib.import_module("tomli")
        except ImportError:
            return None
        loads: Callable[[str], Any] = tomli.loads
        return loads
