"""The OpenTelemetry SDK wired to in-memory exporters, and readers of what they hold."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import contextmanager
from typing import TypeAlias

import attrs
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ExponentialHistogramDataPoint,
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ldstore.core import Hooks
from ldstore.otel import hooks

DataPoint: TypeAlias = NumberDataPoint | HistogramDataPoint | ExponentialHistogramDataPoint


@attrs.define
class Telemetry:
    """Where a test's spans and metrics land, and the hooks that send them there."""

    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def hooks(self, *, attempt_spans: bool | None = None) -> Hooks:
        return hooks(self.tracer_provider, self.meter_provider, attempt_spans=attempt_spans)

    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.spans.get_finished_spans()

    def calls(self) -> list[ReadableSpan]:
        """The call spans ldstore made, in the order they ended."""
        return [
            span
            for span in self.finished()
            if span.kind is SpanKind.INTERNAL and _scope(span) == "ldstore"
        ]

    def children(self, parent: ReadableSpan, scope: str = "ldstore") -> list[ReadableSpan]:
        """``parent``'s CLIENT children from ``scope``, in the order they started."""
        context = parent.get_span_context()
        assert context is not None
        found = [
            span
            for span in self.finished()
            if span.kind is SpanKind.CLIENT
            and _scope(span) == scope
            and span.parent is not None
            and span.parent.span_id == context.span_id
        ]
        return sorted(found, key=lambda span: span.start_time or 0)

    def points(self, name: str, scope: str = "ldstore") -> list[DataPoint]:
        """Every data point of the metric ``name`` that ``scope`` recorded."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scoped in resource.scope_metrics
            if scoped.scope.name == scope
            for metric in scoped.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def everything(self) -> str:
        """Every span and metric as the SDK serializes them, for a search through it all."""
        data = self.reader.get_metrics_data()
        texts: Sequence[str] = [span.to_json() for span in self.finished()]
        return "\n".join([*texts, data.to_json() if data is not None else ""])


def _scope(span: ReadableSpan) -> str | None:
    scope = span.instrumentation_scope
    return scope.name if scope is not None else None


@contextmanager
def recording() -> Generator[Telemetry]:
    """Providers of their own (never the global ones), exporting to memory."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    try:
        yield Telemetry(exporter, reader, tracer_provider, meter_provider)
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


def total(points: Sequence[DataPoint]) -> float:
    """The sum of counter points, or the count of histogram points."""
    return sum(
        point.value if isinstance(point, NumberDataPoint) else point.count for point in points
    )
