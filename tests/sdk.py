"""The suite's helpers: the scope tests use, seeding the fake, reading its log, requests."""

import json
from collections.abc import Mapping
from functools import partial
from typing import Any

from ldstore import Core, RetryConfig
from ldstore.models import IntegrationDeliveryConfigurationPost, RedisConfig
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchBody
from ldstore.testing import FakeLaunchDarkly, RecordedRequest

PROJECT = "default"
ENVIRONMENT = "production"
REDIS_HOST: Mapping[str, Any] = {"host": "redis.internal"}
REDIS_WIRE: Mapping[str, Any] = {"host": "redis.internal", "port": "6379", "tlsEnabled": False}
REDIS_WITH_PASSWORD: Mapping[str, Any] = {
    "host": "redis.internal",
    "port": "6379",
    "password": "hunter2",
}
FAST_RETRIES = RetryConfig(initial_interval=0.001, max_interval=0.01, max_elapsed_time=5.0)


def core_for(fake: FakeLaunchDarkly, **options: Any) -> Core:
    """A Core aimed at the fake; tests never sleep for real unless they say so."""
    options.setdefault("retry_config", RetryConfig.none())
    options.setdefault("timeout", 5.0)
    options.setdefault("api_key", fake.token)
    return Core(server_url=fake.url, **options)


def create_request(
    name: str = "Prod store",
    *,
    project: str = PROJECT,
    environment: str = ENVIRONMENT,
    config: RedisConfig | dict[str, Any] | None = None,
    on: bool | None = None,
) -> CreateBigSegmentStoreIntegrationRequest:
    return CreateBigSegmentStoreIntegrationRequest(
        project,
        environment,
        "redis",
        IntegrationDeliveryConfigurationPost(
            config if config is not None else RedisConfig("redis.internal", password="hunter2"),
            on=on,
            tags=["team-a"],
            name=name,
        ),
    )


def get_request(
    integration_id: str, *, project: str = PROJECT, environment: str = ENVIRONMENT
) -> GetBigSegmentStoreIntegrationRequest:
    return GetBigSegmentStoreIntegrationRequest(project, environment, "redis", integration_id)


def patch_request(integration_id: str, body: PatchBody) -> PatchBigSegmentStoreIntegrationRequest:
    return PatchBigSegmentStoreIntegrationRequest(
        PROJECT, ENVIRONMENT, "redis", integration_id, body
    )


def delete_request(integration_id: str) -> DeleteBigSegmentStoreIntegrationRequest:
    return DeleteBigSegmentStoreIntegrationRequest(PROJECT, ENVIRONMENT, "redis", integration_id)


def seed(
    fake: FakeLaunchDarkly,
    name: str = "Seeded",
    *,
    environment: str = ENVIRONMENT,
    config: Mapping[str, Any] | None = None,
    **fields: Any,
) -> str:
    """Plant one Redis integration in the fake (default config: a host only); return its ID."""
    stored = fake.seed_integration(
        PROJECT,
        environment,
        "redis",
        name=name,
        config=dict(REDIS_HOST if config is None else config),
        **fields,
    )
    integration_id: str = stored["_id"]
    return integration_id


def sent(fake: FakeLaunchDarkly, method: str) -> list[RecordedRequest]:
    """The requests the fake received with this method, in order."""
    return [request for request in fake.requests if request.method == method]


def body(request: RecordedRequest) -> Any:
    """A recorded request's JSON body."""
    return json.loads(request.raw_body)  # the log masks secrets; the wire had them


seed_redis = partial(seed, config=REDIS_WIRE)  # the usual store of the workflow tests
