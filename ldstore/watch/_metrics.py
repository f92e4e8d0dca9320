"""The metrics page: a prometheus-client collector over the watcher's state (extra ``watch``).

Conventions (``operations.md``): timestamps rather than ages, every state series of a
check emitted (exactly one is 1, so a transition never shows two states), and an info
series to join on. Nothing here reads a secret: labels are the API's keys, IDs and names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ldstore.doctor import CheckStatus
from ldstore.watch._poll import label_values, worst
from ldstore.watch._watcher import POLL_BUCKETS, Watcher

__all__ = ["WatchCollector", "render"]

_KEYS = ["project", "environment", "kind", "id"]
_STATES = (CheckStatus.OK, CheckStatus.WARNING, CheckStatus.FAILURE)


class WatchCollector(Collector):
    """Yields the watcher's metrics from its state at the time of the scrape."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def collect(self) -> Iterator[Metric]:
        yield from self._integrations()
        yield from self._watcher()

    def _integrations(self) -> Iterator[Metric]:
        def gauge(
            name: str, documentation: str, extra: list[str] | None = None
        ) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, documentation, labels=[*_KEYS, *(extra or [])])

        info = gauge(
            "ldstore_integration_info",
            "An integration the API lists (value 1), with its name: the series to join on",
            ["name"],
        )
        on = gauge(
            "ldstore_integration_on", "Whether the integration is switched on (1) or off (0)"
        )
        available = gauge(
            "ldstore_integration_available",
            "The API's _status.available (1: fully synchronized recently)",
        )
        stale = gauge("ldstore_integration_potentially_stale", "The API's _status.potentiallyStale")
        last_sync = gauge(
            "ldstore_integration_last_sync_timestamp_seconds",
            "The API's _status.lastSync, seconds since the epoch",
        )
        errors = gauge("ldstore_integration_status_errors", "Entries in the API's _status.errors")
        reachable = gauge(
            "ldstore_store_reachable", "Whether the mapped store answered the watcher's reads"
        )
        healthy = gauge(
            "ldstore_store_healthy", "Whether no doctor check of the mapped store failed"
        )
        synchronized = gauge(
            "ldstore_store_synchronized_timestamp_seconds",
            "The store's own synchronizedOn, seconds since the epoch (absent while it cannot be read)",
        )
        check = gauge(
            "ldstore_store_check",
            "One doctor check of the store in one state: exactly one of ok, warning, failure is 1",
            ["check", "state"],
        )
        snapshot = self.watcher.snapshot
        for state in () if snapshot is None else snapshot.integrations:
            integration = state.integration
            labels = list(label_values(integration))
            status = integration.status
            info.add_metric([*labels, integration.name], 1)
            on.add_metric(labels, _bit(integration.on))
            available.add_metric(labels, _bit(status.available))
            stale.add_metric(labels, _bit(status.potentially_stale))
            if status.last_sync is not None:
                last_sync.add_metric(labels, status.last_sync.timestamp())
            errors.add_metric(labels, len(status.errors or ()))
            store = state.store
            if store is None:
                continue
            reachable.add_metric(labels, _bit(store.reachable))
            healthy.add_metric(labels, _bit(store.healthy))
            if store.synchronized_on is not None:
                synchronized.add_metric(labels, store.synchronized_on.timestamp())
            for name, found in worst(store.checks).items():
                for level in _STATES:
                    check.add_metric([*labels, name, level.value], _bit(found is level))
        yield from (info, on, available, stale, last_sync, errors)
        yield from (reachable, healthy, synchronized, check)

    def _watcher(self) -> Iterator[Metric]:
        watcher = self.watcher
        if watcher.api_up is not None:
            yield GaugeMetricFamily(
                "ldstore_watch_api_up",
                "Whether the last poll's list call was answered (a 429 counts as answered)",
                value=_bit(watcher.api_up),
            )
        if watcher.last_success is not None:
            yield GaugeMetricFamily(
                "ldstore_watch_last_success_timestamp_seconds",
                "When the last successful poll ended, seconds since the epoch",
                value=watcher.last_success,
            )
        cumulative: list[tuple[str, float]] = []
        total = 0
        for bound, count in zip([*map(str, POLL_BUCKETS), "+Inf"], watcher.durations, strict=True):
            total += count
            cumulative.append((bound, float(total)))
        yield HistogramMetricFamily(
            "ldstore_watch_poll_duration_seconds",
            "How long each poll took (the list call and the store reads)",
            buckets=cumulative,
            sum_value=watcher.duration_sum,
        )
        requests = CounterMetricFamily(
            "ldstore_api_requests",
            "LaunchDarkly API requests the watcher made, by the status of the answer (network: none came)",
            labels=["status"],
        )
        for status, count in sorted(watcher.requests.counts.items()):
            requests.add_metric([status], count)
        yield requests
        polls = CounterMetricFamily(
            "ldstore_watch_polls",
            "Polls by outcome: ok, rate_limited (skipped) or error (last values kept)",
            labels=["outcome"],
        )
        for outcome, count in sorted(watcher.polls.items()):
            polls.add_metric([outcome], count)
        yield polls
        unmatched = 0 if watcher.snapshot is None else len(watcher.snapshot.unmatched)
        yield GaugeMetricFamily(
            "ldstore_watch_stores_unmatched",
            "Stores-file entries that name no integration the API lists",
            value=unmatched,
        )


def _bit(value: bool | None) -> int:  # noqa: FBT001 - a converter
    return 1 if value else 0


class Page:
    """The page for each content type, rendered once per watcher state (``version``).

    With ``prerender``, the page the last scrape asked for is rendered again as soon as
    a poll ends, so the next scrape is answered from the cache (a thousand integrations
    take prometheus-client a few hundred milliseconds to write out).
    """

    def __init__(self, watcher: Watcher, *, prerender: bool = False) -> None:
        self.watcher = watcher
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(WatchCollector(watcher))
        self._cache: dict[str, tuple[int, bytes]] = {}
        self._last_accept: str | None = None
        if prerender:
            watcher.after_poll.append(self._prerender)

    def _prerender(self) -> None:
        if self._last_accept is not None:
            _ = self.render(self._last_accept)

    def render(self, accept: str) -> tuple[bytes, str]:
        """The page's body and content type for an ``Accept`` header."""
        self._last_accept = accept
        encoder, content_type = choose_encoder(accept)
        cached = self._cache.get(content_type)
        if cached is not None and cached[0] == self.watcher.version:
            return cached[1], content_type
        body = _encode(encoder, self.registry)
        self._cache[content_type] = (self.watcher.version, body)
        return body, content_type


def _encode(encoder: Callable[[CollectorRegistry], bytes], registry: CollectorRegistry) -> bytes:
    return encoder(registry)


def render(watcher: Watcher, accept: str = "") -> tuple[bytes, str]:
    """The metrics page for ``watcher``'s state: body and content type for ``accept``."""
    return Page(watcher).render(accept)
