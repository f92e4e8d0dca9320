"""Issue 9 point 9, issue 16 point 8, issue 11 point 6: the fake's options, defined once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import re
import subprocess
import sys

import aiohttp
import pytest

import ldstore.cli._fake_server
from ldstore.cli import main as ldstore_main
from ldstore.testing import DEFAULT_ENVIRONMENTS, add_arguments
from ldstore.testing.__main__ import main as module_main

from .fakeclient import TIMEOUT, FakeClient, path

START_TIMEOUT = 15
FLAG = re.compile(r"--[a-z][a-z-]+")


def parse(*argv: str) -> argparse.Namespace:
    """Parse `argv` with a parser holding only the fake's options."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def help_of(run: object, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The --help text a main function prints (python -m ldstore.testing exits via SystemExit)."""
    assert callable(run)
    with contextlib.suppress(SystemExit):
        _ = run(argv)
    return capsys.readouterr().out


def test_environment_is_repeatable() -> None:
    """--environment PROJECT/ENV may be given again and again; none gives an empty list."""
    args = parse("--environment", "mobile/staging", "--environment", "default/staging")

    assert args.environments == [("mobile", "staging"), ("default", "staging")]
    assert parse().environments == []


@pytest.mark.parametrize("value", ["staging", "/staging", "mobile/", ""])
def test_environment_needs_project_and_environment(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value without both halves is a usage error (exit 2) that shows the expected form."""
    code = ldstore_main(["fake-server", "--environment", value])

    assert code == 2
    assert "expected PROJECT/ENV" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["--port", "70000"], ["--port", "-1"], ["--sync-delay", "-1"], ["--rate-limit", "0"]],
)
def test_out_of_range_options_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A port past 65535, negative seconds or a zero rate limit stop at parsing (exit 2)."""
    code = ldstore_main(["fake-server", *argv])

    assert code == 2
    assert "expected" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("run", "argv"),
    [(module_main, ["--help"]), (ldstore_main, ["fake-server", "--help"])],
    ids=["python -m ldstore.testing", "ldstore fake-server"],
)
def test_help_names_the_default_environments_and_how_to_add_more(
    run: object, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Both commands' --help say which environments exist and how to add one."""
    text = " ".join(help_of(run, argv, capsys).split())

    assert "default/production and default/test" in text
    assert "answers 404" in text
    assert "--environment PROJECT/ENV" in text
    assert "add_environment" in text
    assert DEFAULT_ENVIRONMENTS == {"default": ("production", "test")}


def test_both_commands_offer_the_same_options(capsys: pytest.CaptureFixture[str]) -> None:
    """`ldstore fake-server` has every option of `python -m ldstore.testing`, from one place."""
    testing = set(FLAG.findall(help_of(module_main, ["--help"], capsys)))
    served = set(FLAG.findall(help_of(ldstore_main, ["fake-server", "--help"], capsys)))

    assert {"--environment", "--seed", "--rate-limit-window", "--list-includes-config"} <= testing
    assert testing <= served
    assert "add_argument(" not in inspect.getsource(ldstore.cli._fake_server)


def test_fake_server_help_needs_no_testing_extra() -> None:
    """`ldstore fake-server --help` loads neither jsonpatch nor the fake (the extra is optional)."""
    code = (
        "import sys\n"
        "from ldstore.cli import main\n"
        "assert main(['fake-server', '--help']) == 0\n"
        "print(sorted(m for m in ('jsonpatch', 'ldstore.testing._server') if m in sys.modules))\n"
    )

    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=START_TIMEOUT
    )

    assert done.stdout.decode().splitlines()[-1] == "[]"


def test_fake_server_without_the_testing_extra_says_what_to_install() -> None:
    """Without jsonpatch, `ldstore fake-server` exits 2 naming the extra to install."""
    code = (
        "import sys\n"
        "sys.modules['jsonpatch'] = None  # as if it were not installed\n"
        "from ldstore.cli import main\n"
        "raise SystemExit(main(['fake-server']))\n"
    )

    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, check=False, timeout=START_TIMEOUT
    )

    assert done.returncode == 2
    assert "pip install 'ldstore[testing]'" in done.stderr.decode()


async def test_fake_server_serves_the_environments_it_was_given() -> None:
    """`ldstore fake-server --environment mobile/staging` knows it besides the defaults."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ldstore",
        "fake-server",
        "--token",
        "api-env",
        "--environment",
        "mobile/staging",
        "--environment",
        "default/staging",
        stdout=asyncio.subprocess.PIPE,
    )
    statuses: dict[str, int] = {}
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        url = first.decode().removeprefix("listening on ").strip()
        headers = {"Authorization": "api-env", "LD-API-Version": "beta"}
        async with aiohttp.ClientSession(timeout=TIMEOUT, headers=headers) as session:
            for project, environment in [
                ("mobile", "staging"),
                ("default", "staging"),
                ("default", "production"),
                ("default", "test"),
                ("mobile", "production"),
            ]:
                where = url + path(project, environment, "redis")
                async with session.post(where, json={"config": {"host": "h"}}) as response:
                    statuses[f"{project}/{environment}"] = response.status
        process.terminate()
        _ = await asyncio.wait_for(process.wait(), START_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            _ = await process.wait()

    assert statuses == {
        "mobile/staging": 201,
        "default/staging": 201,
        "default/production": 201,
        "default/test": 201,
        "mobile/production": 404,
    }
    assert process.returncode == 0


async def test_unknown_environment_says_what_the_fake_knows(client: FakeClient) -> None:
    """A 404 for an environment the fake lacks names the known ones and how to add one."""
    answer = await client.create(environment_key="staging")

    assert answer.status == 404
    message = answer.json()["message"]
    assert "this fake knows: production, test" in message
    assert "--environment default/staging" in message
