"""``ldstore doctor redis|dynamodb``: is the big segment store itself healthy?"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

import attrs

from ldstore.cli._core import make_core
from ldstore.cli._errors import (
    EXIT_NOT_READY,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    fail,
    remember_secret,
    report,
)
from ldstore.cli._options import (
    Parser,
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
    Canary,
    MissingExtraError,
    RedisTLS,
    StoreReport,
    diagnose_against_api,
    diagnose_dynamodb,
    diagnose_redis,
    render_report,
)
from ldstore.errors import LDStoreError
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.result import Err, Ok, Result
from ldstore.text import printable

if TYPE_CHECKING:
    pass

__all__ = ["register"]

_STORE_TIMEOUT = 5.0  # seconds for one store call unless --timeout says otherwise
_DEADLINE = 60.0  # seconds for the whole diagnosis unless --deadline says otherwise

_DESCRIPTION = """\
Read a big segment store itself, the Redis or DynamoDB data LaunchDarkly's server-side
SDKs read, and say whether they will trust it: is it reachable, is its metadata there and
fresh (SDKs call a store stale after 120 s), are its keys of the right types, and which big
segments a context is in. Read-only: the doctor never writes to the store.

Without --prefix it scans (boundedly) for prefixes with metadata and reports them. With
--project and --environment (and an access token) it checks the store's prefix is the
environment's client-side ID, with --integration-id it also compares LaunchDarkly's
status for the integration with what the store holds, and each --canary checks one
context's membership end to end. Every store call
is made once and bounded by --timeout, the whole diagnosis by --deadline; --quiet prints
only the checks that are not ok, and the verdict when it is unhealthy."""

_EXIT_CODES = """\
exit codes:
  0  healthy: no check failed
  2  usage: bad flags, or the store's extra is not installed
  3  the store could not be read (refused, timed out, credentials refused)
  4  unhealthy: a check failed"""

_REDIS_EXAMPLES = """\
  ldstore doctor redis --url redis://localhost:6379/0
  ldstore doctor redis --url rediss://doctor@redis.internal:6380/0 --password-env REDIS_PASSWORD \\
      --tls-ca ca.pem --tls-cert client.pem --tls-key client.key
  ldstore doctor redis --url redis://mymaster/0 --sentinel redis://sentinel.internal:26379
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
        description=_DESCRIPTION,
        examples=f"{_REDIS_EXAMPLES}\n{_DYNAMODB_EXAMPLES}",
        output=True,  # also before the store's name: `ldstore --output json doctor redis ...`
        quiet=True,
    )
    _clarify(doctor)
    stores = doctor.add_subparsers(title="stores", metavar="STORE", dest="store")
    stores.required = True

    redis = _store_parser(stores, "redis", "diagnose a Redis big segment store", _REDIS_EXAMPLES)
    _ = redis.add_argument(
        "--url",
        required=True,
        metavar="URL",
        help="redis://[USER[:PASSWORD]@]HOST:PORT/DB, rediss:// for TLS, or unix:///PATH; "
        "a password here is never printed, but other users can see a process's flags: "
        "prefer --password-env or --password-prompt",
    )
    secrets = redis.add_argument_group("credentials and TLS")
    _ = secrets.add_argument(
        "--password-env",
        metavar="NAME",
        help="read the password from the environment variable NAME (it replaces the URL's)",
    )
    _ = secrets.add_argument(
        "--password-prompt",
        action="store_true",
        help="ask for the password (without echo on a terminal; else one line from stdin)",
    )
    _ = secrets.add_argument(
        "--tls-ca", metavar="FILE", help="trust the CA certificates in FILE (a private CA)"
    )
    _ = secrets.add_argument(
        "--tls-cert", metavar="FILE", help="client certificate for mutual TLS (with --tls-key)"
    )
    _ = secrets.add_argument(
        "--tls-key", metavar="FILE", help="the client certificate's private key (with --tls-cert)"
    )
    _ = secrets.add_argument(
        "--tls-insecure",
        action="store_true",
        help="do not verify the server's certificate (the report's first line says so)",
    )
    _ = secrets.add_argument(
        "--sentinel",
        metavar="URL",
        help="ask the Sentinel at URL (redis://HOST:26379) for the master named by --url's "
        "host (redis://[:PASSWORD@]MASTER-NAME/DB)",
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
    _ = dynamodb.add_argument(
        "--sdk-instances",
        type=positive_count,
        default=1,
        metavar="N",
        help="SDK instances reading this table, to weigh a provisioned read capacity "
        "(each reads the metadata every 5 s; default: 1)",
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
    _clarify(parser)
    return parser


def _clarify(parser: argparse.ArgumentParser) -> None:
    """Say what --timeout, -q and -o mean for the doctor (the shared help speaks of the API)."""
    flags = cast("Parser", parser).flags()
    helps = {
        "--timeout": f"give up on one store call after this long (default: {_STORE_TIMEOUT:g}), "
        "and on one API attempt when comparing with LaunchDarkly (default: 30)",
        "--quiet": "print only the checks that are not ok, and the verdict when unhealthy "
        "(wins over --output)",
        "--output": "table (or plaintext): the report for people; json: the report as JSON, "
        "and errors as JSON objects on stderr",
    }
    for flag, text in helps.items():
        if flag in flags:
            flags[flag].help = text


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
    _ = group.add_argument(
        "--deadline",
        type=positive_seconds,
        default=_DEADLINE,
        metavar="SECONDS",
        help=f"give up on the whole diagnosis after this long (default: {_DEADLINE:g})",
    )
    add_integration_options(parser, with_id=True, required=False)
    api = parser.add_argument_group("against LaunchDarkly (with --project, --environment, a token)")
    _ = api.add_argument(
        "--canary",
        action="append",
        default=[],
        type=_canary,
        metavar="SEGMENT_KEY:CONTEXT_KEY",
        help="check this context's membership in this big segment end to end: the API's "
        "answer against the store's sets (repeatable)",
    )


def _canary(text: str) -> Canary:
    try:
        return Canary.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


async def _run_redis(args: argparse.Namespace) -> int:
    for url in (args.url, args.sentinel or ""):
        for secret in _url_passwords(url):
            remember_secret(secret)  # a second guard: the doctor masks them itself
    password = _password(args)
    tls = RedisTLS(
        ca_file=args.tls_ca,
        cert_file=args.tls_cert,
        key_file=args.tls_key,
        insecure=bool(args.tls_insecure),
    )
    return await _run(
        args,
        "redis",
        lambda options: diagnose_redis(
            args.url, password=password, tls=tls, sentinel=args.sentinel, **options
        ),
    )


def _url_passwords(url: str) -> tuple[str, ...]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return ()
    return () if password is None else (password, unquote(password))


def _password(args: argparse.Namespace) -> str | None:
    """The password from --password-env or --password-prompt, else ``None`` (the URL's)."""
    if args.password_env is not None and args.password_prompt:
        msg = "give one of --password-env and --password-prompt"
        raise UsageError(msg)
    if args.password_env is not None:
        password = os.environ.get(args.password_env)
        if password is None:
            msg = f"--password-env {args.password_env}: that environment variable is not set"
            raise UsageError(msg)
    elif args.password_prompt:
        if sys.stdin.isatty():
            password = getpass.getpass("Redis password: ")
        else:
            password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        return None
    remember_secret(password)  # never in an error line or a log, whatever its length allows
    return password


async def _run_dynamodb(args: argparse.Namespace) -> int:
    return await _run(
        args,
        "dynamodb",
        lambda options: diagnose_dynamodb(
            args.table,
            region=args.region,
            endpoint_url=args.endpoint_url,
            sdk_instances=args.sdk_instances,
            **options,
        ),
    )


@attrs.frozen
class _Api:
    """What the flags ask of LaunchDarkly's API: the prefix, a status to compare, canaries."""

    project: str
    environment: str
    integration: GetBigSegmentStoreIntegrationRequest | None
    canaries: tuple[Canary, ...]


async def _run(
    args: argparse.Namespace,
    store: str,
    diagnose: Callable[[dict[str, Any]], Awaitable[Result[StoreReport, LDStoreError]]],
) -> int:
    """Check the flags (before touching the store), ask the API, diagnose, compare."""
    api = _api(args, store)
    options: dict[str, Any] = {
        "prefix": args.prefix,
        "context_keys": list(dict.fromkeys(args.context_key)),
        "stale_after": args.stale_after,
        "timeout": _timeout(args),
        "scan_limit": args.scan_limit,
        "deadline": args.deadline,
    }
    if api is None:
        return _finish(args, await diagnose(options))
    bound = functools.partial(_bind, diagnose, options)
    async with make_core(args) as core:
        result = await diagnose_against_api(
            bound,
            core,
            api.project,
            api.environment,
            integration=api.integration,
            canaries=api.canaries,
            context_keys=options["context_keys"],
            stale_after=args.stale_after,
        )
    return _finish(args, result)


def _bind(
    diagnose: Callable[[dict[str, Any]], Awaitable[Result[StoreReport, LDStoreError]]],
    options: dict[str, Any],
    **more: Any,
) -> Awaitable[Result[StoreReport, LDStoreError]]:
    return diagnose({**options, **more})


def _timeout(args: argparse.Namespace) -> float:
    timeout = getattr(args, "timeout", None)
    return _STORE_TIMEOUT if timeout is None else float(timeout)


def _api(args: argparse.Namespace, store: str) -> _Api | None:
    """What to ask the API, when the flags say; ``UsageError`` for half of a question."""
    canaries = tuple(args.canary)
    wanted = args.project or args.environment or args.integration_id or args.integration
    if not wanted and not canaries:
        return None
    missing = [
        flag
        for flag, value in (("--project", args.project), ("--environment", args.environment))
        if not value
    ]
    if missing:
        why = "--canary" if canaries else "comparing with LaunchDarkly"
        msg = f"{why} needs {' and '.join(missing)} as well (and an access token)"
        raise UsageError(msg)
    if args.integration not in {None, store}:
        msg = f"--integration {args.integration} does not match `ldstore doctor {store}`"
        raise UsageError(msg)
    if args.integration is not None and not args.integration_id:
        msg = "--integration needs --integration-id as well"
        raise UsageError(msg)
    integration = (
        None
        if not args.integration_id
        else GetBigSegmentStoreIntegrationRequest(
            project_key=args.project,
            environment_key=args.environment,
            integration_key=store,
            integration_id=args.integration_id,
        )
    )
    return _Api(args.project, args.environment, integration, canaries)


def _finish(args: argparse.Namespace, result: Result[StoreReport, LDStoreError]) -> int:
    match result:
        case Err(MissingExtraError() as error):
            report(printable(str(error)), kind=type(error).__name__, error=error)
            return EXIT_USAGE
        case Err(error):  # StoreUnreachableError: exit 3; InputValidationError: exit 2
            return fail(_escaped(error))
        case Ok(found):
            _print(args, found)
            return EXIT_OK if found.healthy else EXIT_NOT_READY


def _escaped(error: LDStoreError) -> LDStoreError:
    """``error`` with its message shown through ``printable`` (store replies may hold escapes)."""
    return attrs.evolve(error, message=printable(error.message))


def _print(args: argparse.Namespace, found: StoreReport) -> None:
    quiet = bool(getattr(args, "quiet", False))  # as everywhere, --quiet wins over --output
    if getattr(args, "output", "table") == "json" and not quiet:
        write(json.dumps(found.to_json(), indent=2))
        return
    text = render_report(found, quiet=quiet)
    if text:
        write(text)
