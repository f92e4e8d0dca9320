"""ldstore.otel's spans, events and metrics, read back from the SDK's in-memory exporters
after real calls over loopback (the fake, or small servers that misbehave on purpose)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from aiohttp import web
from conftest import ServeFake
from hostile import SLACK, answer, closed_port, core_at, get_request, integration, script, serve
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from otel_support import Telemetry, recording, total
from sdk import FAST_RETRIES, core_for, seed
from sdk import get_request as fake_get_request

from ldstore import Core, Err, Hooks, Ok, RequestOptions, RetryConfig
from ldstore.errors import ConnectionFailedError, NotFoundError, RateLimitedError
from ldstore.funcs import get_big_segment_store_integration, get_big_segment_store_integrations
from ldstore.otel import WAIT_EVENT, combine
from ldstore.testing import FakeLaunchDarkly, RateLimited

GET = "getBigSegmentStoreIntegration"


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    with recording() as telemetry:
        yield telemetry


def waits(span: ReadableSpan) -> list[dict[str, object]]:
    """The ``ldstore.wait`` events of a span, as plain attribute dicts."""
    return [dict(event.attributes or {}) for event in span.events if event.name == WAIT_EVENT]


async def test_two_429s_then_a_200_are_one_call_with_three_attempts(
    serve_fake: ServeFake, telemetry: Telemetry
) -> None:
    """Against the fake, 429, 429, 200: one call span with three CLIENT children, whose
    resend count is absent, 1, 2; both waits the 429s asked for are events on the call."""
    fake = await serve_fake(FakeLaunchDarkly())
    integration_id = seed(fake)
    fake.schedule(RateLimited(retry_after=0.05), times=2, operation=GET)

    async with core_for(fake, hooks=telemetry.hooks(), retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integration(core, fake_get_request(integration_id))

    assert isinstance(result, Ok)
    [call] = telemetry.calls()
    assert call.name == GET
    assert call.kind is SpanKind.INTERNAL
    assert call.status.status_code is StatusCode.UNSET
    assert dict(call.attributes or {}) == {
        "launchdarkly.project.key": "default",
        "launchdarkly.environment.key": "production",
        "ldstore.integration.kind": "redis",
        "ldstore.attempts": 3,
    }
    attempts = telemetry.children(call)
    assert [span.name for span in attempts] == ["GET", "GET", "GET"]
    assert [(span.attributes or {}).get("http.request.resend_count") for span in attempts] == [
        None,
        1,
        2,
    ]
    assert [(span.attributes or {})["http.response.status_code"] for span in attempts] == [
        429,
        429,
        200,
    ]
    assert [(span.attributes or {}).get("error.type") for span in attempts] == ["429", "429", None]
    assert [span.status.status_code for span in attempts] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    first = dict(attempts[0].attributes or {})
    assert (
        first["url.full"]
        == f"{fake.url}/api/v2/integration-capabilities/big-segment-store/default/production/redis/{integration_id}"
    )
    assert first["server.address"] == "127.0.0.1"
    assert first["http.request.method"] == "GET"
    retry_waits = waits(call)
    assert [w["ldstore.wait.reason"] for w in retry_waits] == ["retry.rate_limited"] * 2
    assert [w["ldstore.attempt"] for w in retry_waits] == [2, 3]
    assert all(0.05 <= float(str(w["ldstore.wait.seconds"])) < 0.05 + SLACK for w in retry_waits)
    assert total(telemetry.points("http.client.request.duration")) == 3
    assert total(telemetry.points("ldstore.client.rate_limited")) == 2
    assert total(telemetry.points("ldstore.client.retries")) == 2
    assert total(telemetry.points("ldstore.client.wait.duration")) == 2


async def test_a_404_is_an_error_status_with_its_type(
    serve_fake: ServeFake, telemetry: Telemetry
) -> None:
    """An unknown ID: the call span is an error of type NotFoundError; its one attempt an
    error of type "404" with the status code, in the span and in the duration metric."""
    fake = await serve_fake(FakeLaunchDarkly())

    async with core_for(fake, hooks=telemetry.hooks()) as core:
        result = await get_big_segment_store_integration(core, fake_get_request("no-such-id"))

    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    [call] = telemetry.calls()
    assert call.status.status_code is StatusCode.ERROR
    assert (call.attributes or {})["error.type"] == "NotFoundError"
    [attempt] = telemetry.children(call)
    assert attempt.status.status_code is StatusCode.ERROR
    assert (attempt.attributes or {})["error.type"] == "404"
    assert (attempt.attributes or {})["http.response.status_code"] == 404
    [point] = telemetry.points("http.client.request.duration")
    assert dict(point.attributes or {}) == {
        "http.request.method": "GET",
        "http.response.status_code": 404,
        "error.type": "404",
        "server.address": "127.0.0.1",
        "server.port": int(fake.url.rsplit(":", 1)[1]),
        "url.scheme": "http",
    }


async def test_a_refused_connection_is_an_attempt_without_a_status(telemetry: Telemetry) -> None:
    """Nothing listens: the attempt's error.type is the error class and it has no status code."""
    async with core_at(f"http://127.0.0.1:{closed_port()}", hooks=telemetry.hooks()) as core:
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionFailedError)
    [call] = telemetry.calls()
    assert (call.attributes or {})["error.type"] == "ConnectionFailedError"
    [attempt] = telemetry.children(call)
    assert (attempt.attributes or {})["error.type"] == "ConnectionFailedError"
    assert "http.response.status_code" not in (attempt.attributes or {})


def _spent_window(seconds: float) -> web.Response:
    """A 200 saying the route's budget is spent until ``seconds`` from now."""
    reset = str(round((time.time() + seconds) * 1000))
    headers = {
        "X-Ratelimit-Route-Remaining": "0",
        "X-Ratelimit-Global-Remaining": "100",
        "X-Ratelimit-Reset": reset,
    }
    return web.json_response(integration(), headers=headers)


async def test_a_limiter_hold_is_a_wait_event_with_its_reason(telemetry: Telemetry) -> None:
    """A 200 says the window is spent for 0.3 s: the next call waits in the limiter, and its
    span has a limiter.window_spent wait of about that long; the first has none."""

    async def spent(_: web.Request) -> web.Response:
        return _spent_window(0.3)

    async with serve(spent) as server, core_at(server.url, hooks=telemetry.hooks()) as core:
        first = await get_big_segment_store_integration(core, get_request())
        second = await get_big_segment_store_integration(core, get_request())

    assert isinstance(first, Ok)
    assert isinstance(second, Ok)
    first_call, second_call = telemetry.calls()
    assert waits(first_call) == []
    [held] = waits(second_call)
    assert held["ldstore.wait.reason"] == "limiter.window_spent"
    assert held["ldstore.attempt"] == 1
    assert 0.15 <= float(str(held["ldstore.wait.seconds"])) < 0.3 + SLACK
    [point] = telemetry.points("ldstore.client.wait.duration")
    assert dict(point.attributes or {})["ldstore.wait.reason"] == "limiter.window_spent"
    assert len(server.hits) == 2


async def test_a_hold_beyond_the_budget_sends_nothing_and_counts_no_request(
    telemetry: Telemetry,
) -> None:
    """The window resets in 5 s, the call has 0.2 s: it is refused at once, nothing reaches
    the server, and no request duration or 429 is counted for it."""

    async def spent(_: web.Request) -> web.Response:
        return _spent_window(5)

    async with serve(spent) as server, core_at(server.url, hooks=telemetry.hooks()) as core:
        _ = await get_big_segment_store_integration(core, get_request())
        started = time.monotonic()
        refused = await get_big_segment_store_integration(core, get_request(), _budget(0.2))
        elapsed = time.monotonic() - started

    assert isinstance(refused, Err)
    assert isinstance(refused.error, RateLimitedError)
    assert elapsed < 0.2 + SLACK
    assert len(server.hits) == 1
    _, refused_call = telemetry.calls()
    [held] = waits(refused_call)
    assert held["ldstore.wait.reason"] == "limiter.window_spent"
    [attempt] = telemetry.children(refused_call)
    assert (attempt.attributes or {})["error.type"] == "RateLimitedError"
    assert "http.response.status_code" not in (attempt.attributes or {})
    assert total(telemetry.points("http.client.request.duration")) == 1  # the first call's
    assert total(telemetry.points("ldstore.client.rate_limited")) == 0


def _budget(seconds: float) -> RequestOptions:
    return RequestOptions(
        retry_config=RetryConfig(max_attempts=1, max_elapsed_time=seconds), timeout=seconds
    )


async def test_a_call_queued_behind_max_in_flight_says_so(telemetry: Telemetry) -> None:
    """max_in_flight=1 and two calls at once on a slow server: the second waits, with the
    reason limiter.max_in_flight, for about the first one's 0.2 s."""

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.json_response(integration())

    async with (
        serve(slow) as server,
        core_at(server.url, hooks=telemetry.hooks(), max_in_flight=1) as core,
    ):
        results = await asyncio.gather(
            get_big_segment_store_integration(core, get_request()),
            get_big_segment_store_integration(core, get_request()),
        )

    assert all(isinstance(result, Ok) for result in results)
    held = [w for call in telemetry.calls() for w in waits(call)]
    assert [w["ldstore.wait.reason"] for w in held] == ["limiter.max_in_flight"]
    assert 0.1 <= float(str(held[0]["ldstore.wait.seconds"])) < 0.2 + SLACK


async def test_the_call_span_is_a_child_of_the_callers_span(telemetry: Telemetry) -> None:
    """A call made inside the application's own span is traced under it."""
    tracer = telemetry.tracer_provider.get_tracer("the-app")
    handler = answer(
        200, {"items": [], "_links": {"self": {"href": "/", "type": "application/json"}}}
    )

    async with serve(handler) as server, core_at(server.url, hooks=telemetry.hooks()) as core:
        with tracer.start_as_current_span("request") as outer:
            result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    [call] = telemetry.calls()
    assert call.name == "getBigSegmentStoreIntegrations"
    assert call.parent is not None
    assert call.parent.span_id == outer.get_span_context().span_id
    assert "launchdarkly.project.key" not in (call.attributes or {})


async def test_a_hooks_exception_ends_the_spans_and_leaves_no_context(
    telemetry: Telemetry,
) -> None:
    """A caller's hook that raises: the exception propagates, the call span ends as an
    error of that type, and the caller's context is what it was before the call."""

    def broken(*_: object) -> None:
        raise RuntimeError

    hooks = combine(telemetry.hooks(), Hooks(after_success=broken))
    handler = script(answer(200, integration()))

    async with serve(handler) as server, core_at(server.url, hooks=hooks) as core:
        before = trace.get_current_span()
        with pytest.raises(RuntimeError):
            _ = await get_big_segment_store_integration(core, get_request())
        after = trace.get_current_span()

    assert after is before
    [call] = telemetry.calls()
    assert (call.attributes or {})["error.type"] == "RuntimeError"
    assert call.status.status_code is StatusCode.ERROR
    assert len(telemetry.children(call)) == 1


async def test_a_token_provider_that_raises_ends_its_attempt_span(telemetry: Telemetry) -> None:
    """The provider's exception propagates (nothing is sent); the open attempt span and the
    call span end as errors of its type."""

    async def provider() -> str:
        raise LookupError

    async with serve(answer(200, integration())) as server:
        core = Core(provider, server_url=server.url, hooks=telemetry.hooks())
        async with core:
            with pytest.raises(LookupError):
                _ = await get_big_segment_store_integration(core, get_request())

    assert server.hits == []
    [call] = telemetry.calls()
    assert (call.attributes or {})["error.type"] == "LookupError"
    [attempt] = telemetry.children(call)
    assert (attempt.attributes or {})["error.type"] == "LookupError"
    assert attempt.status.status_code is StatusCode.ERROR
