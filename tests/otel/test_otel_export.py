"""configure_from_env(): with OTEL_EXPORTER_OTLP_ENDPOINT set, a process's calls reach an
OTLP/HTTP receiver (a small aiohttp server decoding the protobuf); without it, nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterable

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import ServeFake
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from sdk import seed

from ldstore.otel import configure_from_env
from ldstore.testing import FakeLaunchDarkly

# A service's use: hooks from the environment (None: no telemetry, no cost), two calls, exit.
PROGRAM = """
import asyncio, sys
from ldstore import Core, funcs
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.otel import configure_from_env

async def main() -> None:
    hooks = configure_from_env()
    assert hooks is not None
    async with Core(hooks=hooks) as core:
        _ = (await funcs.get_big_segment_store_integrations(core)).unwrap()
        request = GetBigSegmentStoreIntegrationRequest("default", "production", "redis", sys.argv[1])
        _ = (await funcs.get_big_segment_store_integration(core, request)).unwrap()

asyncio.run(main())
"""
TIMEOUT = 60.0  # seconds for the whole process: the exporter's own timeout is 10 s


@attrs.define
class Receiver:
    url: str
    traces: list[ExportTraceServiceRequest] = attrs.field(factory=list[ExportTraceServiceRequest])
    metrics: list[ExportMetricsServiceRequest] = attrs.field(
        factory=list[ExportMetricsServiceRequest]
    )
    raw: list[bytes] = attrs.field(factory=list[bytes])
    headers: list[dict[str, str]] = attrs.field(factory=list[dict[str, str]])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """An OTLP/HTTP receiver on 127.0.0.1: /v1/traces and /v1/metrics, protobuf."""
    received = Receiver(url="")

    async def traces(request: web.Request) -> web.Response:
        body = await request.read()
        received.raw.append(body)
        received.headers.append(dict(request.headers))
        received.traces.append(ExportTraceServiceRequest.FromString(body))
        answer = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    async def metrics(request: web.Request) -> web.Response:
        body = await request.read()
        received.raw.append(body)
        received.headers.append(dict(request.headers))
        received.metrics.append(ExportMetricsServiceRequest.FromString(body))
        answer = ExportMetricsServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    app = web.Application()
    _ = app.router.add_post("/v1/traces", traces)
    _ = app.router.add_post("/v1/metrics", metrics)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    received.url = str(server.make_url("")).rstrip("/")
    try:
        yield received
    finally:
        await server.close()


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, str]:
    return {pair.key: pair.value.string_value for pair in pairs}


async def test_a_process_exports_its_spans_and_metrics_over_otlp(
    serve_fake: ServeFake, receiver: Receiver
) -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS and OTEL_RESOURCE_ATTRIBUTES set: the receiver
    gets both call spans and their attempts, ldstore's metrics, the headers asked for, a
    resource named ldstore; and never the LaunchDarkly token."""
    fake = await serve_fake(FakeLaunchDarkly(token="api-otlp-secret-token-42"))
    integration_id = seed(fake)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "OTEL_"))}
    environment.update(
        LD_BASE_URI=fake.url,
        LD_ACCESS_TOKEN=fake.token,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS="x-collector-key=collector-42",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=ci",
    )

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROGRAM, integration_id, env=environment
    )
    code = await asyncio.wait_for(process.wait(), TIMEOUT)

    assert code == 0
    spans = [
        (scoped.scope.name, span.name)
        for export in receiver.traces
        for resource in export.resource_spans
        for scoped in resource.scope_spans
        for span in scoped.spans
    ]
    assert sorted(spans) == [
        ("ldstore", "GET"),
        ("ldstore", "GET"),
        ("ldstore", "getBigSegmentStoreIntegration"),
        ("ldstore", "getBigSegmentStoreIntegrations"),
    ]
    [resource] = [r.resource for export in receiver.traces for r in export.resource_spans][:1]
    named = _attributes(resource.attributes)
    assert named["service.name"] == "ldstore"
    assert named["deployment.environment"] == "ci"
    measured = {
        metric.name
        for export in receiver.metrics
        for resource_metrics in export.resource_metrics
        for scoped in resource_metrics.scope_metrics
        for metric in scoped.metrics
    }
    assert "http.client.request.duration" in measured
    assert all(headers.get("x-collector-key") == "collector-42" for headers in receiver.headers)
    assert not any(fake.token.encode() in body for body in receiver.raw)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"},
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
        },
    ],
)
def test_no_endpoint_or_a_disabled_sdk_gives_no_hooks(environ: dict[str, str]) -> None:
    """Without an endpoint, with the SDK disabled or both signals off: None, so a command
    runs with no hooks at all (and the global providers are left alone)."""
    assert configure_from_env(environ) is None
