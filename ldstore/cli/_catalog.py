"""The commands ``ldstore --help`` lists: each one's name, one-line summary and module.

``ldstore --help`` reads only this table, and a command's own parser is built (its
module imported) only when that command is chosen, so start-up does not pay for every
command's flags. Each module's ``register`` takes its commands' summaries from here.
"""

from __future__ import annotations

__all__ = ["COMMANDS", "modules", "summary"]

# name: (the module whose register() adds it, its summary); in --help's order, a
# module's commands one after another. tests/cli/test_cli_lazy.py checks that each
# module registers exactly the names given here.
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("_crud", "list the account's persistent store integrations"),
    "get": ("_crud", "show one integration, its config and sync status"),
    "create": ("_crud", "create a Redis or DynamoDB store integration"),
    "update": ("_crud", "change an integration (JSON Patch, with friendly flags)"),
    "delete": ("_crud", "delete an integration"),
    "wait": ("_workflows", "wait until LaunchDarkly has synced a store (exit 4 if it does not)"),
    "apply": (
        "_workflows",
        "create, update (and with --prune delete) integrations to match a file",
    ),
    "plan": ("_workflows", "show what apply would change (apply --dry-run); a drift gate for CI"),
    "export": ("_export", "write the integrations that exist as an apply file (or Terraform)"),
    "config": ("_config", "set, unset or list defaults in the config file (mode 0600)"),
    "demo": ("_demo", "a guided tour of ldstore, against a built-in fake API (no account needed)"),
    "doctor": ("_doctor", "read a big segment store itself and say whether SDKs will trust it"),
    "watch": ("_watch", "watch every big segment store and serve Prometheus metrics"),
    "mcp": (
        "_mcp",
        "serve the operations as MCP tools over stdio or HTTP, for AI agents (extra: mcp)",
    ),
    "fake-server": ("_fake_server", "serve a fake LaunchDarkly API for tests and demos"),
    "completion": ("_completion", "print a shell completion script (bash, zsh or fish)"),
}


def summary(name: str) -> str:
    """The one-line summary of command ``name``, as ``ldstore --help`` lists it."""
    return COMMANDS[name][1]


def modules() -> dict[str, tuple[str, ...]]:
    """Each module (``_crud``) with the commands it registers, in --help's order."""
    found: dict[str, tuple[str, ...]] = {}
    for name, (module, _) in COMMANDS.items():
        found[module] = (*found.get(module, ()), name)
    return found
