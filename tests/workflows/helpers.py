"""Helpers for the workflow tests: seeding the fake and reading its log."""

from __future__ import annotations

import json
from typing import Any

from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.testing import FakeLaunchDarkly, RecordedRequest

PROJECT = "default"
ENVIRONMENT = "production"
REDIS_WIRE: dict[str, Any] = {"host": "redis.internal", "port": "6379", "tlsEnabled": False}


def seed_redis(
    fake: FakeLaunchDarkly,
    name: str,
    *,
    environment: str = ENVIRONMENT,
    config: dict[str, Any] | None = None,
    **fields: Any,
) -> str:
    """Plant one Redis integration and return its ID."""
    stored = fake.seed_integration(
        PROJECT,
        environment,
        "redis",
        name=name,
        config=REDIS_WIRE if config is None else config,
        **fields,
    )
    integration_id: str = stored["_id"]
    return integration_id


def get_request(integration_id: str) -> GetBigSegmentStoreIntegrationRequest:
    return GetBigSegmentStoreIntegrationRequest(PROJECT, ENVIRONMENT, "redis", integration_id)


def sent(fake: FakeLaunchDarkly, method: str) -> list[RecordedRequest]:
    """The requests the fake received with this method, in order."""
    return [request for request in fake.requests if request.method == method]


def body(request: RecordedRequest) -> Any:
    return json.loads(request.body)
