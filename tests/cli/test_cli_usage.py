"""``ldstore.cli.main`` in-process for what needs no server: help, and input refused before sending."""

from __future__ import annotations

import ast
import importlib
import logging
from pathlib import Path

import pytest

from ldstore.cli import main
from ldstore.cli._logging import retry_line
from ldstore.errors import (
    APIError,
    ConnectionFailedError,
    ConnectionLostError,
    InputValidationError,
    LDStoreError,
    RequestTimeoutError,
)

_BY_ID = (
    "--project",
    "default",
    "--environment",
    "production",
    "--integration",
    "redis",
    "--integration-id",
    "abc",
)
_COMMANDS = (
    "list",
    "get",
    "create",
    "update",
    "delete",
    "wait",
    "apply",
    "config",
    "demo",
    "fake-server",
    "completion",
)
_CREATE = ("create", "--project", "default", "--environment", "test")


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A token, a closed server, and no config file: nothing here may reach the network."""
    monkeypatch.delenv("LDSTORE_CONFIG", raising=False)
    monkeypatch.setenv("LD_ACCESS_TOKEN", "api-usage-test-token")
    monkeypatch.setenv("LD_BASE_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_help_documents_exit_codes_and_environment(capsys: pytest.CaptureFixture[str]) -> None:
    """`ldstore --help` lists the commands, the exit codes and the environment variables."""
    code = main(["--help"])

    out = capsys.readouterr().out
    assert code == 0
    for command in _COMMANDS:
        assert command in out
    assert "exit codes:" in out
    assert "3    network" in out
    assert "LD_ACCESS_TOKEN" in out
    assert "LD_BASE_URI" in out


@pytest.mark.parametrize("command", _COMMANDS)
def test_every_command_help_shows_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each subcommand's --help ends with examples that call it."""
    code = main([command, "--help"])

    out = capsys.readouterr().out
    assert code == 0
    examples = out.split("examples:\n", 1)[1]
    assert f"ldstore {command}" in examples


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["get", "--project", "default"], "the following arguments are required"),
        (["list", "--integration", "mysql"], "invalid choice: 'mysql'"),
        (["list", "--timeout", "-1"], "expected a positive number of seconds"),
        (["demo", "--wait-timeout", "0"], "expected a positive number of seconds"),
        (["demo", "--sync-delay", "-1"], "expected seconds (0 or more)"),
        (
            ["create", *_BY_ID[:6], "--host", "h", "--table-name", "t"],
            "--table-name does not apply to --integration redis",
        ),
        (["create", *_BY_ID[:6]], "--integration redis needs --host"),
        (
            [*_CREATE, "--integration", "dynamodb", "--table-name", "t"],
            "needs --region, --role-arn, --external-id",
        ),
        (
            [
                *_CREATE,
                "--integration",
                "dynamodb",
                "--table-name",
                "t",
                "--region",
                "us-east-1",
                "--role-arn",
                "not-an-arn",
                "--external-id",
                "x",
            ],
            "invalid DynamoDB config: role_arn must be an IAM role ARN",
        ),
        (["update", *_BY_ID], "nothing to update"),
        (["update", *_BY_ID, "--set-config", "port=http"], "port takes a number from 1 to 65535"),
        (["update", *_BY_ID, "--set-config", "tls=on"], "tls is not a redis setting"),
        (["update", *_BY_ID, "--set-config", "tlsEnabled=maybe"], "takes true or false"),
        (["update", *_BY_ID, "--set-config", "host"], "--set-config takes KEY=VALUE"),
        (["update", *_BY_ID, "--patch", "/no/such/file.json"], "cannot read /no/such/file.json"),
        (["list", "--base-uri", "app.launchdarkly.com"], "must be an http(s) URL"),
    ],
)
def test_bad_input_is_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad flags and invalid input: exit 2 with the reason on stderr's last line; no traceback."""
    code = main(argv)

    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert ": error: " in last
    assert message in last


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("[{", "is not JSON"),
        ('{"patch": 3}', "must hold a JSON Patch array"),
        ('[{"op": "frobnicate", "path": "/name"}]', "operation 1 needs an op"),
        (
            '[{"op": "replace", "path": "/name"}]',
            "operation 1: a 'replace' operation needs a value",
        ),
        ('["replace"]', "operation 1 is not an object"),
    ],
)
def test_bad_patch_file_is_a_usage_error(
    patch: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --patch file that is not a JSON Patch: exit 2, naming what is wrong."""
    path = tmp_path / "patch.json"
    _ = path.write_text(patch)

    code = main(["update", *_BY_ID, "--patch", str(path)])

    assert code == 2
    assert message in capsys.readouterr().err


def test_config_file_supplies_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without flag or variable, the token comes from LDSTORE_CONFIG; unknown keys are refused."""
    config = tmp_path / "ldstore.toml"
    _ = config.write_text('access-token = "api-from-file-0000"\nbase-uri = "not a url"\n')
    monkeypatch.setenv("LDSTORE_CONFIG", str(config))
    monkeypatch.delenv("LD_ACCESS_TOKEN")
    monkeypatch.delenv("LD_BASE_URI")

    from_file = main(["list"])
    from_file_err = capsys.readouterr().err
    _ = config.write_text('token = "x"\n')
    unknown_key = main(["list"])
    unknown_key_err = capsys.readouterr().err

    assert from_file == 2  # the token was found: the file's bad base-uri is the complaint
    assert "must be an http(s) URL such as https://app.launchdarkly.com, not 'not a url'" in (
        from_file_err
    )
    assert unknown_key == 2
    assert "unknown keys ['token']" in unknown_key_err


def test_main_leaves_the_ldstore_logger_as_it_found_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """main() restores the `ldstore` logger, so it can run inside another program."""
    logger = logging.getLogger("ldstore")
    before = (logger.level, logger.propagate, list(logger.handlers))

    _ = main(["--debug", "update", *_BY_ID])

    assert (logger.level, logger.propagate, list(logger.handlers)) == before
    assert "nothing to update" in capsys.readouterr().err


_PARTS = (
    "_asking",
    "_completion",
    "_config",
    "_core",
    "_errors",
    "_logging",
    "_options",
    "_output",
    "_screen",
    "_settings",
)


@pytest.mark.parametrize("part", _PARTS)
def test_each_part_of_the_cli_exports_exactly_what_it_defines(part: str) -> None:
    """Each CLI module's ``__all__`` lists the public names it defines, and only those."""
    module = importlib.import_module(f"ldstore.cli.{part}")
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defined.add(node.target.id)

    public = {name for name in defined if not name.startswith("_")}

    assert sorted(module.__all__) == sorted(public)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (None, "which does not exist"),
        ("project = 1\n", "project in the config file"),
        ("federal = 'yes'\n", "must be true or false"),
        ("colour = 'red'\n", "unknown keys ['colour']"),
        ("enviroment = 'x'\n", "unknown keys ['enviroment']; did you mean environment?"),
        ("project = \n", "is not valid TOML"),
    ],
)
def test_a_bad_config_file_is_one_usage_line(
    config: str | None,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A named config file that is missing, mistyped or not TOML: exit 2 naming the problem."""
    path = tmp_path / "config.toml"
    if config is not None:
        _ = path.write_text(config)
    monkeypatch.setenv("LDSTORE_CONFIG", str(path))

    code = main(["list"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert message in err


def test_a_config_path_that_cannot_be_read_is_one_line_and_never_overwritten(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory as the config file: commands and `config --set` stop with one line, exit 2."""
    monkeypatch.setenv("LDSTORE_CONFIG", str(tmp_path))

    read = main(["list"])
    written = main(["config", "--set", "project", "p"])

    lines = capsys.readouterr().err.splitlines()
    assert (read, written) == (2, 2)
    assert lines[0].startswith(f"ldstore: error: cannot read the config file {tmp_path}")
    assert lines[1] == lines[0]
    assert tmp_path.is_dir()


def test_an_unknown_ld_output_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """LD_OUTPUT=yaml is refused by name before anything is sent."""
    monkeypatch.setenv("LD_OUTPUT", "yaml")

    code = main(["list"])

    assert code == 2
    assert "LD_OUTPUT must be json or plaintext, not 'yaml'" in capsys.readouterr().err


_URL = "http://127.0.0.1:9/api"


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            APIError(status_code=503, code="busy", message="<html>...</html>"),
            "the server answered HTTP 503 busy; retrying in 1.5 s (attempt 3 of 5)",
        ),
        (
            RequestTimeoutError(message="no full answer", method="GET", url=_URL),
            "no answer in time from 127.0.0.1:9; retrying in 1.5 s (attempt 3 of 5)",
        ),
        (
            ConnectionLostError(message="reset", method="GET", url=_URL),
            "connection lost with 127.0.0.1:9; retrying in 1.5 s (attempt 3 of 5)",
        ),
        (
            ConnectionFailedError(
                message="could not connect: [Errno 1] odd", method="GET", url=_URL
            ),
            "could not connect: [Errno 1] odd; retrying in 1.5 s (attempt 3 of 5)",
        ),
        (
            InputValidationError(message="x " * 100),
            f"{('x ' * 100).strip()[:117]}...; retrying in 1.5 s (attempt 3 of 5)",
        ),
    ],
)
def test_each_retry_is_one_short_line(error: LDStoreError, line: str) -> None:
    """The retry notice names what failed in a few words, the wait and the attempt number."""
    retry = {"attempt": 2, "wait": 1.5, "error": error, "max_attempts": 5}

    assert retry_line(retry) == line
