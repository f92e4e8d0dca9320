"""``ldstore mcp``: the operations and workflows as tools of an MCP server, for AI agents.

Needs the ``mcp`` extra (``pip install 'ldstore[mcp]'``); ``import ldstore`` never loads it.
What cannot be undone is confirmed by the user through MCP elicitation first (a client
that cannot ask gets ``ConfirmationRequiredError``) unless ``allow_unconfirmed=True``.

The doctor's tools read the store a call names, or the one a stores file maps the
integration to (passwords by environment variable only; no tool takes one).

>>> server = build_server(Core(), tools=READ_ONLY_TOOLS)
>>> server = build_server(Core(), stores=load_stores("stores.toml").unwrap())  # ldstore.watch
>>> await server.run_stdio_async()
>>> await serve_http(build_server(Core()), HttpOptions("127.0.0.1", 8765, token=bearer))
"""

from ldstore.mcp._confirm import ConfirmationRequiredError
from ldstore.mcp._http import MCP_PATH, MIN_TOKEN_LENGTH, HttpOptions, is_loopback, serve_http
from ldstore.mcp._server import INSTRUCTIONS, READ_ONLY_TOOLS, TOOL_NAMES, build_server

__all__ = [
    "INSTRUCTIONS",
    "MCP_PATH",
    "MIN_TOKEN_LENGTH",
    "READ_ONLY_TOOLS",
    "TOOL_NAMES",
    "ConfirmationRequiredError",
    "HttpOptions",
    "build_server",
    "is_loopback",
    "serve_http",
]
