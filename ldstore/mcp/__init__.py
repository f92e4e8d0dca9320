"""``ldstore mcp``: the operations and workflows as tools of an MCP server, for AI agents.

Needs the ``mcp`` extra (``pip install 'ldstore[mcp]'``); ``import ldstore`` never loads it.

>>> server = build_server(Core(), tools=READ_ONLY_TOOLS)
>>> await server.run_stdio_async()
"""

from ldstore.mcp._server import INSTRUCTIONS, READ_ONLY_TOOLS, TOOL_NAMES, build_server

__all__ = ["INSTRUCTIONS", "READ_ONLY_TOOLS", "TOOL_NAMES", "build_server"]
