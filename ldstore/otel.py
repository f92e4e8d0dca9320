"""OpenTelemetry traces and metrics for every call a Core makes (the ``otel`` extra).

>>> from ldstore import Core
>>> from ldstore.otel import hooks
>>> core = Core(hooks=hooks())  # the global tracer and meter providers

Per call: one ``INTERNAL`` span named after the operationId (``getBigSegmentStoreIntegration``)
with ``launchdarkly.project.key``, ``launchdarkly.environment.key``,
``ldstore.integration.kind``, ``ldstore.attempts`` and, for an ``Err``, ``error.type`` (the
error's class) and an error status; under it one ``CLIENT`` span per HTTP attempt, after the
stable HTTP semantic conventions (``http.request.method``, ``url.full``, ``server.address``,
``server.port``, ``http.response.status_code``, ``http.request.resend_count`` on a resend,
``error.type``). Each wait is an ``ldstore.wait`` event on the call's span, with its
``ldstore.wait.seconds``, ``ldstore.wait.reason`` and the ``ldstore.attempt`` it delayed.

Metrics: ``http.client.request.duration`` (s), ``ldstore.client.rate_limited`` (429 answers),
``ldstore.client.retries`` and ``ldstore.client.wait.duration`` (s, by reason).

No attribute, event or metric carries a token, a header or any text the server wrote:
only keys, the URL (which never holds credentials), status codes and error class names.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TypeVar, cast
from urllib.parse import SplitResult, unquote, urlsplit

import aiohttp
import attrs
from multidict import CIMultiDict

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, trace
except ImportError as error:  # pragma: no cover - the extra is in the test environment
    msg = "ldstore.otel needs OpenTelemetry: pip install 'ldstore[otel]'"
    raise ImportError(msg) from error

from ldstore.core import CallWrapper, HookContext, HookRequest, Hooks, LimiterWait
from ldstore.errors import APIError, InputValidationError, RateLimitedError
from ldstore.result import Err

__all__ = ["WAIT_EVENT", "aiohttp_instrumented", "combine", "configure_from_env", "hooks"]

T = TypeVar("T")
V = TypeVar("V")

WAIT_EVENT = "ldstore.wait"
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
# The stable HTTP semantic conventions' advice for http.client.request.duration.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
# Where each path key is named, after the resource's own prefix (None: a literal segment).
_ROUTES: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    (
        "/api/v2/integration-capabilities/big-segment-store/",
        ("launchdarkly.project.key", "launchdarkly.environment.key", "ldstore.integration.kind"),
    ),
    # Not the context key of a membership read: it names a person.
    (
        "/api/v2/segments/",
        ("launchdarkly.project.key", "launchdarkly.environment.key", "launchdarkly.segment.key"),
    ),
    ("/api/v2/projects/", ("launchdarkly.project.key", None, "launchdarkly.environment.key")),
)


def hooks(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    *,
    attempt_spans: bool | None = None,
) -> Hooks:
    """``Hooks`` that trace and measure every call of the Core they are given to.

    The global providers serve when none are given. ``attempt_spans``: whether ldstore
    makes a ``CLIENT`` span per attempt and records ``http.client.request.duration``;
    ``None`` (the default) does unless ``opentelemetry-instrumentation-aiohttp-client`` has
    instrumented aiohttp, whose own span per request (then a child of the call's span) and
    duration metric would count each attempt twice. Pass ``False`` for a session given its
    ``create_trace_config()`` by hand. To add your own hooks, ``combine(hooks(), mine)``.
    """
    return _Telemetry(tracer_provider, meter_provider, attempt_spans=attempt_spans).hooks()


def configure_from_env(environ: Mapping[str, str] | None = None) -> Hooks | None:
    """``hooks()`` exporting through OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or its
    ``_TRACES_``/``_METRICS_`` variant) is set; ``None`` when it is not, or when
    ``OTEL_SDK_DISABLED=true``. For commands that run as services (the ``otel-export`` extra).

    Uses the global SDK providers when the application has set them; otherwise sets them
    up, as the standard ``OTEL_*`` variables say (endpoint, headers, timeouts, compression,
    ``OTEL_SERVICE_NAME`` -- ``ldstore`` by default -- and ``OTEL_RESOURCE_ATTRIBUTES``;
    ``OTEL_TRACES_EXPORTER``/``OTEL_METRICS_EXPORTER=none`` leaves a signal out), and makes
    them the global ones. They export in batches and flush when the process exits.
    """
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    traces = _exporting(environ, "TRACES")
    measures = _exporting(environ, "METRICS")
    if not (traces or measures):
        return None
    # Imported here: the SDK is the otel-export extra, not otel's.
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415

    if traces and not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(_sdk_tracer_provider(environ))
    if measures and not isinstance(metrics.get_meter_provider(), MeterProvider):
        metrics.set_meter_provider(_sdk_meter_provider(environ))
    return hooks()


def _exporting(environ: Mapping[str, str], signal: str) -> bool:
    if environ.get(f"OTEL_{signal}_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    )


def _service(environ: Mapping[str, str]) -> dict[str, str]:
    """The resource attributes ldstore adds: its name, unless the environment names one."""
    named = environ.get("OTEL_SERVICE_NAME") or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    return {} if named else {"service.name": "ldstore"}


def _sdk_tracer_provider(environ: Mapping[str, str]) -> trace.TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    provider = TracerProvider(resource=Resource.create(_service(environ)))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _sdk_meter_provider(environ: Mapping[str, str]) -> metrics.MeterProvider:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415
        OTLPMetricExporter,
    )
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: PLC0415
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415

    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    return MeterProvider(metric_readers=[reader], resource=Resource.create(_service(environ)))


def aiohttp_instrumented() -> bool:
    """Whether ``opentelemetry-instrumentation-aiohttp-client`` instruments new sessions."""
    module = sys.modules.get("opentelemetry.instrumentation.aiohttp_client")
    instrumentor = getattr(module, "AioHttpClientInstrumentor", None)
    # A singleton: constructing it returns the instance that instrument() switched on.
    return instrumentor is not None and bool(instrumentor().is_instrumented_by_opentelemetry)


def combine(*all_hooks: Hooks) -> Hooks:
    """One ``Hooks`` that runs each given one's callables in order.

    Headers from several ``before_request`` hooks are merged, a later one winning;
    the first ``around_call`` is the outermost.
    """
    before = [h.before_request for h in all_hooks if h.before_request is not None]
    success = [h.after_success for h in all_hooks if h.after_success is not None]
    failure = [h.after_error for h in all_hooks if h.after_error is not None]
    around = [h.around_call for h in all_hooks if h.around_call is not None]
    waits = [h.on_limiter_wait for h in all_hooks if h.on_limiter_wait is not None]
    return Hooks(
        before_request=_merged_headers(before) if before else None,
        after_success=_in_turn(success) if success else None,
        after_error=_in_turn(failure) if failure else None,
        around_call=_nested(around) if around else None,
        on_limiter_wait=_in_turn(waits) if waits else None,
    )


def _merged_headers(
    callables: list[Callable[[HookContext, HookRequest], object]],
) -> Callable[[HookContext, HookRequest], Awaitable[object]]:
    async def before_request(context: HookContext, request: HookRequest) -> object:
        merged: CIMultiDict[str] | None = None
        for hook in callables:
            extra = await _awaited(hook(context, request))
            if not extra:
                continue
            if not isinstance(extra, Mapping):
                return extra  # the transport refuses it, with its message
            merged = merged if merged is not None else CIMultiDict()
            merged.update(cast("Mapping[str, str]", extra))
        return merged

    return before_request


def _in_turn(
    callables: Sequence[Callable[[HookContext, V], object]],
) -> Callable[[HookContext, V], Awaitable[None]]:
    async def each(context: HookContext, value: V) -> None:
        for hook in callables:
            _ = await _awaited(hook(context, value))

    return each


def _nested(wrappers: list[CallWrapper]) -> CallWrapper:
    def around_call(
        operation_id: str, request: HookRequest, answer: Awaitable[T], /
    ) -> Awaitable[T]:
        for wrapper in reversed(wrappers):
            answer = wrapper(operation_id, request, answer)
        return answer

    return around_call


async def _awaited(value: object) -> object:
    if isinstance(value, Awaitable):
        return await cast("Awaitable[object]", value)
    return value


@attrs.define
class _Call:
    """One call's telemetry, shared by its hooks through ``_CALL``."""

    owner: _Telemetry
    operation_id: str
    span: trace.Span
    http: bool  # whether ldstore makes the attempt spans and the duration metric
    request_attributes: dict[str, str | int]  # url.full and the server's, for attempt spans
    metric_attributes: dict[str, str | int]  # the duration metric's, before the outcome
    attempts: int = 0
    attempt: trace.Span | None = None  # the attempt in progress
    sent_at: float = 0.0  # monotonic: when the attempt left the limiter
    held: bool = False  # the limiter refused the attempt: nothing was sent
    ended_at: float | None = None  # monotonic: when the last attempt ended
    failure: str | None = None  # the last attempt's error.type
    rate_limited: bool = False  # the last attempt was answered 429


_CALL: ContextVar[_Call | None] = ContextVar("ldstore_otel_call", default=None)


class _Telemetry:
    """The instruments one ``hooks()`` call made, and the hooks that feed them."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
        *,
        attempt_spans: bool | None,
    ) -> None:
        version = _version()
        self.attempt_spans = attempt_spans
        self.tracer = trace.get_tracer("ldstore", version, tracer_provider, schema_url=_SCHEMA_URL)
        meter = metrics.get_meter("ldstore", version, meter_provider, schema_url=_SCHEMA_URL)
        self.duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.rate_limited = meter.create_counter(
            "ldstore.client.rate_limited",
            unit="{response}",
            description="429 answers received from LaunchDarkly.",
        )
        self.retries = meter.create_counter(
            "ldstore.client.retries",
            unit="{retry}",
            description="Attempts sent again after a retryable failure.",
        )
        self.waits = meter.create_histogram(
            "ldstore.client.wait.duration",
            unit="s",
            description="Time calls waited: held by the Core's limiter (limiter.*) or"
            " before a retry (retry.*).",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )

    def hooks(self) -> Hooks:
        return Hooks(
            before_request=self.before_request,
            after_success=self.after_success,
            after_error=self.after_error,
            around_call=self.around_call,
            on_limiter_wait=self.on_limiter_wait,
        )

    def around_call(
        self, operation_id: str, request: HookRequest, answer: Awaitable[T], /
    ) -> Awaitable[T]:
        return self._traced(operation_id, request, answer)

    async def _traced(self, operation_id: str, request: HookRequest, answer: Awaitable[T]) -> T:
        url = urlsplit(request.url)
        span = self.tracer.start_span(
            operation_id, kind=trace.SpanKind.INTERNAL, attributes=_keys(url.path)
        )
        server = _server_attributes(url)
        call = _Call(
            owner=self,
            operation_id=operation_id,
            span=span,
            http=self.attempt_spans
            if self.attempt_spans is not None
            else not aiohttp_instrumented(),
            request_attributes={"url.full": _without_credentials(request.url), **server},
            metric_attributes={"http.request.method": request.method, **server},
        )
        # The call's span is current while it runs: an aiohttp instrumentation's spans,
        # and whatever the caller's hooks start, are its children.
        attached = otel_context.attach(trace.set_span_in_context(span))
        current = _CALL.set(call)
        try:
            result = await answer
        except BaseException as error:  # a hook's exception, or cancellation: re-raised
            kind = type(error).__qualname__
            if call.attempt is not None:
                self._end_attempt(call, None, kind, sent=True)
            _failed(span, kind)
            raise
        else:
            failure = _error_of(result)
            if failure is not None:
                _failed(span, type(failure).__name__)
            return result
        finally:
            _CALL.reset(current)
            otel_context.detach(attached)
            span.set_attribute("ldstore.attempts", call.attempts)
            span.end()

    def _mine(self, context: HookContext) -> _Call | None:
        call = _CALL.get()
        if call is None or call.owner is not self or call.operation_id != context.operation_id:
            return None  # these hooks without their around_call, or another Core's call
        return call

    def before_request(self, context: HookContext, request: HookRequest) -> None:
        call = self._mine(context)
        if call is None:
            return
        now = time.monotonic()
        call.attempts = context.attempt
        if context.attempt > 1 and call.ended_at is not None:
            reason = "retry.rate_limited" if call.rate_limited else "retry.backoff"
            self._waited(call, context.attempt, now - call.ended_at, reason)
            self.retries.add(
                1, {"ldstore.operation": call.operation_id, "error.type": call.failure or "_OTHER"}
            )
        call.sent_at, call.held = now, False
        if call.http:
            attributes: dict[str, str | int] = {
                "http.request.method": request.method,
                **call.request_attributes,
            }
            if context.attempt > 1:
                attributes["http.request.resend_count"] = context.attempt - 1
            call.attempt = self.tracer.start_span(
                request.method,
                context=trace.set_span_in_context(call.span),
                kind=trace.SpanKind.CLIENT,
                attributes=attributes,
            )

    def on_limiter_wait(self, context: HookContext, wait: LimiterWait) -> None:
        call = self._mine(context)
        if call is None:
            return
        self._waited(call, context.attempt, wait.seconds, f"limiter.{wait.reason}")
        call.sent_at, call.held = time.monotonic(), not wait.admitted

    def after_success(self, context: HookContext, response: aiohttp.ClientResponse) -> None:
        call = self._mine(context)
        if call is not None:
            call.rate_limited = False
            self._end_attempt(call, response.status, None, sent=True)

    def after_error(self, context: HookContext, error: Exception) -> None:
        call = self._mine(context)
        if call is None:
            return
        # Nothing was sent when the limiter refused the attempt or the token was unusable.
        sent = not call.held and not isinstance(error, InputValidationError)
        status = error.status_code if sent and isinstance(error, APIError) else None
        kind = str(status) if status is not None else type(error).__name__
        call.rate_limited = isinstance(error, RateLimitedError)
        if status == 429:  # noqa: PLR2004 (HTTP 429 Too Many Requests)
            self.rate_limited.add(
                1,
                {
                    "ldstore.operation": call.operation_id,
                    "server.address": str(call.metric_attributes.get("server.address", "")),
                },
            )
        self._end_attempt(call, status, kind, sent=sent)

    def _end_attempt(
        self, call: _Call, status: int | None, error_type: str | None, *, sent: bool
    ) -> None:
        now = time.monotonic()
        call.ended_at, call.failure = now, error_type
        attributes: dict[str, str | int] = {}
        if status is not None:
            attributes["http.response.status_code"] = status
        if error_type is not None:
            attributes["error.type"] = error_type
        if call.http and sent:
            self.duration.record(now - call.sent_at, {**call.metric_attributes, **attributes})
        span, call.attempt = call.attempt, None
        if span is not None:
            span.set_attributes(attributes)
            if error_type is not None:
                span.set_status(trace.Status(trace.StatusCode.ERROR))
            span.end()

    def _waited(self, call: _Call, attempt: int, seconds: float, reason: str) -> None:
        seconds = max(seconds, 0.0)
        call.span.add_event(
            WAIT_EVENT,
            {
                "ldstore.wait.reason": reason,
                "ldstore.wait.seconds": seconds,
                "ldstore.attempt": attempt,
            },
            timestamp=time.time_ns() - int(seconds * 1e9),  # when the wait began
        )
        self.waits.record(
            seconds, {"ldstore.operation": call.operation_id, "ldstore.wait.reason": reason}
        )


def _failed(span: trace.Span, error_type: str) -> None:
    # A class name, never the error's message: a server's text may quote what it was sent.
    span.set_attribute("error.type", error_type)
    span.set_status(trace.Status(trace.StatusCode.ERROR, error_type))


def _error_of(result: object) -> object | None:
    if isinstance(result, Err):
        return cast("Err[object]", result).error
    return None


def _keys(path: str) -> dict[str, str]:
    """The call's LaunchDarkly keys, named, from its (percent-encoded) path."""
    for prefix, names in _ROUTES:
        start = path.find(prefix)
        if start < 0:
            continue
        segments = path[start + len(prefix) :].split("/")
        return {
            name: unquote(segment)
            for name, segment in zip(names, segments, strict=False)
            if name is not None
        }
    return {}


def _server_attributes(url: SplitResult) -> dict[str, str | int]:
    # Every base URL is http(s) with a host (checked when the Core is built).
    return {
        "url.scheme": url.scheme,
        "server.address": url.hostname or "",
        "server.port": url.port or (443 if url.scheme == "https" else 80),
    }


def _without_credentials(url: str) -> str:
    # ldstore refuses a base URL with credentials; should one arrive, semconv drops them.
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("ldstore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"
