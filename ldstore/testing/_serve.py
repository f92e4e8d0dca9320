"""Serving the fake until a signal: for demos, benchmarks and other processes' tests."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import TextIO

from ldstore.testing._server import FakeLaunchDarkly


def seed_demo(fake: FakeLaunchDarkly, count: int) -> None:
    """Store `count` valid integrations, alternating Redis and DynamoDB, over every environment."""
    scopes = [(project, env) for project, envs in fake.environments.items() for env in envs]
    for number in range(count):
        project, environment = scopes[number % len(scopes)]
        if number % 2 == 0:
            key = "redis"
            config = {"host": f"redis-{number}.internal", "port": "6379", "password": "hunter2"}
        else:
            key = "dynamodb"
            config = {
                "tableName": f"ld-big-segments-{number}",
                "region": "us-east-1",
                "roleArn": "arn:aws:iam::123456789012:role/launchdarkly-big-segments",
                "externalId": f"external-{number}",
            }
        _ = fake.seed_integration(
            project,
            environment,
            key,
            name=f"store-{number}",
            config=config,
            on=number % 3 != 0,
            tags=["seeded"],
        )


async def serve_forever(
    fake: FakeLaunchDarkly | None = None,
    *,
    seed: int = 0,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve `fake` (a default one if omitted) until SIGINT or SIGTERM, or until `stop` is set.

    The first line written to `out` (stdout by default) is `listening on <url>`, flushed
    at once, for a parent process to read the port from; the second names the token.
    """
    fake = fake or FakeLaunchDarkly()
    stop = stop or asyncio.Event()
    out = out or sys.stdout
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    # Install the handlers before announcing, so a signal sent on reading the line is caught.
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # Not on Windows, nor outside the main thread.
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    try:
        async with fake:
            seed_demo(fake, seed)
            print(f"listening on {fake.url}", file=out, flush=True)
            print(f"token: {fake.token}", file=out, flush=True)
            _ = await stop.wait()
    finally:
        for signum in handled:
            _ = loop.remove_signal_handler(signum)
