"""Watch every big segment store: LaunchDarkly's status and the stores themselves.

The poll is a function returning a Result, so a service can embed the watcher without
the HTTP server::

    stores = load_stores("stores.toml").unwrap()
    cache = PollCache()  # client-side IDs (the default prefixes), kept between polls
    match await poll(core, stores, cache=cache):
        case Ok(snapshot):
            for state in snapshot.integrations:
                if state.store is not None and not state.store.healthy:
                    print(state.integration.name, "has an unhealthy store")
        case Err(error):  # the list call failed: RateLimitedError, a NetworkError...
            print(error)

``Watcher`` polls on an interval and keeps the last findings; ``serving`` (extra
``watch``: prometheus-client) serves them as ``/metrics``, ``/healthz`` and ``/readyz``.
Store reads need the ``redis`` or ``dynamodb`` extra, as the doctor does.
"""

from __future__ import annotations

import importlib
from importlib import resources
from typing import TYPE_CHECKING

from ldstore.watch._poll import (
    CLIENT_SIDE_ID_TTL,
    Filters,
    IntegrationState,
    PollCache,
    PollOptions,
    Snapshot,
    StoreState,
    poll,
)
from ldstore.watch._stores import DynamoDBStore, RedisStore, Store, StoresFile, load_stores
from ldstore.watch._watcher import DEFAULT_INTERVAL, RequestCounter, Watcher

if TYPE_CHECKING:
    from ldstore.watch._metrics import render
    from ldstore.watch._serve import make_app, serving

__all__ = [
    "CLIENT_SIDE_ID_TTL",
    "DEFAULT_INTERVAL",
    "DynamoDBStore",
    "Filters",
    "IntegrationState",
    "PollCache",
    "PollOptions",
    "RedisStore",
    "RequestCounter",
    "Snapshot",
    "Store",
    "StoreState",
    "StoresFile",
    "Watcher",
    "alert_rules",
    "load_stores",
    "make_app",
    "poll",
    "render",
    "serving",
]

# These need the `watch` extra (prometheus-client) and aiohttp's server: loaded on first use.
_LAZY = {"render": "_metrics", "make_app": "_serve", "serving": "_serve"}


def alert_rules() -> str:
    """The Prometheus alerting rules (YAML) shipped with ldstore, for these metrics."""
    return resources.files("ldstore.watch").joinpath("alerts.yml").read_text(encoding="utf-8")


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        message = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(message)
    return getattr(importlib.import_module(f"ldstore.watch.{module}"), name)
