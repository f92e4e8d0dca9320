"""`ldstore fake-server --sync`: the standalone fake syncs a real redis-server too."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import aiohttp
import pytest
from doctor.support import RedisServer

START_TIMEOUT = 15


@pytest.mark.timeout(60)
async def test_fake_server_sync_writes_the_store(redis_store: RedisServer) -> None:
    """`ldstore fake-server --sync --sync-interval 0.2`: an integration created over HTTP is
    synced into redis-server (synchronizedOn and the membership set), and _status says so."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ldstore",
        "fake-server",
        "--sync",
        "--sync-interval",
        "0.2",
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        _ = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        url = first.decode().removeprefix("listening on ").strip()
        headers = {"Authorization": "api-fake-token"}
        async with aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=5)
        ) as session:
            environment = await get_json(
                session, f"{url}/api/v2/projects/default/environments/production"
            )
            segments = f"{url}/api/v2/segments/default/production"
            async with session.post(
                segments, json={"key": "vip", "name": "VIP", "unbounded": True}
            ) as answer:
                assert answer.status == 201
            async with session.post(
                f"{segments}/vip/contexts", json={"included": {"add": ["alice"]}}
            ) as answer:
                assert answer.status == 204
            created = await post_store(session, url, redis_store.port)
            item_url = (
                f"{url}/api/v2/integration-capabilities/big-segment-store/default/production/redis/"
                + created["_id"]
            )
            status: dict[str, Any] = {}
            for _ in range(100):
                status = (await get_json(session, item_url, beta=True))["_status"]
                if status.get("available"):
                    break
                await asyncio.sleep(0.1)

        process.terminate()
        _ = await asyncio.wait_for(process.wait(), START_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            _ = await process.wait()

    prefix = environment["_id"]
    admin: Any = redis_store.admin
    assert status["available"] is True
    assert admin.get(f"{prefix}:big_segments_synchronized_on") is not None
    assert admin.keys(f"{prefix}:big_segment_include:*") != []
    assert process.returncode == 0


async def get_json(session: aiohttp.ClientSession, url: str, *, beta: bool = False) -> Any:
    headers = {"LD-API-Version": "beta"} if beta else {}
    async with session.get(url, headers=headers) as answer:
        assert answer.status == 200
        return await answer.json()


async def post_store(session: aiohttp.ClientSession, url: str, port: int) -> Any:
    body = {"name": "local", "on": True, "config": {"host": "127.0.0.1", "port": str(port)}}
    async with session.post(
        f"{url}/api/v2/integration-capabilities/big-segment-store/default/production/redis",
        json=body,
        headers={"LD-API-Version": "beta"},
    ) as answer:
        assert answer.status == 201
        return await answer.json()


@pytest.mark.parametrize(
    "options",
    [
        ["--sync-interval", "0"],
        ["--sync-interval", "-1"],
        ["--sync-interval", "nan"],
        ["--dynamodb-endpoint", "localhost:8000"],
        ["--dynamodb-endpoint", "ftp://x"],
        ["--max-logged-requests", "-5"],
    ],
)
def test_bad_sync_and_log_options_are_usage_errors(options: list[str]) -> None:
    """A bad --sync-interval, --dynamodb-endpoint or log bound: exit 2 with the reason, no server."""
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "ldstore", "fake-server", *options],
        capture_output=True,
        timeout=START_TIMEOUT,
        check=False,
    )

    assert done.returncode == 2
    assert b"expected" in done.stderr
    assert done.stdout == b""
