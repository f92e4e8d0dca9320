"""``ldstore mcp``'s flags, its refusals before serving, and the extra staying unloaded."""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ldstore_process import ldstore_executable
from mcp_support import TOKEN, server_environment

from ldstore.cli import build_parser
from ldstore.cli._errors import UsageError
from ldstore.cli._mcp import MCP_EXTRA_MISSING, http_options, select_tools
from ldstore.mcp import READ_ONLY_TOOLS, TOOL_NAMES, is_loopback

TIMEOUT = 60.0  # seconds for one command, far above what any takes


async def run_ldstore(*args: str, **extra_env: str) -> tuple[int, str, str]:
    """``ldstore *args`` with stdin closed: its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        ldstore_executable(),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=server_environment(None, **extra_env),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def python(code: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this environment."""
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=server_environment(None, **extra_env),
    )


async def test_an_unknown_tool_name_is_a_usage_error() -> None:
    """--tool with a name that is not a tool: exit 2, one line listing the tools, no serving."""
    code, stdout, stderr = await run_ldstore(
        "mcp", "--tool", "get_big_segment_store", LD_ACCESS_TOKEN=TOKEN
    )

    assert (code, stdout) == (2, "")
    assert stderr.startswith("ldstore: error: unknown tool 'get_big_segment_store'")
    assert "get_big_segment_store_integration" in stderr
    assert len(stderr.splitlines()) == 1


async def test_no_token_is_a_usage_error_before_serving() -> None:
    """Without LD_ACCESS_TOKEN (or a flag, or the config file): exit 2, nothing on stdout."""
    code, stdout, stderr = await run_ldstore("mcp")

    assert (code, stdout) == (2, "")
    assert "no access token" in stderr


def test_read_only_with_a_write_tool_is_refused() -> None:
    """--read-only and --tool naming a write tool contradict each other: refused."""
    with pytest.raises(UsageError, match="--read-only"):
        _ = select_tools(
            TOOL_NAMES,
            READ_ONLY_TOOLS,
            named=["delete_big_segment_store_integration"],
            only_reads=True,
        )


def test_tools_are_served_in_their_listed_order() -> None:
    """The selection keeps the documented order whatever the flags' order; repeats count once."""
    named = ["plan_big_segment_store_integrations", "list_big_segment_store_integrations"] * 2

    selected = select_tools(TOOL_NAMES, READ_ONLY_TOOLS, named=named, only_reads=True)

    assert selected == (
        "list_big_segment_store_integrations",
        "plan_big_segment_store_integrations",
    )
    assert select_tools(TOOL_NAMES, READ_ONLY_TOOLS, named=None, only_reads=True) == READ_ONLY_TOOLS
    assert select_tools(TOOL_NAMES, READ_ONLY_TOOLS, named=None, only_reads=False) == TOOL_NAMES


def test_the_parser_knows_the_mcp_command() -> None:
    """``ldstore mcp`` takes --read-only, repeated --tool and the connection options."""
    args = build_parser().parse_args(
        ["mcp", "--read-only", "--tool", "a", "--tool", "b", "--federal", "--retry-budget", "0"]
    )

    assert (args.read_only, args.tools, args.federal, args.retry_budget) == (
        True,
        ["a", "b"],
        True,
        0.0,
    )


def test_without_the_extra_the_command_says_what_to_install() -> None:
    """With ``mcp`` not importable, ``ldstore mcp`` names the extra and exits 2.

    ``sys.modules["mcp"] = None`` makes ``import mcp`` raise ModuleNotFoundError, exactly
    as when the package is not installed, without uninstalling it from the test venv.
    """
    code = (
        "import sys\n"
        "sys.modules['mcp'] = None\n"
        "from ldstore.cli import main\n"
        "raise SystemExit(main(['mcp']))\n"
    )

    done = python(code, LD_ACCESS_TOKEN=TOKEN)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"ldstore: error: {MCP_EXTRA_MISSING}\n"
    assert "pip install 'ldstore[mcp]'" in done.stderr


def test_ldstore_and_its_other_commands_never_import_the_sdk() -> None:
    """``import ldstore``, the parser and a failing ``list`` leave mcp and pydantic unloaded."""
    code = (
        "import sys\n"
        "import ldstore, ldstore.workflows\n"
        "from ldstore.cli import build_parser, main\n"
        "_ = build_parser().format_help()\n"
        "code = main(['--retry-budget', '0', 'list'])\n"
        "loaded = sorted({name.split('.')[0] for name in sys.modules} & {'mcp', 'mcp_types', 'pydantic'})\n"
        "print(code, loaded)\n"
    )

    # Port 9 (discard) is closed on loopback: the list fails fast with a network error.
    done = python(code, LD_ACCESS_TOKEN=TOKEN, LD_BASE_URI="http://127.0.0.1:9")

    assert done.stdout == "3 []\n", done.stderr


BEARER = "mcp-http-bearer-5e4d3c2b1a09"


def _args(*words: str) -> argparse.Namespace:
    return build_parser().parse_args(["mcp", *words])


@pytest.mark.parametrize(
    ("words", "environment", "message"),
    [
        (["--http", "10.1.2.3:8000", "--http-token-env", "B"], {"B": BEARER}, "--listen 10.1.2.3"),
        (["--http", "8000"], {}, "--http-token-env NAME"),
        (["--http", "8000", "--http-token-env", "B"], {}, "unset"),
        (["--http", "8000", "--http-token-env", "B"], {"B": "short"}, "too short"),
        (["--http", "8000", "--http-token-env", "B"], {"B": TOKEN}, "LaunchDarkly token"),
        (["--http", "host:http", "--http-token-env", "B"], {"B": BEARER}, "[HOST:]PORT"),
        (["--http", "70000", "--http-token-env", "B"], {"B": BEARER}, "1 to 65535"),
        (["--listen", "0.0.0.0"], {}, "go with --http"),  # noqa: S104 - refused here
    ],
)
def test_http_options_are_checked_before_serving(
    monkeypatch: pytest.MonkeyPatch, words: list[str], environment: dict[str, str], message: str
) -> None:
    """Each mistake is a usage error (exit 2) naming the fix; nothing is served."""
    monkeypatch.delenv("B", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(UsageError, match=re.escape(message)) as refused:
        _ = http_options(_args(*words), TOKEN)

    assert BEARER not in str(refused.value)


def test_http_options_bind_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare port binds 127.0.0.1; --listen names another address; the repr hides the token."""
    monkeypatch.setenv("B", BEARER)

    bare = http_options(_args("--http", "8000", "--http-token-env", "B"), TOKEN)
    ipv6 = http_options(_args("--http", "[::1]:8001", "--http-token-env", "B"), TOKEN)
    listen = http_options(
        _args("--http", "8002", "--listen", "0.0.0.0", "--http-token-env", "B"),  # noqa: S104
        TOKEN,
    )
    stdio = http_options(_args(), TOKEN)

    assert bare is not None
    assert (bare.host, bare.port, bare.token) == ("127.0.0.1", 8000, BEARER)
    assert ipv6 is not None
    assert (ipv6.host, ipv6.port) == ("::1", 8001)
    assert listen is not None
    assert listen.host == "0.0.0.0"  # noqa: S104
    assert stdio is None
    assert BEARER not in repr(bare)
    assert [is_loopback(host) for host in ("localhost", "127.0.0.2", "::1", "0.0.0.0", "x")] == [  # noqa: S104
        True,
        True,
        True,
        False,
        False,
    ]


_STORE = '[[store]]\nproject = "default"\nenvironment = "production"\nkind = "redis"\nname = "n"\n'


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ('url = "redis://u:hunter2-inline@h:6379/0"\n', "url holds a password, which is refused"),
        ('url = "redis://h:6379/0"\npassword_env = "MCP_UNSET_PASSWORD"\n', "MCP_UNSET_PASSWORD"),
        ('url = "redis://h:6379/0"\ncolour = "blue"\n', "unknown key 'colour'"),
    ],
)
async def test_a_bad_stores_file_is_a_usage_error_before_serving(
    tmp_path: Path, entry: str, words: str
) -> None:
    """--stores is loaded as `ldstore watch` loads it: a password in the file, an unset
    password_env or an unknown key is exit 2 in one line naming it (never the password)."""
    stores = tmp_path / "stores.toml"
    _ = stores.write_text(_STORE + entry, encoding="utf-8")

    code, stdout, stderr = await run_ldstore("mcp", "--stores", str(stores), LD_ACCESS_TOKEN=TOKEN)

    assert (code, stdout) == (2, "")
    assert words in stderr
    assert str(stores) in stderr
    assert "hunter2-inline" not in stderr
    assert len(stderr.splitlines()) == 1
