"""Failures through the installed ``ldstore`` script: one stderr line and a documented exit code."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from urllib.parse import quote

import pytest
from cli_support import SCOPE, by_id, last_error_id, run, run_against
from ldstore_process import clean_environment
from sdk import REDIS_WITH_PASSWORD, seed

from ldstore.testing import FakeLaunchDarkly, Hang, ServerError


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens once the probe is closed


async def test_bad_token_is_one_line_and_exit_1(fake: FakeLaunchDarkly) -> None:
    """A refused token: exit 1, one line naming the 401, its error id and a hint."""
    result = await run_against(fake, "list", LD_ACCESS_TOKEN="api-wrong-token-0123")

    assert result.code == 1
    result.assert_one_error_line(
        "HTTP 401 unauthorized", f"(error id {last_error_id(fake)})", "LD_ACCESS_TOKEN"
    )
    assert "api-wrong-token-0123" not in result.stderr
    assert result.stdout == ""


async def test_unknown_id_is_not_found_with_its_error_id(fake: FakeLaunchDarkly) -> None:
    """An unknown ID: exit 1 and `ldstore: error: HTTP 404 not_found: ... (error id ...)`."""
    result = await run_against(fake, "get", *by_id("no-such-id"))

    assert result.code == 1
    result.assert_one_error_line("HTTP 404 not_found", f"(error id {last_error_id(fake)})")


async def test_bad_flags_and_invalid_config_exit_2(fake: FakeLaunchDarkly) -> None:
    """An unknown flag and an invalid store config are usage errors: exit 2, nothing sent."""
    bad_flag, bad_port, no_token = await asyncio.gather(
        run_against(fake, "list", "--no-such-flag"),
        run_against(fake, "create", *SCOPE, "--host", "redis.internal", "--port", "70000"),
        run("list"),
    )

    assert bad_flag.code == 2
    assert "Traceback" not in bad_flag.stderr
    assert bad_flag.stderr.splitlines()[-1] == ("ldstore: error: unknown flag --no-such-flag")
    assert bad_port.code == 2
    bad_port.assert_one_error_line("invalid Redis config: port must be between 1 and 65535")
    assert no_token.code == 2
    no_token.assert_one_error_line("no access token", "LD_ACCESS_TOKEN")
    assert fake.requests == []


async def test_server_down_or_silent_exits_3(fake: FakeLaunchDarkly) -> None:
    """A refused connection and a timeout are network errors: exit 3, one line."""
    fake.schedule(Hang(), times=None)
    environment = clean_environment(LD_ACCESS_TOKEN=fake.token)

    refused, silent = await asyncio.gather(
        run(
            "list",
            "--base-uri",
            f"http://127.0.0.1:{_closed_port()}",
            "--retry-budget",
            "0",
            env=environment,
        ),
        run(
            "list",
            "--base-uri",
            fake.url,
            "--timeout",
            "0.3",
            "--retry-budget",
            "0",
            env=environment,
        ),
    )

    assert refused.code == 3
    refused.assert_one_error_line("cannot connect to 127.0.0.1")
    assert silent.code == 3
    silent.assert_one_error_line("no full answer in time")


async def test_guarded_update_conflict_exits_1(fake: FakeLaunchDarkly) -> None:
    """--if-version with a stale version: the 409 line, exit 1, and nothing changed."""
    integration_id = seed(fake, version=4, config=REDIS_WITH_PASSWORD)

    result = await run_against(fake, "update", *by_id(integration_id), "--if-version", "3", "--off")

    assert result.code == 1
    result.assert_one_error_line("HTTP 409", f"(error id {last_error_id(fake)})", "re-read it")
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert stored["version"] == 4


async def test_token_never_appears_even_with_debug(fake: FakeLaunchDarkly) -> None:
    """--debug logs each exchange to stderr, but the token appears nowhere, flag or variable."""
    integration_id = seed(fake, config=REDIS_WITH_PASSWORD)

    results = await asyncio.gather(
        run_against(fake, "--debug", "list", "-o", "json"),
        run_against(fake, "get", *by_id(integration_id), "--debug", "--access-token", fake.token),
        run_against(fake, "get", *by_id("missing"), "--debug"),
        run_against(fake, "list", "--debug", LD_ACCESS_TOKEN=f"{fake.token}-but-wrong"),
    )

    assert [result.code for result in results] == [0, 0, 1, 1]
    for result in results:
        assert fake.token not in result.stdout
        assert fake.token not in result.stderr
        assert "ldstore: debug: GET http://127.0.0.1" in result.stderr
    assert "token from --access-token" in results[1].stderr
    assert "token from LD_ACCESS_TOKEN" in results[0].stderr


async def test_retries_are_announced_unless_quiet(fake: FakeLaunchDarkly) -> None:
    """A 503 then success: exit 0, with a retry notice on stderr (none with --quiet)."""
    _ = seed(fake, config=REDIS_WITH_PASSWORD)
    fake.schedule(ServerError(503), times=1)
    loud = await run_against(fake, "list")
    fake.schedule(ServerError(503), times=1)

    quiet = await run_against(fake, "list", "--quiet")

    assert (loud.code, quiet.code) == (0, 0)
    assert "ldstore: the server answered HTTP 503; retrying in " in loud.stderr
    assert loud.stderr.endswith(" s (attempt 2)\n")
    assert "retrying" in loud.stderr
    assert quiet.stderr == ""
    assert len(quiet.lines) == 1


_SECRET = 'pa"ss\\w\u00f6rd-/+1234'  # quotes, a backslash, non-ASCII: many spellings


def _spellings(secret: str) -> list[str]:
    return [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        repr(secret)[1:-1],
        base64.b64encode(secret.encode()).decode().rstrip("="),
    ]


@pytest.mark.parametrize("spelling", ["separate", "equals"])
async def test_json_errors_never_show_a_flag_secret(fake: FakeLaunchDarkly, spelling: str) -> None:
    """-o json: a server echoing --password's value in code, message and id shows it masked."""
    echo = f"{_SECRET} {quote(_SECRET, safe='')}"
    body = json.dumps({"code": echo, "message": f"bad password {echo}", "id": echo})
    fake.schedule(ServerError(status=400, body=body, content_type="application/json"))
    password = ["--password", _SECRET] if spelling == "separate" else [f"--password={_SECRET}"]

    result = await run_against(
        fake, "create", *SCOPE, "--name", "n", "--host", "h", *password, "-o", "json"
    )

    assert result.code == 1
    error = json.loads(result.stderr)["error"]
    assert error["status"] == 400
    assert error["code"] == "[REDACTED] [REDACTED]"
    assert error["id"] == "[REDACTED] [REDACTED]"
    for shown in _spellings(_SECRET):
        assert shown not in result.stderr


async def test_json_errors_never_show_a_token_typed_into_another_flag(
    fake: FakeLaunchDarkly,
) -> None:
    """-o json: a parse error quoting the --access-token value (pasted twice) masks it."""
    token = f"api-{_SECRET}"

    result = await run(
        "list", "-o", "json", "--access-token", token, "--status", token,
        env=clean_environment(LD_BASE_URI=fake.url),
    )  # fmt: skip

    assert result.code == 2
    error = json.loads(result.stderr)["error"]
    assert "--status" in error["message"]
    assert "[REDACTED]" in error["message"]
    for shown in _spellings(token):
        assert shown not in result.stderr
    assert fake.requests == []
