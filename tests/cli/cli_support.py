"""Running the installed ``ldstore`` console script as a subprocess, as users and scripts do."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import attrs

from ldstore.testing import FakeLaunchDarkly

PROJECT = "default"
ENVIRONMENT = "production"
SCOPE = ("--project", PROJECT, "--environment", ENVIRONMENT, "--integration", "redis")
TIMEOUT = 20.0  # seconds for one command, far above what any takes


def ldstore_executable() -> str:
    """The console script the package installed next to this interpreter."""
    beside = Path(sys.executable).parent / "ldstore"
    if beside.exists():
        return str(beside)
    found = shutil.which("ldstore")
    if found is None:  # pragma: no cover - the package is installed for the tests
        msg = "the ldstore console script is not installed: pip install -e '.[test]'"
        raise RuntimeError(msg)
    return found


@attrs.frozen
class Completed:
    """What one ``ldstore`` run left: its exit code and its output."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def assert_one_error_line(self, *parts: str) -> None:
        """stderr is one ``ldstore: error:`` line holding every part, and no traceback."""
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("ldstore: error: "), self.stderr
        for part in parts:
            assert part in lines[0], (part, self.stderr)


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without ldstore settings (nor the user's config file)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LD_", "LDSTORE_", "XDG_CONFIG_HOME"))
    }
    environment["XDG_CONFIG_HOME"] = str(Path(__file__).parent / "no-such-config-home")
    environment.update(extra)
    return environment


async def run(
    *args: str, env: Mapping[str, str] | None = None, stdin: str = "", timeout: float = TIMEOUT
) -> Completed:
    """Run ``ldstore *args`` with ``env`` (default: a clean one) and ``stdin``."""
    process = await asyncio.create_subprocess_exec(
        ldstore_executable(),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env) if env is not None else clean_environment(),
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode()), timeout)
    except asyncio.TimeoutError:
        process.kill()
        _ = await process.wait()
        raise
    code = process.returncode
    assert code is not None
    return Completed(code, stdout.decode(), stderr.decode())


async def run_against(
    fake: FakeLaunchDarkly, *args: str, stdin: str = "", **extra_env: str
) -> Completed:
    """Run ``ldstore *args`` with ``LD_BASE_URI`` and ``LD_ACCESS_TOKEN`` naming ``fake``."""
    environment = clean_environment(LD_BASE_URI=fake.url, LD_ACCESS_TOKEN=fake.token)
    environment.update(extra_env)
    return await run(*args, env=environment, stdin=stdin)


def by_id(integration_id: str) -> tuple[str, ...]:
    """The flags naming one Redis integration in default/production."""
    return (*SCOPE, "--integration-id", integration_id)


def seed_redis(fake: FakeLaunchDarkly, name: str = "Seeded", **fields: Any) -> str:
    """Plant a Redis integration in default/production and return its ID."""
    stored = fake.seed_integration(
        PROJECT,
        ENVIRONMENT,
        "redis",
        name=name,
        config={"host": "redis.internal", "port": "6379", "password": "hunter2"},
        **fields,
    )
    return cast("str", stored["_id"])


def last_error_id(fake: FakeLaunchDarkly) -> str:
    """The error id of the fake's last answer."""
    body = json.loads(fake.requests[-1].response_body)
    return cast("str", body["id"])
