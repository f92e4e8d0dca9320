"""The tour ``ldstore demo`` prints, against an embedded fake or a real account (--live).

Apart from the command's parser (``_demo``): the tour needs the whole SDK, which
``ldstore --help`` should not have to load."""

from __future__ import annotations

import argparse
import json
import secrets
import textwrap
import time
from collections.abc import Awaitable, Callable
from typing import TypeAlias

import attrs

from ldstore.cli._confirm import Answer, confirm
from ldstore.cli._core import make_core
from ldstore.cli._demo import SYNC_DELAY
from ldstore.cli._errors import (
    EXIT_OK,
    EXIT_USAGE,
    TESTING_EXTRA_MISSING,
    UsageError,
    error_line,
    fail,
)
from ldstore.cli._screen import Out, emphasis
from ldstore.core import Core, RetryConfig
from ldstore.errors import LDStoreError, NotFoundError, StatusConflictError
from ldstore.funcs import (
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.models import BigSegmentStoreIntegration, IntegrationKey, RedisConfig
from ldstore.operations import (
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchOperation, add_tag, if_version, set_on
from ldstore.result import Err, Ok, Result
from ldstore.workflows import (
    DesiredIntegration,
    NotAvailableError,
    Plan,
    apply,
    plan,
    wait_until_available,
)

__all__ = ["run"]

_OTHER_TAG = "edited-elsewhere"


async def run(args: argparse.Namespace) -> int:
    """Run the tour `ldstore demo` asked for: on the embedded fake, or with --live."""
    if args.live:
        if args.sync_delay is not None:
            msg = "--sync-delay sets the fake's sync time; with --live the account syncs"
            raise UsageError(msg)
        return await _run_live(args)
    _refuse_live_only_flags(args)
    try:
        from ldstore.testing import FakeLaunchDarkly  # noqa: PLC0415 - an optional extra
    except ModuleNotFoundError as error:  # pragma: no cover - the test env has the extra
        if error.name != "jsonpatch":
            raise
        error_line(TESTING_EXTRA_MISSING)
        return EXIT_USAGE
    out = Out(emphasis=emphasis())
    sync_delay = SYNC_DELAY if args.sync_delay is None else args.sync_delay
    async with FakeLaunchDarkly(sync_delay=sync_delay) as fake:
        out.prose(
            "ldstore demo: a tour of ldstore against a fake LaunchDarkly API started in "
            f"this process (ldstore.testing.FakeLaunchDarkly, at {fake.url})."
        )
        async with Core(
            fake.token,
            server_url=fake.url,
            timeout=args.timeout or 30.0,
            retry_config=RetryConfig(max_elapsed_time=5.0),
        ) as core:
            return await _tour(_Tour(core, "default", "test", args.wait_timeout, out))


def _refuse_live_only_flags(args: argparse.Namespace) -> None:
    """Flags that name an account mean nothing to the fake: say so rather than ignore them."""
    given = [
        flag
        for flag, value in (
            ("--base-uri", getattr(args, "base_uri", None)),
            ("--federal", getattr(args, "federal", False)),
            ("--eu", getattr(args, "eu", False)),
            ("--access-token", getattr(args, "access_token", None)),
            ("--project", args.demo_project),
            ("--environment", args.demo_environment),
            ("--yes", args.yes),
        )
        if value
    ]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        msg = (
            f"{', '.join(given)} only {verb} with --live: without it `ldstore demo` runs "
            "against its own fake API and touches no account"
        )
        raise UsageError(msg)


async def _run_live(args: argparse.Namespace) -> int:
    project, environment = args.demo_project or "default", args.demo_environment or "test"
    async with make_core(args) as core:
        out = Out(emphasis=emphasis())
        out.prose(
            f"ldstore demo --live: a tour of ldstore against {core.base_url}, in project "
            f"{project!r}, environment {environment!r}. It creates a Redis store "
            "integration there, changes it and deletes it."
        )
        answer = confirm(
            f"Run the demo on {core.base_url} ({project}/{environment})?", assume_yes=args.yes
        )
        match answer:
            case Answer.YES:
                return await _tour(_Tour(core, project, environment, args.wait_timeout, out))
            case Answer.DECLINED:
                error_line("demo cancelled; nothing was sent")
                return EXIT_USAGE
            case Answer.NOT_A_TERMINAL:
                error_line(
                    f"--live changes the account at {core.base_url}: add --yes to run it "
                    "without a terminal to ask on; nothing was sent"
                )
                return EXIT_USAGE


@attrs.define
class _Tour:
    """The walk's state: where it runs, the step it is at, and the integration it made."""

    core: Core
    project: str
    environment: str
    wait_timeout: float
    out: Out
    step: int = 0
    name: str = attrs.field(factory=lambda: f"ldstore demo {secrets.token_hex(2)}")
    plan: Plan | None = None
    request: GetBigSegmentStoreIntegrationRequest | None = None
    version: int = 1

    def heading(self, title: str) -> None:
        self.step += 1
        self.out.heading(f"{self.step}. {title}")

    @property
    def created(self) -> GetBigSegmentStoreIntegrationRequest:
        if self.request is None:  # pragma: no cover - the steps run after the create
            msg = "the demo has not created its integration yet"
            raise RuntimeError(msg)
        return self.request

    @property
    def where(self) -> str:
        """The shell flags naming the integration, for the commands shown."""
        return f"--project {self.project} --environment {self.environment} --integration redis"

    def by_id(self, verb: str, more: str = "") -> str:
        """An ``ldstore`` command on the demo's integration, on two lines."""
        tail = f" {more}" if more else ""
        return (
            f"ldstore {verb} {self.where} \\\n"
            f"    --integration-id {self.created.integration_id}{tail}"
        )

    def patch(self, operations: list[PatchOperation]) -> PatchBigSegmentStoreIntegrationRequest:
        get = self.created
        return PatchBigSegmentStoreIntegrationRequest(
            get.project_key,
            get.environment_key,
            get.integration_key,
            get.integration_id,
            operations,
        )


Step: TypeAlias = Callable[[_Tour], Awaitable[Result[None, LDStoreError]]]


def _q(text: str) -> str:
    """A Python string literal in the double quotes the printed code uses."""
    return json.dumps(text)


async def _tour(tour: _Tour) -> int:
    out = tour.out
    out.blank()
    out.prose(
        "A big segment store is your own Redis or DynamoDB that LaunchDarkly keeps "
        "filled with big segments, for server-side SDKs to read there, not over the network."
    )
    out.prose("ldstore manages the integrations that connect the two.")
    out.blank()
    out.prose(
        "Each step shows the `ldstore` command ($) and the Python call (>>>) that do it, "
        "then the Result it got: Ok(value) or Err(error). The calls never raise; "
        "`.unwrap()` turns an Err into its exception."
    )
    out.blank()
    out.python(f"core = Core(api_key=..., server_url={_q(tour.core.base_url)})")
    steps: tuple[Step, ...] = (
        _plan,
        _apply,
        _list,
        _get,
        _change_behind_its_back,
        _guarded_update,
        _retry_update,
        _wait,
        _delete,
        _get_deleted,
    )
    for step in steps:
        match await step(tour):
            case Ok():
                pass
            case Err(error):
                code = fail(error)
                if tour.request is not None:
                    await _clean_up(tour)
                return code
    out.heading("Next")
    out.prose(
        "Check the store itself, the keys LaunchDarkly writes into your Redis or "
        "DynamoDB: `ldstore doctor redis --url redis://HOST:6379` (pip install "
        "'ldstore[redis]'). Then `ldstore --help`, `ldstore fake-server` for your own "
        "tests, and the README."
    )
    return EXIT_OK


def _desired(tour: _Tour) -> list[DesiredIntegration]:
    config = RedisConfig(
        "redis.internal",
        port=6380,
        password="demo-s3cret",  # noqa: S106 - a made-up password, to show it comes back masked
    )
    return [
        DesiredIntegration(
            project_key=tour.project,
            environment_key=tour.environment,
            integration_key=IntegrationKey.REDIS,
            name=tour.name,
            tags=("demo",),
            config=config,
        )
    ]


async def _plan(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading("Say what should exist, and plan: see what would change")
    tour.out.shell("ldstore apply -f stores.toml --dry-run")
    tour.out.note("(stores.toml: the same integration in TOML; `ldstore apply --help`)")
    tour.out.python(
        f"""
config = RedisConfig("redis.internal", port=6380, password="demo-s3cret")
desired = [DesiredIntegration(
    project_key={_q(tour.project)}, environment_key={_q(tour.environment)},
    integration_key="redis", name={_q(tour.name)}, tags=("demo",),
    config=config)]
planned = (await plan(core, desired)).unwrap()"""
    )
    match await plan(tour.core, _desired(tour)):
        case Ok(planned):
            tour.out.result(f"Ok(Plan):\n{textwrap.indent(str(planned), '  ')}")
            tour.plan = planned
            return Ok(None)
        case Err(error):
            return Err(error)


async def _apply(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading("Apply the plan: create what is missing")
    tour.out.shell("ldstore apply -f stores.toml")
    tour.out.python("report = (await apply(core, planned)).unwrap()")
    planned = tour.plan
    if planned is None:  # pragma: no cover - the plan step runs first
        return Err(LDStoreError(message="the demo has no plan to apply"))
    applied = await apply(tour.core, planned)
    if isinstance(applied, Err):
        return applied
    report = applied.value
    match report.items[0].result:
        case Ok(BigSegmentStoreIntegration() as created):
            tour.request = GetBigSegmentStoreIntegrationRequest(
                tour.project, tour.environment, IntegrationKey.REDIS, created.id
            )
            tour.out.result(f"Ok(ApplyReport): ok={report.ok}, created {created.id}")
            tour.out.note("Applied again, it would plan `= unchanged` and change nothing.")
            return Ok(None)
        case Ok():  # pragma: no cover - a create returns the integration
            return Err(LDStoreError(message="the apply created nothing"))
        case Err(error):
            return Err(error)


async def _list(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading("List the account's integrations")
    tour.out.shell("ldstore list")
    tour.out.python("await get_big_segment_store_integrations(core)")
    match await get_big_segment_store_integrations(tour.core):
        case Ok(collection):
            items = collection.items
            shown = list(items[:5])
            tour.out.result(
                f"Ok(BigSegmentStoreIntegrationCollection): {len(items)} item(s), summaries"
            )
            rows = [("ID", "STORE", "WHERE", "NAME", "ON")]
            rows.extend(
                (
                    item.id,
                    str(item.integration_key),
                    f"{item.project_key}/{item.environment_key}",
                    item.name,
                    "yes" if item.on else "no",
                )
                for item in shown
            )
            widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
            table = [
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                for row in rows
            ]
            if len(items) > len(shown):
                table.append(f"... and {len(items) - len(shown)} more")
            tour.out.result(textwrap.indent("\n".join(line.rstrip() for line in table), "  "))
            tour.out.note("A list leaves each config out: get one to see it.")
            return Ok(None)
        case Err(error):
            return Err(error)


async def _get(tour: _Tour) -> Result[None, LDStoreError]:
    get = tour.created
    tour.heading("Get it by ID: the whole record, config and sync status")
    tour.out.shell(tour.by_id("get"))
    tour.out.python(
        f"""
request = GetBigSegmentStoreIntegrationRequest(
    {_q(get.project_key)}, {_q(get.environment_key)}, "redis", {_q(get.integration_id)})
await get_big_segment_store_integration(core, request)"""
    )
    match await get_big_segment_store_integration(tour.core, get):
        case Ok(integration):
            tour.version = integration.version
            tour.out.result(f"Ok(BigSegmentStoreIntegration):\n{_summary(integration)}")
            tour.out.note("The password went out once; the API only ever shows it masked.")
            return Ok(None)
        case Err(error):
            return Err(error)


def _summary(integration: BigSegmentStoreIntegration) -> str:
    config = " ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in (integration.config or {}).items()
    )
    status = integration.status
    synced = "available" if status.available else "not synced yet"
    fields = (
        ("name", integration.name),
        ("on", f"{'yes' if integration.on else 'no'} (version {integration.version})"),
        ("tags", ", ".join(integration.tags) or "-"),
        ("config", config or "-"),
        ("status", synced),
    )
    return "\n".join(f"  {label + ':':<8}{value}" for label, value in fields)


async def _change_behind_its_back(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading("Meanwhile, someone else changes it")
    tour.out.note("The demo plays that colleague: an unguarded patch, behind its own back.")
    tour.out.shell(tour.by_id("update", f"--add-tag {_OTHER_TAG}"))
    tour.out.python(
        f"""
ops = [add_tag({_q(_OTHER_TAG)})]
await patch_big_segment_store_integration(
    core, PatchBigSegmentStoreIntegrationRequest(..., ops))"""
    )
    match await patch_big_segment_store_integration(tour.core, tour.patch([add_tag(_OTHER_TAG)])):
        case Ok(updated):
            tags = ", ".join(updated.tags)
            tour.out.result(f"Ok: now at version {updated.version}, tags {tags}")
            return Ok(None)
        case Err(error):
            return Err(error)


async def _guarded_update(tour: _Tour) -> Result[None, LDStoreError]:
    version = tour.version
    tour.heading(f"Switch it on, only if it is still at version {version}, as we read it")
    tour.out.shell(tour.by_id("update", f"--if-version {version} --on"))
    tour.out.python(
        f"""
ops = [if_version({version}), set_on(True)]
await patch_big_segment_store_integration(
    core, PatchBigSegmentStoreIntegrationRequest(..., ops))"""
    )
    ops = [if_version(version), set_on(True)]
    match await patch_big_segment_store_integration(tour.core, tour.patch(ops)):
        case Err(StatusConflictError() as conflict):
            tour.out.result(f"Err(StatusConflictError): {conflict}")
            tour.out.note(
                "The 409 is real: the version test failed, so the whole patch was "
                "refused and the other change is not lost. Re-read, then decide."
            )
            return Ok(None)
        case Ok(updated):  # pragma: no cover - only if the server ignored the test
            message = f"the guarded update went through at version {updated.version}"
            return Err(LDStoreError(message=message))
        case Err(error):
            return Err(error)


async def _retry_update(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading("Read it again, and retry at the version it has now")
    match await get_big_segment_store_integration(tour.core, tour.created):
        case Ok(current):
            tour.version = current.version
        case Err(error):
            return Err(error)
    version = tour.version
    tour.out.shell(tour.by_id("update", f"--if-version {version} --on"))
    tour.out.python(
        """
current = await get_big_segment_store_integration(core, request)
ops = [if_version(current.unwrap().version), set_on(True)]
await patch_big_segment_store_integration(
    core, PatchBigSegmentStoreIntegrationRequest(..., ops))"""
    )
    ops = [if_version(version), set_on(True)]
    match await patch_big_segment_store_integration(tour.core, tour.patch(ops)):
        case Ok(updated):
            tags = ", ".join(updated.tags)
            tour.out.result(f"Ok: on={updated.on}, now at version {updated.version}, tags {tags}")
            return Ok(None)
        case Err(error):
            return Err(error)


async def _wait(tour: _Tour) -> Result[None, LDStoreError]:
    timeout = f"{tour.wait_timeout:g}"
    tour.heading("Wait until LaunchDarkly reports the store synced and available")
    tour.out.shell(tour.by_id("wait", f"--for {timeout}"))
    tour.out.python(
        f"await wait_until_available(core, request, timeout={timeout}, poll_interval=0.25)"
    )
    started = time.monotonic()
    match await wait_until_available(
        tour.core, tour.created, timeout=tour.wait_timeout, poll_interval=0.25
    ):
        case Ok(ready):
            waited = time.monotonic() - started
            tour.out.result(f"Ok: {ready.name!r} is available, after {waited:.1f} s of polling")
            return Ok(None)
        case Err(NotAvailableError() as error):
            tour.out.result(f"Err(NotAvailableError): {error}")
            tour.out.note("Expected against a real account: the demo's Redis host does not exist.")
            return Ok(None)
        case Err(error):
            return Err(error)


async def _delete(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading("Delete it")
    tour.out.shell(tour.by_id("delete"))
    tour.out.python(
        """
await delete_big_segment_store_integration(
    core, DeleteBigSegmentStoreIntegrationRequest(...))"""
    )
    match await delete_big_segment_store_integration(tour.core, _delete_request(tour.created)):
        case Ok():
            tour.out.result("Ok(None): deleted (HTTP 204)")
            return Ok(None)
        case Err(error):
            return Err(error)


async def _get_deleted(tour: _Tour) -> Result[None, LDStoreError]:
    tour.heading("Get it again: a 404 arrives as a value to match, not an exception")
    tour.out.shell(tour.by_id("get"))
    tour.out.python(
        """
match await get_big_segment_store_integration(core, request):
    case Ok(integration): ...
    case Err(NotFoundError() as error): print(error)
    case Err(error): ..."""
    )
    match await get_big_segment_store_integration(tour.core, tour.created):
        case Ok(integration):  # pragma: no cover - only if the server kept it
            message = f"the deleted integration {integration.id} is still there"
            return Err(LDStoreError(message=message))
        case Err(NotFoundError() as error):
            tour.out.result(f"Err(NotFoundError): {error}")
            tour.out.note("The `ldstore` command says the same on stderr, and exits 1.")
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
            tour.out.prose(f"(deleted the demo's integration {tour.created.integration_id})")
        case Err(NotFoundError()):
            pass
        case Err(error):
            _ = fail(error)
