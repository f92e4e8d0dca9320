"""``mcp``: serve the operations and workflows as MCP tools over stdio or HTTP, for AI agents."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

# The connection options, token/base-URL/config resolution and the Core, as every command.
from ldstore.cli._core import make_core
from ldstore.cli._errors import UsageError, remember_secret
from ldstore.cli._options import Subparsers, add_command

if TYPE_CHECKING:
    from ldstore.mcp import HttpOptions
    from ldstore.watch import StoresFile

__all__ = ["register"]

MCP_EXTRA_MISSING = "`ldstore mcp` needs the mcp extra: pip install 'ldstore[mcp]'"

_DESCRIPTION = """\
Serve the big segment store operations and workflows as tools of an MCP server over stdio \
(JSON-RPC on stdin/stdout, logs on stderr), or with --http over streamable HTTP, for AI \
agents such as Claude Desktop or an IDE. The token, base URL and --federal come from the \
same places as for every other command; one connection (and its rate-limit-aware limiter) \
serves every tool call. A delete, an apply that deletes, and a patch switching a store off \
or changing its config are confirmed by the user through the client first (MCP \
elicitation); a client that cannot ask is refused unless the server runs with \
--allow-unconfirmed. The doctor's tools read the store a call names by URL or table, or the \
one --stores FILE (the stores file of `ldstore watch`) maps the integration to, with its \
password from the environment variable the file names; no tool takes a password.

Tools: list_big_segment_store_integrations, get_big_segment_store_integration, \
create_big_segment_store_integration, patch_big_segment_store_integration, \
delete_big_segment_store_integration, wait_until_big_segment_store_available, \
plan_big_segment_store_integrations, apply_big_segment_store_integrations, \
diagnose_big_segment_store, check_big_segment_membership."""

_EXAMPLES = """\
  ldstore mcp                          # every tool; an agent starts this, not you
  ldstore mcp --read-only              # list, get, wait, plan and the doctor's two only
  ldstore mcp --stores stores.toml     # the doctor's tools find each integration's store
  ldstore mcp --tool list_big_segment_store_integrations --tool get_big_segment_store_integration
  LDSTORE_MCP_TOKEN=... ldstore mcp --http 127.0.0.1:8765 --http-token-env LDSTORE_MCP_TOKEN

client configuration (claude_desktop_config.json and similar):
  {"mcpServers": {"ldstore": {"command": "ldstore", "args": ["mcp"],
                              "env": {"LD_ACCESS_TOKEN": "api-..."}}}}"""


def register(subparsers: Subparsers) -> None:
    """Add the ``mcp`` subcommand."""
    parser = add_command(
        subparsers,
        "mcp",
        description=_DESCRIPTION,
        examples=_EXAMPLES,
    )
    tools = parser.add_argument_group("tools")
    _ = tools.add_argument(
        "--read-only",
        action="store_true",
        help="serve only the tools that change nothing (list, get, wait, plan, diagnose, "
        "check membership)",
    )
    _ = tools.add_argument(
        "--tool",
        action="append",
        dest="tools",
        metavar="NAME",
        help="serve only this tool (repeatable); default: all",
    )
    _ = tools.add_argument(
        "--stores",
        metavar="FILE",
        help="the stores file (TOML, as for `ldstore watch`) mapping integrations to their "
        "stores, for diagnose_big_segment_store and check_big_segment_membership; passwords "
        "by environment variable name (password_env) only",
    )
    confirm = parser.add_argument_group("confirmation")
    _ = confirm.add_argument(
        "--allow-unconfirmed",
        action="store_true",
        help="do what cannot be undone (delete, apply deleting, a patch switching a store off "
        "or changing its connection) without asking the user through the client first; by "
        "default the server asks, and refuses when the client cannot ask",
    )
    http = parser.add_argument_group("HTTP (streamable HTTP at /mcp, for a team)")
    _ = http.add_argument(
        "--http",
        metavar="[HOST:]PORT",
        help="serve over HTTP at http://HOST:PORT/mcp instead of stdio; HOST must be a "
        "loopback address (default 127.0.0.1) unless --listen names it",
    )
    _ = http.add_argument(
        "--listen",
        metavar="ADDRESS",
        help="bind --http to this address instead of loopback (e.g. 0.0.0.0): anyone who "
        "can reach it and knows the bearer token can use the tools",
    )
    _ = http.add_argument(
        "--http-token-env",
        metavar="NAME",
        help="the environment variable holding the bearer token clients must send "
        f"(Authorization: Bearer ...; at least {_MIN_TOKEN} characters); required with --http",
    )
    parser.set_defaults(run=run_mcp)


_MIN_TOKEN = 16  # ldstore.mcp.MIN_TOKEN_LENGTH, without loading the extra for --help


def http_options(args: argparse.Namespace, ld_token: str | None) -> HttpOptions | None:
    """``--http``/``--listen``/``--http-token-env`` as options, ``None`` for stdio.

    ``UsageError`` for a bad address, a non-loopback host without ``--listen``, a missing
    or short token, or a token equal to the LaunchDarkly one (clients would hold it).
    """
    from ldstore.mcp import MIN_TOKEN_LENGTH, HttpOptions, is_loopback  # noqa: PLC0415

    if args.http is None:
        if args.listen or args.http_token_env:
            msg = "--listen and --http-token-env go with --http"
            raise UsageError(msg)
        return None
    host, _, port_text = str(args.http).rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):  # noqa: PLR2004
        msg = f"--http takes [HOST:]PORT with a port from 1 to 65535, not {args.http!r}"
        raise UsageError(msg)
    if args.listen:
        host = str(args.listen)
    elif not is_loopback(host):
        msg = f"--http binds to loopback only; to serve on {host}, say so: --listen {host}"
        raise UsageError(msg)
    if not args.http_token_env:
        msg = "--http needs --http-token-env NAME: the variable holding the clients' bearer token"
        raise UsageError(msg)
    token = os.environ.get(args.http_token_env, "")
    if len(token) < MIN_TOKEN_LENGTH:
        msg = (
            f"{args.http_token_env} must hold the bearer token clients send, at least "
            f"{MIN_TOKEN_LENGTH} characters (it is {'unset' if not token else 'too short'})"
        )
        raise UsageError(msg)
    if token == ld_token:
        msg = (
            f"{args.http_token_env} holds the LaunchDarkly token: give clients a token of their own"
        )
        raise UsageError(msg)
    remember_secret(token)
    return HttpOptions(host=host, port=int(port_text), token=token)


def stores_file(path: str | None) -> StoresFile | None:
    """``--stores FILE`` loaded as ``ldstore watch`` loads it, every ``password_env`` set;
    ``UsageError`` (one line, never a secret) otherwise."""
    if path is None:
        return None
    from ldstore.result import Err  # noqa: PLC0415
    from ldstore.watch import load_stores  # noqa: PLC0415

    loaded = load_stores(path)
    checked = loaded if isinstance(loaded, Err) else loaded.value.check_environment()
    if isinstance(checked, Err):
        raise UsageError(checked.error.message)
    return checked.value


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
    """``ldstore mcp``: serve until the client closes stdin (or, with --http, until
    interrupted); 2 without the extra or for bad options."""
    # UsageError (exit 2) with no token, before anything is loaded. Served over HTTP, it
    # is a service: OTLP export when OTEL_EXPORTER_OTLP_* says.
    core = make_core(args, telemetry=args.http is not None)
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
    api_key = core.api_key
    http = http_options(args, api_key if isinstance(api_key, str) else None)
    stores = stores_file(args.stores)
    server = mcp.build_server(
        core, tools=tools, allow_unconfirmed=bool(args.allow_unconfirmed), stores=stores
    )
    if http is None:
        await server.run_stdio_async()
    else:
        await mcp.serve_http(server, http)
    return 0
