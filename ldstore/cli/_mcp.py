"""``mcp``: serve the operations and workflows as MCP tools over stdio, for AI agents."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

# The connection options, token/base-URL/config resolution and the Core, as every command.
from ldstore.cli._core import make_core
from ldstore.cli._errors import UsageError
from ldstore.cli._options import Subparsers, add_command

__all__ = ["register"]

MCP_EXTRA_MISSING = "`ldstore mcp` needs the mcp extra: pip install 'ldstore[mcp]'"

_DESCRIPTION = """\
Serve the big segment store operations and workflows as tools of an MCP server over stdio \
(JSON-RPC on stdin/stdout, logs on stderr), for AI agents such as Claude Desktop or an IDE. \
The token, base URL and --federal come from the same places as for every other command; one \
connection (and its rate-limit-aware limiter) serves every tool call.

Tools: list_big_segment_store_integrations, get_big_segment_store_integration, \
create_big_segment_store_integration, patch_big_segment_store_integration, \
delete_big_segment_store_integration, wait_until_big_segment_store_available, \
plan_big_segment_store_integrations, apply_big_segment_store_integrations."""

_EXAMPLES = """\
  ldstore mcp                          # every tool; an agent starts this, not you
  ldstore mcp --read-only              # list, get, wait and plan only
  ldstore mcp --tool list_big_segment_store_integrations --tool get_big_segment_store_integration

client configuration (claude_desktop_config.json and similar):
  {"mcpServers": {"ldstore": {"command": "ldstore", "args": ["mcp"],
                              "env": {"LD_ACCESS_TOKEN": "api-..."}}}}"""


def register(subparsers: Subparsers) -> None:
    """Add the ``mcp`` subcommand."""
    parser = add_command(
        subparsers,
        "mcp",
        summary="serve the operations as MCP tools over stdio, for AI agents (extra: mcp)",
        description=_DESCRIPTION,
        examples=_EXAMPLES,
    )
    tools = parser.add_argument_group("tools")
    _ = tools.add_argument(
        "--read-only",
        action="store_true",
        help="serve only the tools that change nothing (list, get, wait, plan)",
    )
    _ = tools.add_argument(
        "--tool",
        action="append",
        dest="tools",
        metavar="NAME",
        help="serve only this tool (repeatable); default: all",
    )
    confirm = parser.add_argument_group("confirmation")
    _ = confirm.add_argument(
        "--allow-unconfirmed",
        action="store_true",
        help="do what cannot be undone (delete, apply deleting, a patch switching a store off "
        "or changing its connection) without asking the user through the client first; by "
        "default the server asks, and refuses when the client cannot ask",
    )
    parser.set_defaults(run=run_mcp)


def select_tools(
    known: Sequence[str], read_only: Sequence[str], *, named: Sequence[str] | None, only_reads: bool
) -> tuple[str, ...]:
    """The tools to serve; ``UsageError`` for an unknown name or a write tool with --read-only."""
    for name in named or ():
        if name not in known:
            msg = f"unknown tool {name!r}; the tools are: {', '.join(known)}"
            raise UsageError(msg)
        if only_reads and name not in read_only:
            msg = f"--read-only serves only {', '.join(read_only)}; not {name!r}"
            raise UsageError(msg)
    selected = tuple(named) if named else tuple(read_only if only_reads else known)
    return tuple(name for name in known if name in selected)


async def run_mcp(args: argparse.Namespace) -> int:
    """``ldstore mcp``: serve until the client closes stdin; 2 without the extra."""
    core = make_core(args)  # UsageError (exit 2) with no token, before anything is loaded
    try:
        from ldstore import mcp  # noqa: PLC0415 - the extra loads only for this command
    except ImportError as error:
        if error.name is not None and error.name.split(".")[0] == "ldstore":
            raise  # a bug of ours, not a missing extra
        raise UsageError(MCP_EXTRA_MISSING) from None
    tools = select_tools(
        mcp.TOOL_NAMES,
        mcp.READ_ONLY_TOOLS,
        named=args.tools,
        only_reads=bool(args.read_only),
    )
    server = mcp.build_server(core, tools=tools, allow_unconfirmed=bool(args.allow_unconfirmed))
    await server.run_stdio_async()
    return 0
