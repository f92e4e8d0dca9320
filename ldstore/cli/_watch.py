"""``ldstore watch``: every big segment store under continuous watch, as Prometheus metrics."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import signal
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ldstore.cli._core import make_core
from ldstore.cli._errors import (
    EXIT_NOT_READY,
    EXIT_OK,
    EXIT_USAGE,
    GaveUpError,
    UsageError,
    error_line,
    fail,
)
from ldstore.cli._options import (
    DEFAULT_RETRY_BUDGET,
    Subparsers,
    add_all_option,
    add_command,
    add_integration_options,
    add_tag_filter,
    positive_count,
    positive_seconds,
)
from ldstore.cli._output import say_which_defaults, write

if TYPE_CHECKING:
    from ldstore.core import Core
    from ldstore.watch import StoresFile, Watcher

__all__ = ["register"]

DEFAULT_LISTEN = "127.0.0.1:9464"
_EXTRAS = {"redis": ("redis", "redis"), "dynamodb": ("aiobotocore", "dynamodb")}
_WATCH_EXTRA = "ldstore watch serves metrics with the watch extra: pip install 'ldstore[watch]'"

_DESCRIPTION = """\
Watch every big segment store integration, and the stores themselves, as Prometheus
metrics. Every --interval one list call reads LaunchDarkly's status of the integrations
(filtered like `list`); each integration the --stores file maps is read with the
doctor's checks (read-only; at most --concurrency stores at once, each within
--store-timeout, so one hung store never delays the others).

Serves GET /metrics (Prometheus text, or OpenMetrics when asked), GET /healthz and
GET /readyz (503 until a poll has completed) on --listen. SIGTERM or Ctrl-C stops it.
--once polls once and prints the metrics (or, with --output json, the findings).
--alert-rules prints Prometheus alerting rules for these metrics.

The stores file (TOML) has one [[store]] table per store: project, environment, kind
(redis or dynamodb), name or id of the integration, then url (redis; a password only
through password_env, the name of an environment variable) or table, region and
endpoint_url (dynamodb), and prefix (default: the environment's client-side ID)."""

_EXAMPLES = """\
  ldstore watch --stores stores.toml                  # serve on 127.0.0.1:9464
  ldstore watch --stores stores.toml --listen 0.0.0.0:9464 --interval 60 --project default
  ldstore watch --stores stores.toml --once --output json
  ldstore watch --alert-rules > ldstore-alerts.yml

exit codes (--once):
  0  every watched store is healthy
  1  the API refused the list call (HTTP 4xx/5xx)
  2  usage: bad flags, a bad stores file, a missing extra
  3  the API could not be reached
  4  a watched store is unhealthy
(served: 0 after SIGTERM or Ctrl-C; 2 before serving for bad flags or stores file)"""


def register(subparsers: Subparsers) -> None:
    """Add ``watch``."""
    parser = add_command(
        subparsers,
        "watch",
        description=_DESCRIPTION,
        examples=_EXAMPLES,
        output=True,
    )
    add_integration_options(parser, with_id=False, required=False)
    add_all_option(parser)
    add_tag_filter(parser)
    group = parser.add_argument_group("watch")
    _ = group.add_argument(
        "--stores", metavar="FILE", help="the stores file (TOML) mapping integrations to stores"
    )
    _ = group.add_argument(
        "--interval",
        type=positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="seconds between polls (default: 30)",
    )
    _ = group.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"where to serve /metrics, /healthz and /readyz (default: {DEFAULT_LISTEN}; port 0 picks a free one)",
    )
    _ = group.add_argument(
        "--once",
        action="store_true",
        help="poll once, print the metrics (or --output json) and exit",
    )
    _ = group.add_argument(
        "--alert-rules",
        action="store_true",
        help="print the Prometheus alerting rules (YAML) and exit",
    )
    _ = group.add_argument(
        "--store-timeout",
        type=positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="give up reading one store after this long (default: 5)",
    )
    _ = group.add_argument(
        "--concurrency",
        type=positive_count,
        default=10,
        metavar="N",
        help="read at most N stores at once (default: 10)",
    )
    _ = group.add_argument(
        "--stale-after",
        type=positive_seconds,
        default=120.0,
        metavar="SECONDS",
        help="call a store stale after this long without a sync (default: 120, as SDKs)",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> Coroutine[Any, Any, int] | int:
    if args.alert_rules:
        from ldstore.watch import alert_rules  # noqa: PLC0415

        _ = sys.stdout.write(alert_rules())
        return EXIT_OK
    return _watch(args)


async def _watch(args: argparse.Namespace) -> int:
    host, port = _listen(args.listen)
    json_output = args.once and args.output == "json"
    if not json_output and importlib.util.find_spec("prometheus_client") is None:
        raise UsageError(_WATCH_EXTRA)
    stores = _stores(args)
    if isinstance(stores, int):
        return stores
    if not args.once and getattr(args, "retry_budget", None) is None:
        # A watcher outlives an unreachable API: no short first-contact budget that ends it.
        args.retry_budget = DEFAULT_RETRY_BUDGET
    say_which_defaults(args, how="watching only", hint="--all to watch every one")
    core = make_core(args, telemetry=True)  # OTLP export when OTEL_EXPORTER_OTLP_* says
    watcher = _watcher(args, core, stores)
    if args.once:
        return await _once(watcher, json_output=json_output)
    return await _serve(watcher, host, port)


def _listen(text: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isdigit() or int(port) > 65535:  # noqa: PLR2004
        msg = f"--listen must be HOST:PORT, such as {DEFAULT_LISTEN} or [::1]:9464, not {text!r}"
        raise UsageError(msg)
    return host, int(port)


def _stores(args: argparse.Namespace) -> StoresFile | int | None:
    """The stores file, checked (its extras installed, its password variables set), or an exit code."""
    if args.stores is None:
        return None
    from ldstore.result import Err  # noqa: PLC0415
    from ldstore.watch import load_stores  # noqa: PLC0415

    loaded = load_stores(args.stores)
    if isinstance(loaded, Err):
        error_line(loaded.error.message)
        return EXIT_USAGE
    checked = loaded.value.check_environment()
    if isinstance(checked, Err):
        error_line(checked.error.message)
        return EXIT_USAGE
    for kind in sorted({store.kind for store in loaded.value.stores}):
        module, extra = _EXTRAS[kind]
        if importlib.util.find_spec(module) is None:
            error_line(
                f"{args.stores}: reading {kind} stores needs the {extra} extra: pip install 'ldstore[{extra}]'"
            )
            return EXIT_USAGE
    return loaded.value


def _watcher(args: argparse.Namespace, core: Core, stores: StoresFile | None) -> Watcher:
    from ldstore.core import Hooks  # noqa: PLC0415
    from ldstore.watch import Filters, PollOptions, RequestCounter, Watcher  # noqa: PLC0415

    counter = RequestCounter()
    if core.hooks == Hooks():  # the CLI's own hooks (--once without --retry-budget) stay
        core.hooks = counter.hooks()
    return Watcher(
        core,
        () if stores is None else stores,
        filters=Filters(
            project=args.project,
            environment=args.environment,
            integration_key=args.integration,
            tags=args.tag,
        ),
        options=PollOptions(
            store_timeout=args.store_timeout,
            concurrency=args.concurrency,
            stale_after=args.stale_after,
        ),
        interval=args.interval,
        requests=counter,
        log_failures=not args.once,  # --once reports the error itself, once
    )


async def _once(watcher: Watcher, *, json_output: bool) -> int:
    from ldstore.result import Err  # noqa: PLC0415

    async with watcher.core:
        try:
            result = await watcher.poll()
        except GaveUpError as gave_up:  # the CLI's short budget for a server never reached
            watcher.api_up = False
            result = Err(gave_up.error)
    if json_output:
        if isinstance(result, Err):
            document: dict[str, object] = {
                "healthy": False,
                "api_up": bool(watcher.api_up),
                "integrations": [],
            }
        else:
            document = result.value.to_json(api_up=True)
        write(json.dumps(document, indent=2))
    else:
        from ldstore.watch import render  # noqa: PLC0415

        body, _ = render(watcher)
        _ = sys.stdout.write(body.decode())
    if isinstance(result, Err):
        return fail(result.error)
    return EXIT_OK if result.value.healthy else EXIT_NOT_READY


async def _cancel(task: asyncio.Task[None], within: float = 1.0) -> None:
    """Cancel ``task`` and wait up to ``within`` seconds for it to end, cancelling again as
    needed: on Python 3.11, asyncio.wait_for (inside redis-py, the doctor and ours) can
    swallow a cancellation that arrives as its inner call completes."""
    deadline = asyncio.get_running_loop().time() + within
    while not task.done():
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return  # asyncio.run cancels what is left, once more, as it ends
        _ = task.cancel()
        _ = await asyncio.wait({task}, timeout=min(left, 0.1))


async def _serve(watcher: Watcher, host: str, port: int) -> int:
    from ldstore.watch import serving  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with contextlib.AsyncExitStack() as stack:
            _ = await stack.enter_async_context(watcher.core)
            try:
                bound_host, bound_port = await stack.enter_async_context(
                    serving(watcher, host, port)
                )
            except OSError as error:  # the address is taken, or cannot be bound here
                error_line(f"cannot listen on {host}:{port}: {error.strerror or error}")
                return EXIT_USAGE
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            _ = sys.stderr.write(
                f"ldstore: watching; metrics at http://{shown}:{bound_port}/metrics\n"
            )
            _ = sys.stderr.flush()
            polling = asyncio.create_task(watcher.run(stop))
            stopping = asyncio.create_task(stop.wait())
            _ = await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
            _ = stopping.cancel()
            await _cancel(polling)
            if polling.done() and not polling.cancelled() and polling.exception() is not None:
                await polling  # re-raises what ended it: a bug, reported as one line by main
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            _ = loop.remove_signal_handler(signum)
    return EXIT_OK
