"""The metrics page as a parser reads it back: any server text in a label survives exactly."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_string_to_metric_families

from ldstore import Core
from ldstore.models import BigSegmentStoreIntegration
from ldstore.watch import IntegrationState, Snapshot, Watcher, render
from ldstore.wire import from_wire

TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)


def integration(index: int, project: str, name: str, tags: list[str]) -> BigSegmentStoreIntegration:
    wire: dict[str, Any] = {
        "_links": {
            link: {"href": "/x", "type": "application/json"}
            for link in ("self", "parent", "project", "environment")
        },
        "_id": f"id-{index}",
        "integrationKey": "redis",
        "projectKey": project,
        "environmentKey": "production",
        "on": index % 2 == 0,
        "tags": tags,
        "name": name,
        "version": 1,
        "_status": {"available": True, "lastSync": 1_700_000_000_000},
    }
    return from_wire(wire, BigSegmentStoreIntegration)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=5))
def test_any_name_or_key_reads_back_exactly_in_both_formats(fields: list[tuple[str, str]]) -> None:
    """Quotes, backslashes, newlines, any Unicode: each label value parses back as written."""
    watcher = Watcher(Core("api-property", server_url="http://127.0.0.1:9"))
    states = tuple(
        IntegrationState(integration=integration(index, project, name, []))
        for index, (project, name) in enumerate(fields)
    )
    watcher.snapshot = Snapshot(
        integrations=states, taken_at=datetime.now(timezone.utc), duration_seconds=0.1
    )
    watcher.version += 1

    text, _ = render(watcher)
    openmetrics, _ = render(watcher, "application/openmetrics-text; version=1.0.0")

    parsed: list[Iterable[Metric]] = [
        text_string_to_metric_families(text.decode()),
        cast(
            "Iterable[Metric]",
            openmetrics_parser.text_string_to_metric_families(openmetrics.decode()),  # type: ignore[no-untyped-call]  # pyright: ignore[reportUnknownMemberType]  # the OpenMetrics parser is unannotated
        ),
    ]
    for families in parsed:
        info = [
            (sample.labels["project"], sample.labels["name"])
            for family in families
            for sample in family.samples
            if sample.name == "ldstore_integration_info"
        ]
        assert info == fields
