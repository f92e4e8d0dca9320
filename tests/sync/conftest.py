"""A redis-server and a moto DynamoDB server for the syncing fake's tests (the doctor's helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from doctor.conftest import AWS_ENVIRONMENT
from doctor.support import RedisServer, redis_server


@pytest.fixture(scope="session")
def sync_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server for the session, on 127.0.0.1 at a free port, stopped by PID."""
    with redis_server(tmp_path_factory.mktemp("sync-redis")) as server:
        yield server


@pytest.fixture
def redis_store(sync_redis: RedisServer) -> RedisServer:
    """The session's redis-server, emptied for this test."""
    _ = sync_redis.admin.flushall()
    return sync_redis


@pytest.fixture(scope="session")
def aws_environment() -> Iterator[dict[str, str]]:
    """Dummy AWS credentials and region in this process (moto accepts any)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield AWS_ENVIRONMENT


@pytest.fixture(scope="session")
def moto_endpoint(aws_environment: dict[str, str]) -> Iterator[str]:
    """moto's DynamoDB server for the session, on 127.0.0.1 at a free port."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy: only when used

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dynamodb(moto_endpoint: str) -> Iterator[Any]:
    """A boto3 DynamoDB client for creating tables and reading them back."""
    import boto3  # noqa: PLC0415

    client = cast(
        "Any",
        boto3.client(  # pyright: ignore[reportUnknownMemberType]  # boto3 is untyped
            "dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1"
        ),
    )
    try:
        yield client
    finally:
        client.close()
