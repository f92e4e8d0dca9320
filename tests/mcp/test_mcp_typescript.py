"""``ldstore mcp`` driven by the official TypeScript SDK client, which most hosts are built on.

The TypeScript client (``@modelcontextprotocol/sdk`` 1.x, pinned in ``ts/package-lock.json``
and installed by ``npm ci`` in ``./check``) checks every ``structuredContent`` against the
tool's ``outputSchema``, error results included: a result it rejects fails this test.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ServeFake
from doctor.support import Members, RedisServer, now_ms, seed_redis
from ldstore_process import ldstore_executable
from mcp_support import TOKEN, server_environment

from ldstore.testing import FakeLaunchDarkly, RateLimited

_TS = Path(__file__).parent / "ts"
_RUN_TIMEOUT = 120.0  # seconds for two server spawns and 28 calls; it takes about 7

# step -> (isError, error kind): what each call of client.mjs must give.
EXPECTED: dict[str, tuple[bool, str | None]] = {
    "list": (False, None),
    "create": (False, None),
    "get": (False, None),
    "404": (True, "NotFoundError"),
    "409": (True, "StatusConflictError"),
    "patch": (False, None),
    "wait": (False, None),
    "patch-confirmed": (False, None),
    "wait-404": (True, "NotFoundError"),
    "plan": (False, None),
    "apply-declined": (False, None),
    "apply": (False, None),
    "bad-argument": (True, "InputValidationError"),
    "unknown-argument": (True, "InputValidationError"),
    "bad-config": (True, "InputValidationError"),
    "409-duplicate": (True, "StatusConflictError"),
    "diagnose": (False, None),
    "diagnose-password-in-url": (True, "InputValidationError"),
    "membership": (False, None),
    "membership-404": (True, "NotFoundError"),
    "delete-cancelled": (False, None),
    "delete-declined": (False, None),
    "delete": (False, None),
    "delete-404": (True, "NotFoundError"),
    "delete-unconfirmable": (True, "ConfirmationRequiredError"),
    "429": (True, "RateLimitedError"),
}


def _node() -> str:
    node = shutil.which("node")
    # Not a skip: CI installs Debian's nodejs and npm, and ./check runs `npm ci`.
    assert node is not None, "node is needed (Debian: apt-get install nodejs npm)"
    assert (_TS / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir(), (
        f"run `npm ci --prefix {_TS}` (./check does)"
    )
    return node


async def _drive(fake: FakeLaunchDarkly, redis_url: str) -> tuple[list[dict[str, Any]], str]:
    """Run client.mjs against ``ldstore mcp`` on ``fake``; its JSON lines and all its output."""
    process = await asyncio.create_subprocess_exec(
        _node(),
        str(_TS / "client.mjs"),
        ldstore_executable(),
        env=server_environment(fake, LDSTORE_TEST_REDIS_URL=redis_url),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    lines: list[dict[str, Any]] = []
    raw: list[str] = []

    async def read() -> int:
        assert process.stdout is not None
        assert process.stdin is not None
        while line := await process.stdout.readline():
            raw.append(line.decode())
            lines.append(json.loads(line))
            if lines[-1].get("ready") == "429":
                fake.schedule(RateLimited(retry_after=3600))  # past any retry budget
                process.stdin.write(b"go\n")
                await process.stdin.drain()
        return await process.wait()

    try:
        assert await asyncio.wait_for(read(), _RUN_TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            _ = await process.wait()
    return lines, "".join(raw)


async def test_the_typescript_client_accepts_every_result(
    serve_fake: ServeFake, redis_session: RedisServer
) -> None:
    """Every tool, every error path (404, 409, 429, bad and unknown arguments, a password in
    a store URL), declined and unconfirmable calls: the TypeScript client accepts each
    result, as its isError says."""
    fake = await serve_fake(FakeLaunchDarkly(TOKEN, sync_delay=0.05))
    _ = redis_session.admin.flushall()
    _ = fake.add_big_segment("default", "production", "beta", included=["alice"])
    prefix = fake.client_side_id("default", "production")
    members: Members = {"alice": (["beta.g1"], [])}
    seed_redis(redis_session.admin, prefix=prefix, synchronized_on=now_ms(), members=members)

    lines, output = await _drive(fake, redis_session.url)

    calls = {line["step"]: line for line in lines if "step" in line}
    rejected = {step: line["rejected"] for step, line in calls.items() if not line["accepted"]}
    assert rejected == {}
    assert {step: (line["isError"], line["kind"]) for step, line in calls.items()} == EXPECTED
    for line in calls.values():
        # Errors have no structuredContent (it would contradict the output schema); every
        # result has its JSON in the text.
        assert line["structured"] is not line["isError"], line
        assert ("error" in line["json"]) is line["isError"], line
    assert calls["429"]["json"]["error"]["status"] == 429
    assert calls["diagnose"]["json"]["healthy"] is True
    assert calls["diagnose"]["json"]["memberships"] == {"alice": {"beta.g1": True}}
    assert calls["diagnose-password-in-url"]["json"]["error"]["field"] == "url"
    assert calls["membership"]["json"]["agrees"] is True
    assert "pw-ts-redis" not in output
    assert calls["delete-declined"]["json"] == {
        "changed": False,
        "answer": "decline",
        "message": calls["delete-declined"]["summary"],
    }
    assert lines[-1] == {"done": True}
    assert TOKEN not in output
    assert "pw-ts-1" not in output
    assert fake.integrations == [] or all(
        item["name"] != "TypeScript Redis" for item in fake.integrations
    )


def test_the_lock_file_pins_a_1x_sdk() -> None:
    """The client under test is the TypeScript SDK 1.x that hosts ship, pinned exactly."""
    manifest = json.loads((_TS / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((_TS / "package-lock.json").read_text(encoding="utf-8"))

    pinned = manifest["dependencies"]["@modelcontextprotocol/sdk"]
    locked = lock["packages"]["node_modules/@modelcontextprotocol/sdk"]["version"]

    assert pinned == locked
    assert locked.startswith("1.")


pytestmark = pytest.mark.timeout(_RUN_TIMEOUT + 30)
