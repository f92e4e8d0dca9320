"""Command-line value types, shared by ``ldstore`` and the fake's command (``ldstore.testing``).

Each is an argparse ``type=``: it takes the word as typed and returns the value, or raises
``argparse.ArgumentTypeError`` with a message that says what was expected and what came.
Here rather than in ``ldstore.cli``: the fake's command must not import the CLI. Nothing
here imports aiohttp or the SDK, so ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import math
import re

__all__ = [
    "duration",
    "http_url",
    "non_empty",
    "port",
    "positive_count",
    "positive_seconds",
    "project_environment",
    "seconds",
    "whole",
]

_MAX_PORT = 65535
_MAX_DIGITS = len(str(_MAX_PORT)) + 3  # a whole number, not a denial of service
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|m|h)?\s*", re.IGNORECASE)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value


def seconds(text: str) -> float:
    """A number of seconds, zero or more (``0``, ``2.5``)."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        msg = f"expected seconds (0 or more), not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def positive_seconds(text: str) -> float:
    """A number of seconds above zero."""
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        msg = f"expected a positive number of seconds, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def duration(text: str) -> float:
    """Seconds, written plain or with a unit: ``90``, ``90s``, ``10m``, ``1.5h``; zero or more."""
    match = _DURATION.fullmatch(text)
    if match is None:
        msg = f"expected a duration such as 90, 90s, 10m or 1h, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    value = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if not math.isfinite(value):
        msg = f"expected a duration such as 90, 90s, 10m or 1h, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def whole(text: str) -> int:
    """A whole number, 0 or more, written in decimal digits."""
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_DIGITS:
        msg = f"expected a whole number (0 or more), not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def positive_count(text: str) -> int:
    """A whole number, 1 or more."""
    try:
        value = whole(text)
    except argparse.ArgumentTypeError:
        value = 0
    if value < 1:
        msg = f"expected a whole number of 1 or more, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: pick a free one)."""
    value = whole(text)
    if value > _MAX_PORT:
        msg = f"expected a port from 0 to {_MAX_PORT}, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def non_empty(text: str) -> str:
    """Any text but the empty one (or only spaces): a name, a key."""
    if not text.strip():
        msg = "expected a non-empty value"
        raise argparse.ArgumentTypeError(msg)
    return text


def project_environment(text: str) -> tuple[str, str]:
    """``PROJECT/ENV``, both parts non-empty: ``("default", "staging")``."""
    project, _, environment = text.partition("/")
    if not project or not environment:
        msg = f"expected PROJECT/ENV, e.g. default/staging, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return project, environment


def http_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host: ``http://127.0.0.1:5000``."""
    scheme, _, rest = text.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/"):
        msg = f"expected an http(s) URL such as http://127.0.0.1:5000, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text
