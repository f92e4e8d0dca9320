"""One redis-server and one moto DynamoDB server for the whole suite (the doctor's, the
syncing fake's and the MCP doctor tools' tests), started on 127.0.0.1 and stopped by PID;
fresh data each test. Registered as a plugin by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from doctor.support import RedisServer, redis_server

AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never wait for an instance metadata service
}


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server for the session, on 127.0.0.1 at a free port."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_store(redis_session: RedisServer) -> RedisServer:
    """The session's redis-server, emptied for this test."""
    _ = redis_session.admin.flushall()
    return redis_session


@pytest.fixture(scope="session")
def aws_environment() -> Iterator[dict[str, str]]:
    """Dummy AWS credentials and region in this process (moto accepts any)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield AWS_ENVIRONMENT


@pytest.fixture(scope="session")
def moto_endpoint(
    aws_environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """moto's DynamoDB server for the session, on 127.0.0.1 at a free port.

    Its request recorder (off until a test starts it) writes to a temporary file.
    """
    with pytest.MonkeyPatch.context() as patch:
        recording = tmp_path_factory.mktemp("moto") / "recording.jsonl"
        patch.setenv("MOTO_RECORDER_FILEPATH", str(recording))
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
    """A boto3 DynamoDB client for seeding (boto3 comes with LaunchDarkly's SDK extra)."""
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
