"""``ldstore config``: set, unset and list the config file's settings, as ``ldcli config``."""

from __future__ import annotations

import argparse
import textwrap

from ldstore.cli._catalog import summary
from ldstore.cli._errors import EXIT_OK, UsageError, remember_secret
from ldstore.cli._options import OUTPUT_CHOICES, Subparsers, rate_share
from ldstore.cli._output import write
from ldstore.cli._settings import (
    KEYS,
    Setting,
    read_settings,
    toml_line,
    unknown_key_hint,
    write_settings,
)
from ldstore.text import MASK

__all__ = ["register"]


def register(subparsers: Subparsers) -> None:
    """Add the ``config`` subcommand."""
    parser = subparsers.add_parser(
        "config",
        help=summary("config"),
        description=textwrap.fill(
            "Keep settings in the config file ($LDSTORE_CONFIG, else "
            "$XDG_CONFIG_HOME/ldstore/config.toml), readable by you only. Keys: "
            f"{', '.join(KEYS)}. A flag wins over its LD_ environment variable, which "
            "wins over the file. --list shows the token masked.",
            80,
        ),
        epilog="""\
examples:
  ldstore config --set access-token api-0123...   # or: export LD_ACCESS_TOKEN=...
  ldstore config --set project default
  ldstore config --set environment production
  ldstore config --set output json                # json or plaintext
  ldstore config --set rate-reserve 0.2           # leave a fifth to other tools
  ldstore config --unset output
  ldstore config --list""",
    )
    action = parser.add_argument_group("action (one of)").add_mutually_exclusive_group(
        required=True
    )
    _ = action.add_argument("--set", nargs=2, metavar=("KEY", "VALUE"), help="set KEY to VALUE")
    _ = action.add_argument("--unset", metavar="KEY", help="remove KEY")
    _ = action.add_argument("--list", action="store_true", help="print every setting")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if args.list:
        settings = read_settings(missing_ok=True)
        for key in sorted(settings):
            value = settings[key]
            write(toml_line(key, MASK if KEYS[key][1] and isinstance(value, str) else value))
        return EXIT_OK
    settings = dict(read_settings(missing_ok=True))
    if args.unset is not None:
        _ = settings.pop(_known(args.unset), None)
    else:
        key, text = args.set
        key = _known(key)
        settings[key] = _value(key, text)
    path = write_settings(settings)
    write(
        f"{'unset' if args.unset is not None else 'set'} {_known(args.unset or args.set[0])} in {path}"
    )
    return EXIT_OK


def _known(key: str) -> str:
    if key in KEYS:
        return key
    msg = f"unknown setting {key!r}{unknown_key_hint(key)}"
    raise UsageError(msg)


def _value(key: str, text: str) -> Setting:
    secret, boolean = KEYS[key][1], KEYS[key][2]
    if secret:
        remember_secret(text)
    if boolean:
        if text.lower() not in {"true", "false"}:
            msg = f"{key} takes true or false"
            raise UsageError(msg)
        return text.lower() == "true"
    if not text or any(char in text for char in "\r\n\0"):
        msg = f"{key} takes one non-empty line"
        raise UsageError(msg)
    if key == "output" and text not in OUTPUT_CHOICES:
        msg = f"output takes {' or '.join(OUTPUT_CHOICES)}, not {text!r}"
        raise UsageError(msg)
    if key == "rate-reserve":
        _ = _rate_share(text)
    if key == "base-uri":
        from ldstore.cli._core import check_url  # noqa: PLC0415 - it imports the SDK's Core

        check_url(text)
    return text


def _rate_share(text: str) -> float:
    try:
        return rate_share(text)
    except argparse.ArgumentTypeError as error:
        msg = f"rate-reserve: {error}"
        raise UsageError(msg) from None
