"""The config file (TOML, mode 0600) and the ``LD_`` variables: every setting's default.

Precedence, as ldcli's: a flag wins over the environment variable, which wins over the
file. The file is read with ``tomllib`` (``tomli`` on Python 3.10) and written by hand,
as flat ``key = "value"`` lines, so writing needs no extra package.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ldstore.cli._errors import UsageError
from ldstore.tomlfile import toml_loads

__all__ = [
    "KEYS",
    "Setting",
    "config_path",
    "read_settings",
    "setting",
    "settings_of",
    "toml_line",
    "unknown_key_hint",
    "write_settings",
]

# key -> (environment variable or "", whether it is a secret, whether it is a boolean)
KEYS: Mapping[str, tuple[str, bool, bool]] = {
    "access-token": ("LD_ACCESS_TOKEN", True, False),
    "base-uri": ("LD_BASE_URI", False, False),
    "environment": ("LD_ENVIRONMENT", False, False),
    "eu": ("", False, True),
    "federal": ("", False, True),
    "output": ("LD_OUTPUT", False, False),
    "project": ("LD_PROJECT", False, False),
    "rate-reserve": ("", False, False),
}
# Keys whose value is a number: the file may hold it as a TOML number or a string.
_NUMBERS = frozenset({"rate-reserve"})

Setting = str | bool

_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def config_path() -> tuple[Path, bool]:
    """The config file, and whether the user named it (then it must exist to be read)."""
    named = os.environ.get("LDSTORE_CONFIG")
    if named:
        return Path(named).expanduser(), True
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ldstore" / "config.toml", False


def _toml_loads() -> Callable[[str], Any]:
    loads = toml_loads()
    if loads is None:  # pragma: no cover - Python 3.10 without tomli
        msg = "reading the config file on Python 3.10 needs tomli: pip install tomli"
        raise UsageError(msg)
    return loads


def read_settings(*, missing_ok: bool = False) -> dict[str, Setting]:
    """The file's settings; ``UsageError`` for a file that is unreadable, not TOML, or odd."""
    path, named = config_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if named and not missing_ok:
            msg = f"LDSTORE_CONFIG names {path}, which does not exist"
            raise UsageError(msg) from None
        return {}
    except OSError as error:
        msg = f"cannot read the config file {path}: {error.strerror}"
        raise UsageError(msg) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        msg = f"the config file {path} is not UTF-8 text (byte {error.start})"
        raise UsageError(msg) from None
    try:
        settings: dict[str, object] = _toml_loads()(text)
    except ValueError as error:  # tomllib.TOMLDecodeError
        msg = f"the config file {path} is not valid TOML: {error}"
        raise UsageError(msg) from None
    except RecursionError:
        msg = f"the config file {path} is nested too deeply"
        raise UsageError(msg) from None
    unknown = sorted(set(settings) - set(KEYS))
    if unknown:
        msg = f"the config file {path} has unknown keys {unknown}{unknown_key_hint(unknown[0])}"
        raise UsageError(msg)
    settings = {
        key: str(value)
        if key in _NUMBERS and isinstance(value, int | float) and not isinstance(value, bool)
        else value
        for key, value in settings.items()
    }
    for key, value in settings.items():
        boolean = KEYS[key][2]
        if not isinstance(value, bool if boolean else str):
            msg = f"{key} in the config file {path} must be {'true or false' if boolean else 'a string'}"
            raise UsageError(msg)
    return {key: value for key, value in settings.items() if isinstance(value, str | bool)}


def unknown_key_hint(key: str) -> str:
    """What follows the words about an unknown setting ``key``: the close one, if any, and
    the settings there are."""
    import difflib  # noqa: PLC0415 - only a mistake needs it

    close = difflib.get_close_matches(key, list(KEYS), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{hint} (the settings: {', '.join(KEYS)})"


def settings_of(args: argparse.Namespace) -> dict[str, Setting]:
    """The config file's settings for this command: read once, on first use, kept on ``args``."""
    cached: dict[str, Setting] | None = getattr(args, "ldstore_settings", None)
    if cached is None:
        cached = read_settings()
        args.ldstore_settings = cached
    return cached


def setting(key: str, flag: object, settings: Mapping[str, Setting]) -> tuple[str | None, str]:
    """A text setting's value and where it came from: the flag, then LD_*, then the file."""
    if isinstance(flag, str) and flag:
        return flag, f"--{key}"
    variable = KEYS[key][0]
    from_environment = os.environ.get(variable) if variable else None
    if from_environment:
        return from_environment, variable
    value = settings.get(key)
    if isinstance(value, str) and value:
        return value, str(config_path()[0])
    return None, "nowhere"


def toml_line(key: str, value: Setting) -> str:
    """``key = value`` in TOML: a boolean, or a basic string with every escape it needs."""
    if isinstance(value, bool):
        return f"{key} = {'true' if value else 'false'}"
    escaped = "".join(
        _TOML_ESCAPES.get(char)
        or (f"\\u{ord(char):04X}" if ord(char) < 0x20 or ord(char) == 0x7F else char)  # noqa: PLR2004
        for char in value
    )
    return f'{key} = "{escaped}"'


def write_settings(settings: Mapping[str, Setting]) -> Path:
    """Replace the config file with ``settings``, readable by its owner only (0600)."""
    path, _ = config_path()
    text = "".join(f"{toml_line(key, settings[key])}\n" for key in sorted(settings))
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            _ = file.write(text)
        os.chmod(partial, 0o600)  # noqa: PTH101 - the umask may have narrowed O_CREAT's mode
        os.replace(partial, path)  # noqa: PTH105 - atomic: a reader never sees half a file
    except OSError as error:
        msg = f"cannot write the config file {path}: {error.strerror}"
        raise UsageError(msg) from None
    return path
