"""``ldstore mcp``: the operations and workflows as tools of an MCP server, for AI agents.

Needs the ``mcp`` extra (``pip install 'ldstore[mcp]'``); ``import ldstore`` never loads it.

>>> server = build_server(Core(), tools=READ_ONLY_TOOLS)
>>> await server.run_stdio_async()
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
