"""The README's "For AI agents" section matches what ``ldstore mcp`` serves."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from ldstore.cli import build_parser
from ldstore.cli._mcp import select_tools
from ldstore.mcp import READ_ONLY_TOOLS, TOOL_NAMES

_README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = _README.split("\n## For AI agents\n", 1)[1].split("\n## ", 1)[0]


def test_the_section_follows_the_command_line_section() -> None:
    """ "For AI agents" comes right after "Command line"."""
    headings = re.findall(r"^## (.+)$", _README, flags=re.MULTILINE)

    assert headings[headings.index("Command line") + 1] == "For AI agents"


def test_the_client_configuration_starts_ldstore_mcp() -> None:
    """The mcpServers snippet is valid JSON running `ldstore mcp` with a token placeholder."""
    snippet = re.search(r"```json\n(.*?)```", SECTION, flags=re.DOTALL)
    assert snippet is not None

    servers = json.loads(snippet.group(1))["mcpServers"]

    assert servers["ldstore"]["command"] == "ldstore"
    assert servers["ldstore"]["args"] == ["mcp"]
    assert set(servers["ldstore"]["env"]) == {"LD_ACCESS_TOKEN"}


def test_the_commands_shown_parse_and_name_real_tools() -> None:
    """Each command of the console block parses, names only real tools, and is marked not-run."""
    block = re.search(r"(<!-- not-run: .+? -->)\n```console\n(.*?)```", SECTION, flags=re.DOTALL)
    assert block is not None

    for line in block.group(2).splitlines():
        program, *args = shlex.split(line)
        parsed = build_parser().parse_args(args)
        selected = select_tools(
            TOOL_NAMES, READ_ONLY_TOOLS, named=parsed.tools, only_reads=parsed.read_only
        )
        assert program == "ldstore"
        assert selected


def test_the_table_lists_every_tool_with_its_hints() -> None:
    """One row per tool, in order; "read-only" exactly for the read-only tools."""
    rows = re.findall(r"^\| `(\w+)` \| .+ \| (.+) \|$", SECTION, flags=re.MULTILINE)

    assert [name for name, _ in rows] == list(TOOL_NAMES)
    assert [name for name, hints in rows if hints == "read-only"] == list(READ_ONLY_TOOLS)
