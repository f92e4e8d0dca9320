"""``ldstore doctor redis|dynamodb``: is the big segment store itself healthy?"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ldstore.cli._core import make_core
from ldstore.cli._errors import (
    EXIT_NETWORK,
    EXIT_NOT_READY,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    error_line,
    fail,
)
from ldstore.cli._options import (
    Subparsers,
    add_command,
    add_connection_options,
    add_integration_options,
    add_output_options,
    positive_count,
    positive_seconds,
)
from ldstore.cli._output import write
from ldstore.doctor import (
    CheckStatus,
    MissingExtraError,
    StoreReport,
    StoreUnreachableError,
    cross_check,
    diagnose_dynamodb,
    diagnose_redis,
)
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.result import Err, Ok, Result

if TYPE_CHECKING:
    from ldstore.core import Core

__all__ = ["register"]

_STORE_TIMEOUT = 5.0  # seconds for one store call unless --timeout says otherwise
_STORES = {"redis": "Redis store", "dynamodb": "DynamoDB store"}
_MARKS = {CheckStatus.OK: "ok  ", CheckStatus.WARNING: "WARN", CheckStatus.FAILURE: "FAIL"}

_DESCRIPTION = """\
Read a big segment store itself, the Redis or DynamoDB data LaunchDarkly's server-side
SDKs read, and say whether they will trust it: is it reachable, is its metadata there and
fresh (SDKs call a store stale after 120 s), are its keys of the right types, and which big
segments a context is in. Read-only: the doctor never writes to the store.

Without --prefix it scans (boundedly) for prefixes with metadata and reports them. With
--project, --environment and --integration-id (and an access token) it also compares
LaunchDarkly's status for the integration with what the store holds. Every store call
is made once and bounded by --timeout (default for the store: 5 s); --quiet prints only
the checks that are not ok."""

_EXIT_CODES = """\
exit codes:
  0  healthy: no check failed
  2  usage: bad flags, or the store's extra is not installed
  3  the store could not be read (refused, timed out, credentials refused)
  4  unhealthy: a check failed"""

_REDIS_EXAMPLES = """\
  ldstore doctor redis --url redis://localhost:6379/0
  ldstore doctor redis --url rediss://redis.internal:6380/0 --prefix my-client-side-id \\
      --context-key user-123 --output json
  ldstore doctor redis --url redis://localhost:6379/0 --project default \\
      --environment production --integration-id 6500d7a1e1c2b3a4f5e6d7c8"""

_DYNAMODB_EXAMPLES = """\
  ldstore doctor dynamodb --table ld-big-segments --region us-east-1
  ldstore doctor dynamodb --table ld-big-segments --endpoint-url http://localhost:8000 \\
      --prefix my-client-side-id --context-key user-123"""


def register(subparsers: Subparsers) -> None:
    """Add ``doctor`` with its ``redis`` and ``dynamodb`` subcommands."""
    doctor = add_command(
        subparsers,
        "doctor",
        summary="read a big segment store itself and say whether SDKs will trust it",
        description=_DESCRIPTION,
        examples=f"{_REDIS_EXAMPLES}\n{_DYNAMODB_EXAMPLES}",
        output=True,  # also before the store's name: `ldstore --output json doctor redis ...`
        quiet=True,
    )
    stores = doctor.add_subparsers(title="stores", metavar="STORE", dest="store")
    stores.required = True

    redis = _store_parser(stores, "redis", "diagnose a Redis big segment store", _REDIS_EXAMPLES)
    _ = redis.add_argument(
        "--url",
        required=True,
        metavar="URL",
        help="redis://[USER:PASSWORD@]HOST:PORT/DB, rediss:// for TLS, or unix:///PATH "
        "(a password is never printed; other users can see a process's flags)",
    )
    _common_options(redis, default_prefix="launchdarkly")
    redis.set_defaults(run=_run_redis)

    dynamodb = _store_parser(
        stores, "dynamodb", "diagnose a DynamoDB big segment store", _DYNAMODB_EXAMPLES
    )
    _ = dynamodb.add_argument("--table", required=True, metavar="TABLE", help="the table's name")
    _ = dynamodb.add_argument(
        "--region", metavar="REGION", help="AWS region (default: the AWS configuration's)"
    )
    _ = dynamodb.add_argument(
        "--endpoint-url", metavar="URL", help="a DynamoDB endpoint other than AWS's"
    )
    _common_options(dynamodb, default_prefix="none")
    dynamodb.set_defaults(run=_run_dynamodb)


def _store_parser(
    stores: Subparsers, name: str, summary: str, examples: str
) -> argparse.ArgumentParser:
    parser = stores.add_parser(
        name,
        help=summary,
        description=_DESCRIPTION,
        epilog=f"examples:\n{examples}\n\n{_EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_options(parser)
    add_output_options(parser, quiet=True)
    return parser


def _common_options(parser: argparse.ArgumentParser, *, default_prefix: str) -> None:
    group = parser.add_argument_group("diagnosis")
    _ = group.add_argument(
        "--prefix",
        metavar="PREFIX",
        help="the prefix your SDKs use (LaunchDarkly-managed: the environment's client-side "
        f"ID); default: discover, else {default_prefix}",
    )
    _ = group.add_argument(
        "--context-key",
        action="append",
        default=[],
        metavar="KEY",
        help="show the big segments this context is in (repeatable)",
    )
    _ = group.add_argument(
        "--stale-after",
        type=positive_seconds,
        default=120.0,
        metavar="SECONDS",
        help="call the store stale after this long without a sync (default: 120, as SDKs)",
    )
    _ = group.add_argument(
        "--scan-limit",
        type=positive_count,
        default=10_000,
        metavar="N",
        help="discovering prefixes, examine about N keys or items at most (default: 10000)",
    )
    add_integration_options(parser, with_id=True, required=False)


async def _run_redis(args: argparse.Namespace) -> int:
    return await _run(args, "redis", lambda options: diagnose_redis(args.url, **options))


async def _run_dynamodb(args: argparse.Namespace) -> int:
    return await _run(
        args,
        "dynamodb",
        lambda options: diagnose_dynamodb(
            args.table, region=args.region, endpoint_url=args.endpoint_url, **options
        ),
    )


async def _run(
    args: argparse.Namespace,
    store: str,
    diagnose: Callable[[dict[str, Any]], Awaitable[Result[StoreReport, LDStoreError]]],
) -> int:
    """Check the flags (before touching the store), diagnose, then cross-check if asked."""
    request = _cross_check_request(args, store)
    core = make_core(args) if request is not None else None
    result = await diagnose(
        {
            "prefix": args.prefix,
            "context_keys": args.context_key,
            "stale_after": args.stale_after,
            "timeout": _timeout(args),
            "scan_limit": args.scan_limit,
        }
    )
    return await _finish(args, result, core, request)


def _timeout(args: argparse.Namespace) -> float:
    timeout = getattr(args, "timeout", None)
    return _STORE_TIMEOUT if timeout is None else float(timeout)


def _cross_check_request(
    args: argparse.Namespace, store: str
) -> GetBigSegmentStoreIntegrationRequest | None:
    """The integration to compare with, when the flags name one; ``UsageError`` for half of one."""
    named = {
        "--project": args.project,
        "--environment": args.environment,
        "--integration-id": args.integration_id,
    }
    if not any(named.values()) and args.integration is None:
        return None
    missing = [flag for flag, value in named.items() if not value]
    if missing:
        msg = f"comparing with LaunchDarkly's status needs {', '.join(missing)} as well"
        raise UsageError(msg)
    if args.integration not in {None, store}:
        msg = f"--integration {args.integration} does not match `ldstore doctor {store}`"
        raise UsageError(msg)
    return GetBigSegmentStoreIntegrationRequest(
        project_key=args.project,
        environment_key=args.environment,
        integration_key=store,
        integration_id=args.integration_id,
    )


async def _finish(
    args: argparse.Namespace,
    result: Result[StoreReport, LDStoreError],
    core: Core | None,
    request: GetBigSegmentStoreIntegrationRequest | None,
) -> int:
    match result:
        case Err(MissingExtraError() | InputValidationError() as error):
            error_line(str(error))
            return EXIT_USAGE
        case Err(StoreUnreachableError() as error):
            error_line(str(error))
            return EXIT_NETWORK
        case Err(error):
            return fail(error)
        case Ok(report):
            pass
    if core is not None and request is not None:
        async with core:
            checked = await cross_check(core, request, report, stale_after=args.stale_after)
        if isinstance(checked, Err):
            return fail(checked.error)
        report = checked.value
    _print(args, report)
    return EXIT_OK if report.healthy else EXIT_NOT_READY


def _print(args: argparse.Namespace, report: StoreReport) -> None:
    quiet = bool(getattr(args, "quiet", False))  # as everywhere, --quiet wins over --output
    if getattr(args, "output", "table") == "json" and not quiet:
        write(json.dumps(report.to_json(), indent=2))
        return
    checks = [check for check in report.checks if not quiet or check.status is not CheckStatus.OK]
    if not quiet:
        prefix = "no prefix" if report.prefix is None else f"prefix {report.prefix!r}"
        write(f"{_STORES.get(report.store, report.store)} {report.location}, {prefix}")
    width = max((len(check.name) for check in checks), default=0)
    for check in checks:
        write(f"{_MARKS[check.status]}  {check.name:<{width}}  {check.detail}")
    failed = sum(check.status is CheckStatus.FAILURE for check in report.checks)
    if report.healthy:
        if not quiet:
            write("healthy: server-side SDKs will trust this store")
    else:
        write(f"unhealthy: {failed} check(s) failed")
