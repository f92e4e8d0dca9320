"""``ldstore demo``: a guided tour of the five operations, against a fake or a real account."""

from __future__ import annotations

import argparse
import json
import secrets
import textwrap
import time
from collections.abc import Awaitable, Callable
from typing import TypeAlias

import attrs

from ldstore.cli._common import (
    EXIT_OK,
    EXIT_USAGE,
    TESTING_EXTRA_MISSING,
    Subparsers,
    add_command,
    error_line,
    fail,
    make_core,
    positive_seconds,
    render_integration,
    render_table,
    resolve_connection,
    seconds,
    write,
)
from ldstore.core import Core, RetryConfig
from ldstore.errors import LDStoreError, NotFoundError
from ldstore.funcs import (
    create_big_segment_store_integration,
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.models import IntegrationDeliveryConfigurationPost, IntegrationKey, RedisConfig
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchWithComment, if_version, replace_name, set_on
from ldstore.result import Err, Ok, Result
from ldstore.workflows import NotAvailableError, wait_until_available

__all__ = ["register"]

_INDENT = "   "


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "demo",
        summary="a guided tour of the five operations (against a built-in fake API)",
        description="Walk through create, list, get, update, wait and delete, printing the "
        "Python call each step makes and what came back. It runs against a fake "
        "LaunchDarkly API started in this process, unless a server is named with "
        "--base-uri, LD_BASE_URI, --federal or the config file: then it runs against that "
        "account (it needs "
        "an access token) and deletes what it created.",
        examples="""\
  ldstore demo
  ldstore demo --base-uri https://app.launchdarkly.com --project default --environment test""",
    )
    _ = parser.add_argument(
        "--project", metavar="KEY", help="project for a real account (default: default)"
    )
    _ = parser.add_argument(
        "--environment", metavar="KEY", help="environment for a real account (default: test)"
    )
    _ = parser.add_argument(
        "--sync-delay",
        type=seconds,
        default=1.0,
        metavar="SECONDS",
        help="how long the fake takes to sync a store switched on (default: %(default)s)",
    )
    _ = parser.add_argument(
        "--wait-timeout",
        type=positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the store to be available (default: %(default)s)",
    )
    parser.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    if resolve_connection(args).explicit:
        async with make_core(args) as core:
            write(f"ldstore demo: the five operations against {core.base_url}.")
            write("It creates one Redis store integration, then deletes it.")
            return await _tour(
                core, args.project or "default", args.environment or "test", args.wait_timeout
            )
    try:
        from ldstore.testing import FakeLaunchDarkly  # noqa: PLC0415 - an optional extra
    except ModuleNotFoundError as error:  # pragma: no cover - the test env has the extra
        if error.name != "jsonpatch":
            raise
        error_line(TESTING_EXTRA_MISSING)
        return EXIT_USAGE
    async with FakeLaunchDarkly(sync_delay=args.sync_delay) as fake:
        write(
            "ldstore demo: the five operations against a fake LaunchDarkly API "
            f"(ldstore.testing.FakeLaunchDarkly) at {fake.url}."
        )
        async with Core(
            fake.token,
            server_url=fake.url,
            timeout=args.timeout or 30.0,
            retry_config=RetryConfig(max_elapsed_time=5.0),
        ) as core:
            return await _tour(core, "default", "test", args.wait_timeout)


@attrs.define
class _Tour:
    """The walk's state: where it runs, the step it is at, and the integration it made."""

    core: Core
    project: str
    environment: str
    wait_timeout: float
    step: int = 0
    request: GetBigSegmentStoreIntegrationRequest | None = None
    version: int = 1

    def heading(self, title: str, code: str) -> None:
        """Print the next step's number and title, and the Python it runs."""
        self.step += 1
        write()
        write(f"{self.step}. {title}")
        lines = code.strip().splitlines()
        write(
            "\n".join(f"{_INDENT}{'...' if line[:1].isspace() else '>>>'} {line}" for line in lines)
        )

    @property
    def created(self) -> GetBigSegmentStoreIntegrationRequest:
        if self.request is None:  # pragma: no cover - the steps run after the create
            msg = "the demo has not created its integration yet"
            raise RuntimeError(msg)
        return self.request


Step: TypeAlias = Callable[[_Tour], Awaitable[Result[None, LDStoreError]]]


def _q(text: str) -> str:
    """A Python string literal in the double quotes the printed code uses."""
    return json.dumps(text)


def _say(text: str) -> None:
    write(textwrap.indent(text, _INDENT))


async def _tour(core: Core, project: str, environment: str, wait_timeout: float) -> int:
    write("Each step shows the Python call it makes, then the Result it got: Ok(value) or")
    write("Err(error). Nothing raises: the demo `match`es each Result.")
    write()
    write(f">>> core = Core(api_key=..., server_url={_q(core.base_url)})")
    tour = _Tour(core, project, environment, wait_timeout)
    steps: tuple[Step, ...] = (_create, _list, _get, _update, _wait, _delete, _get_deleted)
    for step in steps:
        match await step(tour):
            case Ok():
                pass
            case Err(error):
                code = fail(error)
                if tour.request is not None:
                    await _clean_up(tour)
                return code
    write()
    write("Done. Next: `ldstore --help`, `ldstore fake-server` for your own tests, and the README.")
    return EXIT_OK


async def _create(tour: _Tour) -> Result[None, LDStoreError]:
    name = f"ldstore demo {secrets.token_hex(2)}"
    config = RedisConfig(
        host="redis.demo.internal",
        port=6380,
        password="demo-s3cret",  # noqa: S106 - a made-up password, to show it comes back masked
        tls_enabled=True,
    )
    body = IntegrationDeliveryConfigurationPost(config, name=name, tags=["demo"])
    request = CreateBigSegmentStoreIntegrationRequest(
        tour.project, tour.environment, IntegrationKey.REDIS, body
    )
    tour.heading(
        "Create a Redis store integration from a typed RedisConfig",
        f"""
config = RedisConfig(host="redis.demo.internal", port=6380, password="demo-s3cret", tls_enabled=True)
body = IntegrationDeliveryConfigurationPost(config, name={_q(name)}, tags=["demo"])
request = CreateBigSegmentStoreIntegrationRequest({_q(tour.project)}, {_q(tour.environment)}, IntegrationKey.REDIS, body)
await create_big_segment_store_integration(core, request)""",
    )
    match await create_big_segment_store_integration(tour.core, request):
        case Ok(created):
            _say("Ok(BigSegmentStoreIntegration):")
            _say(textwrap.indent(render_integration(created), "  "))
            _say("The password went out once; the API only ever shows it masked.")
            tour.request = GetBigSegmentStoreIntegrationRequest(
                tour.project, tour.environment, IntegrationKey.REDIS, created.id
            )
            return Ok(None)
        case Err(error):
            return Err(error)


async def _list(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading(
        "List the account's integrations", "await get_big_segment_store_integrations(core)"
    )
    match await get_big_segment_store_integrations(tour.core):
        case Ok(collection):
            count = len(collection.items)
            _say(f"Ok(BigSegmentStoreIntegrationCollection) with {count} item(s), as summaries:")
            _say(textwrap.indent(render_table(collection.items), "  "))
            return Ok(None)
        case Err(error):
            return Err(error)


async def _get(tour: _Tour) -> Result[None, LDStoreError]:
    get = tour.created
    tour.heading(
        "Get it by ID: the detailed representation, config included",
        f"""
request = GetBigSegmentStoreIntegrationRequest({_q(get.project_key)}, {_q(get.environment_key)}, IntegrationKey.REDIS, {_q(get.integration_id)})
await get_big_segment_store_integration(core, request)""",
    )
    match await get_big_segment_store_integration(tour.core, get):
        case Ok(integration):
            config = dict(integration.config or {})
            _say(f"Ok: {integration.name!r} at version {integration.version}, config {config}")
            tour.version = integration.version
            return Ok(None)
        case Err(error):
            return Err(error)


async def _update(tour: _Tour) -> Result[None, LDStoreError]:
    get = tour.created
    version = tour.version
    new_name = "ldstore demo, switched on"
    comment = "ldstore demo: rename and switch on"
    body = PatchWithComment(
        [if_version(version), replace_name(new_name), set_on(True)], comment=comment
    )
    request = PatchBigSegmentStoreIntegrationRequest(
        get.project_key, get.environment_key, get.integration_key, get.integration_id, body
    )
    tour.heading(
        f"Rename it and switch it on, only if it is still at version {version}",
        f"""
ops = [if_version({version}), replace_name({_q(new_name)}), set_on(True)]
body = PatchWithComment(ops, comment={_q(comment)})
await patch_big_segment_store_integration(core, PatchBigSegmentStoreIntegrationRequest(..., body))""",
    )
    match await patch_big_segment_store_integration(tour.core, request):
        case Ok(updated):
            _say(f"Ok: {updated.name!r}, on={updated.on}, now at version {updated.version}.")
            _say("Had someone changed it first: Err(StatusConflictError), HTTP 409.")
            return Ok(None)
        case Err(error):
            return Err(error)


async def _wait(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading(
        "Wait until LaunchDarkly reports the store synced and available",
        f"await wait_until_available(core, request, timeout={tour.wait_timeout:g}, poll_interval=0.25)",
    )
    started = time.monotonic()
    match await wait_until_available(
        tour.core, tour.created, timeout=tour.wait_timeout, poll_interval=0.25
    ):
        case Ok(ready):
            waited = time.monotonic() - started
            _say(f"Ok: {ready.name!r} is available, after {waited:.1f} s of polling.")
            return Ok(None)
        case Err(NotAvailableError() as error):
            _say(f"Err(NotAvailableError): {error}")
            _say("(expected against a real account: the demo's Redis host does not exist)")
            return Ok(None)
        case Err(error):
            return Err(error)


async def _delete(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading(
        "Delete it",
        "await delete_big_segment_store_integration(core, DeleteBigSegmentStoreIntegrationRequest(...))",
    )
    match await delete_big_segment_store_integration(tour.core, _delete_request(tour.created)):
        case Ok():
            _say("Ok(None): deleted (HTTP 204).")
            return Ok(None)
        case Err(error):
            return Err(error)


async def _get_deleted(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading(
        "Get it again: a 404 arrives as a value to match, not an exception",
        """
match await get_big_segment_store_integration(core, request):
    case Ok(integration): ...
    case Err(NotFoundError() as error): print(error)
    case Err(error): ...""",
    )
    match await get_big_segment_store_integration(tour.core, tour.created):
        case Ok(integration):
            message = f"the deleted integration {integration.id} is still there"
            return Err(LDStoreError(message=message))
        case Err(NotFoundError() as error):
            _say(f"Err(NotFoundError): {error}")
            tour.request = None  # nothing left to clean up
            return Ok(None)
        case Err(error):
            return Err(error)


def _delete_request(
    get: GetBigSegmentStoreIntegrationRequest,
) -> DeleteBigSegmentStoreIntegrationRequest:
    return DeleteBigSegmentStoreIntegrationRequest(
        get.project_key, get.environment_key, get.integration_key, get.integration_id
    )


async def _clean_up(tour: _Tour) -> None:
    """After a failed step, delete the demo's integration if it is still there."""
    match await delete_big_segment_store_integration(tour.core, _delete_request(tour.created)):
        case Ok():
            write(f"(deleted the demo's integration {tour.created.integration_id})")
        case Err(NotFoundError()):
            pass
        case Err(error):
            _ = fail(error)
