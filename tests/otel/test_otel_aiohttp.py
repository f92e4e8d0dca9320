"""No double counting beside opentelemetry-instrumentation-aiohttp-client: when it traces
aiohttp, each attempt is its span (under ldstore's call span), never ldstore's as well."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from conftest import ServeFake
from opentelemetry.instrumentation.aiohttp_client import (
    AioHttpClientInstrumentor,
    create_trace_config,
)
from otel_support import Telemetry, recording, total
from sdk import FAST_RETRIES, core_for, get_request, seed

from ldstore import Ok
from ldstore.funcs import get_big_segment_store_integration
from ldstore.otel import aiohttp_instrumented
from ldstore.testing import FakeLaunchDarkly, RateLimited

AIOHTTP_SCOPE = "opentelemetry.instrumentation.aiohttp_client"
GET = "getBigSegmentStoreIntegration"


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    with recording() as telemetry:
        yield telemetry


@pytest.fixture
def instrumented(telemetry: Telemetry) -> Iterator[None]:
    """aiohttp instrumented globally, as ``opentelemetry-instrument`` would, for one test."""
    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        yield
    finally:
        instrumentor.uninstrument()


async def test_instrumented_aiohttp_makes_the_only_attempt_spans(
    serve_fake: ServeFake, telemetry: Telemetry, instrumented: None
) -> None:
    """With the instrumentor on, a 429 then a 200 give two CLIENT spans, both aiohttp's and
    both under ldstore's call span; ldstore adds none and no request duration of its own,
    and still counts the 429, the retry and the wait."""
    fake = await serve_fake(FakeLaunchDarkly())
    integration_id = seed(fake)
    fake.schedule(RateLimited(retry_after=0.01), times=1, operation=GET)

    async with core_for(fake, hooks=telemetry.hooks(), retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integration(core, get_request(integration_id))

    assert isinstance(result, Ok)
    assert aiohttp_instrumented()
    [call] = telemetry.calls()
    assert (call.attributes or {})["ldstore.attempts"] == 2
    assert telemetry.children(call) == []
    theirs = telemetry.children(call, scope=AIOHTTP_SCOPE)
    assert len(theirs) == 2
    assert telemetry.points("http.client.request.duration") == []
    assert total(telemetry.points("ldstore.client.rate_limited")) == 1
    assert total(telemetry.points("ldstore.client.retries")) == 1
    assert total(telemetry.points("ldstore.client.wait.duration")) == 1


async def test_without_the_instrumentor_ldstore_makes_the_attempt_spans(
    serve_fake: ServeFake, telemetry: Telemetry
) -> None:
    """The same call with aiohttp not instrumented: the attempt spans are ldstore's."""
    fake = await serve_fake(FakeLaunchDarkly())
    integration_id = seed(fake)
    fake.schedule(RateLimited(retry_after=0.01), times=1, operation=GET)

    async with core_for(fake, hooks=telemetry.hooks(), retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integration(core, get_request(integration_id))

    assert isinstance(result, Ok)
    assert not aiohttp_instrumented()
    [call] = telemetry.calls()
    assert len(telemetry.children(call)) == 2
    assert telemetry.children(call, scope=AIOHTTP_SCOPE) == []
    assert total(telemetry.points("http.client.request.duration")) == 2


async def test_attempt_spans_false_for_a_session_traced_by_hand(
    serve_fake: ServeFake, telemetry: Telemetry
) -> None:
    """A caller's session given aiohttp's trace config by hand, which no instrumentor reports:
    ``attempt_spans=False`` is the switch, and each attempt is one span, aiohttp's."""
    fake = await serve_fake(FakeLaunchDarkly())
    integration_id = seed(fake)
    trace_config = create_trace_config(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )

    async with (
        aiohttp.ClientSession(trace_configs=[trace_config]) as session,
        core_for(fake, hooks=telemetry.hooks(attempt_spans=False), session=session) as core,
    ):
        result = await get_big_segment_store_integration(core, get_request(integration_id))

    assert isinstance(result, Ok)
    [call] = telemetry.calls()
    assert telemetry.children(call) == []
    assert len(telemetry.children(call, scope=AIOHTTP_SCOPE)) == 1
    assert telemetry.points("http.client.request.duration") == []
