"""The names subcommand modules imported from here before the split, re-exported.

Each fact lives in its own module: ``_options`` (flags and parsing), ``_core`` (the
Core), ``_errors`` (exit codes and error lines), ``_output`` (what goes to stdout),
``_logging`` (stderr notices) and ``_settings`` (the config file). New code imports
from those; this module only keeps older imports working.
"""

from __future__ import annotations

from ldstore.cli._core import Connection, make_core, resolve_connection
from ldstore.cli._errors import (
    EXIT_API_ERROR,
    EXIT_CODES_HELP,
    EXIT_NETWORK,
    EXIT_NOT_READY,
    EXIT_OK,
    EXIT_USAGE,
    TESTING_EXTRA_MISSING,
    UsageError,
    error_line,
    exit_code,
    fail,
    redact,
)
from ldstore.cli._logging import logging_to_stderr
from ldstore.cli._options import (
    DEFAULT_RETRY_BUDGET,
    ENVIRONMENT_HELP,
    INTEGRATION_KEYS,
    Subparsers,
    add_command,
    add_connection_options,
    add_integration_options,
    positive_seconds,
    seconds,
)
from ldstore.cli._output import emit, finish, render_integration, render_table, write
from ldstore.cli._settings import config_path

__all__ = [
    "DEFAULT_RETRY_BUDGET",
    "ENVIRONMENT_HELP",
    "EXIT_API_ERROR",
    "EXIT_CODES_HELP",
    "EXIT_NETWORK",
    "EXIT_NOT_READY",
    "EXIT_OK",
    "EXIT_USAGE",
    "INTEGRATION_KEYS",
    "TESTING_EXTRA_MISSING",
    "Connection",
    "Subparsers",
    "UsageError",
    "add_command",
    "add_connection_options",
    "add_integration_options",
    "config_path",
    "emit",
    "error_line",
    "exit_code",
    "fail",
    "finish",
    "logging_to_stderr",
    "make_core",
    "positive_seconds",
    "redact",
    "render_integration",
    "render_table",
    "resolve_connection",
    "seconds",
    "write",
]
