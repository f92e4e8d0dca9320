"""The fake's command line, defined once: `python -m ldstore.testing` and `ldstore fake-server`.

Importing this module loads neither aiohttp's server nor jsonpatch: `ldstore fake-server
--help` works without the `testing` extra, and `serve` says what is missing.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ldstore import argtypes

if TYPE_CHECKING:
    from ldstore.testing._server import FakeLaunchDarkly

# Here, not in _config: the options (and `ldstore fake-server --help`) load no aiohttp.
DEFAULT_ENVIRONMENTS: Mapping[str, Sequence[str]] = {"default": ("production", "test")}
"""The projects and environments a fake knows unless told otherwise; others answer 404."""

# The standalone server's request log: bounded (in-process, FakeLaunchDarkly keeps all).
MAX_LOGGED_REQUESTS = 1000
MAX_LOGGED_BODY = 16 * 1024

_DEFAULTS = " and ".join(
    f"{project}/{environment}"
    for project, environments in DEFAULT_ENVIRONMENTS.items()
    for environment in environments
)

# Wrapped here for parsers with RawDescriptionHelpFormatter (ldstore fake-server).
ENVIRONMENTS_HELP = textwrap.fill(
    f"The fake knows only {_DEFAULTS} (project/environment); any other project or "
    "environment answers 404, as LaunchDarkly does for keys it does not know. Add more "
    "with --environment PROJECT/ENV (repeatable). In Python: "
    'FakeLaunchDarkly(environments={"mobile": ["staging"]}) replaces the defaults, '
    'fake.add_environment("mobile", "staging") adds one. Stores are redis and dynamodb; '
    "everything lives in memory and ends with the process.",
    width=76,
)
"""The fake's limits, as both commands' --help shows them."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the fake server's options to `parser`; `serve` runs from what it parses."""
    _ = parser.add_argument(
        "--host", default="127.0.0.1", metavar="ADDRESS", help="address to bind (%(default)s)"
    )
    _ = parser.add_argument(
        "--port",
        type=argtypes.port,
        default=0,
        help="port to listen on; 0 picks a free one (%(default)s)",
    )
    _ = parser.add_argument(
        "--token", default="api-fake-token", help="the access token it accepts (%(default)s)"
    )
    _ = parser.add_argument(
        "--also-token",
        action="append",
        default=[],
        metavar="TOKEN",
        dest="tokens",
        help="also accept this token, of the same account: it shares the rate limit (repeatable)",
    )
    _ = parser.add_argument(
        "--seed",
        type=argtypes.whole,
        default=0,
        metavar="N",
        help="start with N example integrations, spread over the environments (%(default)s)",
    )
    _ = parser.add_argument(
        "--sync-delay",
        type=argtypes.seconds,
        default=0.2,
        metavar="SECONDS",
        help="from switching a store on to it being available (%(default)s)",
    )
    _ = parser.add_argument(
        "--rate-limit",
        type=argtypes.positive_count,
        metavar="N",
        help="requests allowed per window, account-wide: every token spends from it; its 429s "
        "carry X-Ratelimit-* headers, no Retry-After (default: no limit)",
    )
    _ = parser.add_argument(
        "--rate-limit-window",
        type=argtypes.seconds,
        default=10.0,
        metavar="SECONDS",
        help="the rate-limit window (%(default)s, as LaunchDarkly's)",
    )
    _ = parser.add_argument(
        "--latency",
        type=argtypes.seconds,
        default=0.0,
        metavar="SECONDS",
        help="delay every answer (%(default)s)",
    )
    _ = parser.add_argument(
        "--list-includes-config",
        action="store_true",
        help="include config in list items (the real API leaves it out)",
    )
    _ = parser.add_argument(
        "--max-logged-requests",
        type=argtypes.whole,
        default=MAX_LOGGED_REQUESTS,
        metavar="N",
        help="keep only the latest N exchanges in the request log (%(default)s)",
    )
    _ = parser.add_argument(
        "--max-logged-body",
        type=argtypes.whole,
        default=MAX_LOGGED_BODY,
        metavar="BYTES",
        help="bodies in the request log are cut to this size, raw bodies over it dropped "
        "(%(default)s)",
    )
    sync = parser.add_argument_group(
        "syncing real stores",
        textwrap.fill(
            "With --sync the fake plays LaunchDarkly's syncer: every --sync-interval seconds "
            "it writes each `on` integration's big segments into the Redis its config names "
            "(host, port, username, password, tlsEnabled), or into the DynamoDB table at "
            "--dynamodb-endpoint (credentials from the standard AWS environment variables), "
            "under the environment's client-side ID, and reports what happened in _status. "
            "Needs the redis or dynamodb extra.",
            width=76,
        ),
    )
    _ = sync.add_argument(
        "--sync", action="store_true", help="write big segments into the integrations' stores"
    )
    _ = sync.add_argument(
        "--sync-interval",
        type=argtypes.positive_seconds,
        default=2.0,
        metavar="SECONDS",
        help="seconds between syncs (%(default)s)",
    )
    _ = sync.add_argument(
        "--dynamodb-endpoint",
        type=argtypes.http_url,
        metavar="URL",
        help="the DynamoDB endpoint to sync DynamoDB integrations to, e.g. a local one",
    )
    group = parser.add_argument_group("projects and environments", ENVIRONMENTS_HELP)
    _ = group.add_argument(
        "--environment",
        type=argtypes.project_environment,
        action="append",
        default=[],
        metavar="PROJECT/ENV",
        dest="environments",
        help="also know this project and environment (repeatable), e.g. mobile/staging",
    )


def serve(args: argparse.Namespace) -> int:
    """Serve a fake built from `args` (parsed with `add_arguments`) until a signal; exit code 0.

    Raises ModuleNotFoundError (name `jsonpatch`) without the `testing` extra.
    """
    # Imported here: the fake needs jsonpatch, the options above do not.
    import asyncio  # noqa: PLC0415

    from ldstore.testing._serve import serve_forever  # noqa: PLC0415

    asyncio.run(serve_forever(build(args), seed=args.seed))
    return 0


def build(args: argparse.Namespace) -> FakeLaunchDarkly:
    """The fake `serve` runs, built from `args` (parsed with `add_arguments`)."""
    from ldstore.testing._ratelimit import RateLimit  # noqa: PLC0415
    from ldstore.testing._server import FakeLaunchDarkly  # noqa: PLC0415

    environments = {project: list(envs) for project, envs in DEFAULT_ENVIRONMENTS.items()}
    for project, environment in args.environments:
        known = environments.setdefault(project, [])
        if environment not in known:
            known.append(environment)
    rate_limit = (
        None if args.rate_limit is None else RateLimit(args.rate_limit, args.rate_limit_window)
    )
    return FakeLaunchDarkly(
        args.token,
        host=args.host,
        port=args.port,
        sync_delay=args.sync_delay,
        rate_limit=rate_limit,
        latency=args.latency,
        list_includes_config=args.list_includes_config,
        environments=environments,
        max_logged_requests=args.max_logged_requests,
        max_logged_body=args.max_logged_body,
        sync=args.sync,
        sync_interval=args.sync_interval,
        dynamodb_endpoint=args.dynamodb_endpoint,
        tokens=args.tokens,
    )
