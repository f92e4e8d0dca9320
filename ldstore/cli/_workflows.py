"""``wait`` and ``apply``: wait until a store is synced; make integrations match a file."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, TextIO

import attrs

from ldstore.argtypes import duration
from ldstore.cli._asking import on_a_terminal, refused
from ldstore.cli._confirm import Answer, confirm
from ldstore.cli._core import make_core
from ldstore.cli._errors import (
    EXIT_API_ERROR,
    EXIT_NOT_READY,
    EXIT_OK,
    fail,
)
from ldstore.cli._errors import (
    report as report_error,
)
from ldstore.cli._options import (
    DeprecatedFlag,
    Subparsers,
    add_command,
    add_integration_options,
    positive_count,
    positive_seconds,
    seconds,
)
from ldstore.cli._output import emit, integration_label, say_which_defaults, write, yes_no
from ldstore.cli._progress import ApplyProgress
from ldstore.cli._verify import Verified, print_checks, verify
from ldstore.errors import LDStoreError
from ldstore.models import BigSegmentStoreIntegration
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.result import Err, Ok, Result
from ldstore.text import printable
from ldstore.wire import outcomes_to_wire, plan_document, plan_to_wire

if TYPE_CHECKING:  # the workflows load the SDK (aiohttp): only when a command runs
    from ldstore.watch import StoresFile
    from ldstore.workflows import ApplyReport, DesiredIntegration, ItemOutcome, Plan, PlanItem

__all__ = ["register"]

_WAIT_EXAMPLES = """\
  ldstore wait --project default --environment production --integration redis \\
      --integration-id 6500d7a1e1c2b3a4f5e6d7c8 --for 10m
  ldstore --timeout 10 wait ...     # 10 s per request (as everywhere), 5 min in all
  ldstore wait ... --request-timeout 10 --output json"""

_APPLY_EXAMPLES = """\
  ldstore apply -f stores.toml --dry-run     # show the plan, change nothing
  ldstore apply -f stores.toml               # make it so
  ldstore apply -f stores.toml --prune       # also delete what the file leaves out (asks)
  ldstore apply -f stores.toml --prune --yes # the same in a script: no question
  ldstore apply -f stores.json --output json

stores.toml:
  [[integration]]
  project = "default"
  environment = "production"
  store = "redis"                    # or "dynamodb"
  name = "Production Redis"
  on = true
  tags = ["team:platform"]
  rotate_secrets = false             # true: send the password on update too

  [integration.config]               # the API's own keys
  host = "redis.internal"
  port = 6380
  tlsEnabled = true
  password = { env = "REDIS_PASSWORD" }"""

_PLAN_EXAMPLES = """\
  ldstore plan -f stores.toml                           # what apply would change
  ldstore plan -f stores.toml --detailed-exitcode       # CI: 0 none, 2 changes, 1 error
  ldstore plan -f stores.toml --output json             # the plan document (format_version 1)
  ldstore plan -f stores.toml --output markdown >> "$GITHUB_STEP_SUMMARY"
  ldstore plan -f stores.toml --prune                   # include what --prune would delete"""

_PAST = {"create": "created", "update": "updated", "delete": "deleted", "unchanged": "unchanged"}


def register(subparsers: Subparsers) -> None:
    """Add the ``wait`` and ``apply`` subcommands."""
    wait = add_command(
        subparsers,
        "wait",
        examples=_WAIT_EXAMPLES,
        output=True,
        quiet=True,
        # Here --timeout is the whole wait; one request's is --request-timeout (or
        # --timeout before `wait`).
        timeout_flag="--request-timeout",
    )
    add_integration_options(wait, with_id=True)
    waiting = wait.add_argument_group("waiting")
    _ = waiting.add_argument(
        "--for",
        dest="wait_timeout",
        type=duration,
        default=300.0,
        metavar="DURATION",
        help="give up after this long in all: 90, 90s, 10m or 1h (default: 5m)",
    )
    _ = waiting.add_argument(  # the old name, kept for one release (issue 27)
        "--timeout",
        dest="wait_timeout",
        action=DeprecatedFlag,
        instead="--for (--timeout before `wait` is one request's timeout)",
        type=seconds,
        metavar="SECONDS",
        help="deprecated: the old name of --for",
    )
    _ = waiting.add_argument(
        "--interval",
        type=positive_seconds,
        default=2.0,
        metavar="SECONDS",
        help="poll after this long at first, backing off to 30 s (default: 2)",
    )
    _ = waiting.add_argument(
        "--fail-fast",
        action="store_true",
        help="stop at once when the store reports errors, rather than waiting for them to clear",
    )
    wait.set_defaults(run=run_wait)

    apply_ = add_command(
        subparsers,
        "apply",
        description="Create, update (and with --prune delete) integrations to match a "
        "file. With --prune, on a terminal it shows the plan and asks before deleting; "
        "elsewhere it needs --yes, and without it sends nothing and exits 2.",
        examples=_APPLY_EXAMPLES,
        output=True,  # -q is not offered: apply prints its plan
    )
    _ = apply_.add_argument(
        "-f",
        "--file",
        required=True,
        metavar="FILE",
        help="the desired integrations, a .toml or .json file (format below)",
    )
    _ = apply_.add_argument(
        "--prune",
        action="store_true",
        help="delete integrations the file does not list, within the projects, "
        "environments and store kinds it mentions",
    )
    _ = apply_.add_argument(
        "--dry-run", action="store_true", help="print the plan and change nothing"
    )
    _ = apply_.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="delete without asking with --prune (needed off a terminal)",
    )
    _ = apply_.add_argument(
        "--concurrency",
        type=positive_count,
        default=8,
        metavar="N",
        help="change up to N integrations at once (default: 8)",
    )
    _ = apply_.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress line on a terminal (the plan and outcomes are still printed)",
    )
    _ = apply_.add_argument(
        "--verify",
        action="store_true",
        help="then wait until every created or changed integration that is on is "
        "available (exit 4, naming it, when one is not)",
    )
    _ = apply_.add_argument(
        "--stores",
        metavar="FILE",
        help="with --verify: also read each store this file maps (the stores file of "
        "`ldstore watch`) and require the doctor's checks to pass",
    )
    _ = apply_.add_argument(
        "--verify-timeout",
        type=duration,
        default=300.0,
        metavar="DURATION",
        help="how long --verify waits in all: 30s, 5m, 1h or seconds (default: 5m)",
    )
    apply_.set_defaults(run=run_apply)

    plan_ = add_command(
        subparsers,
        "plan",
        description="Show what `ldstore apply -f FILE` would change, changing nothing (the "
        "same as `apply --dry-run`). With --detailed-exitcode, as Terraform's: 0 when "
        "nothing would change, 2 when something would, 1 for every error (bad file, "
        "unset variable, API error). --output json prints the plan document "
        '{"format_version": "1", "changes": [...]} (secrets masked); --output markdown '
        "a summary and a table per project/environment, for a pull-request comment.",
        examples=_PLAN_EXAMPLES,
    )
    _ = plan_.add_argument(
        "-f", "--file", required=True, metavar="FILE", help="the desired integrations"
    )
    _ = plan_.add_argument(
        "--prune", action="store_true", help="also plan deleting what the file leaves out"
    )
    _ = plan_.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 for no changes, 2 for changes, 1 for any error",
    )
    _ = plan_.add_argument(
        "-o",
        "--output",
        dest="plan_output",
        choices=("table", "plaintext", "json", "markdown"),
        help="table (default), json (the plan document) or markdown",
    )
    plan_.set_defaults(run=run_plan)


# wait


class Progress:
    """Shows each poll: one line rewritten in place on a terminal, else a line per poll."""

    def __init__(self, stream: TextIO, *, live: bool, quiet: bool) -> None:
        self._stream = stream
        self._live = live
        self._quiet = quiet
        self._width = 0

    def __call__(self, integration: BigSegmentStoreIntegration, elapsed: float) -> None:
        if self._quiet:
            return
        status = integration.status
        last_sync = status.last_sync.isoformat(timespec="seconds") if status.last_sync else "never"
        line = (
            f"waiting {elapsed:5.1f}s: available {yes_no(status.available)}, "
            f"stale {yes_no(status.potentially_stale)}, last sync {last_sync}"
        )
        if status.errors:
            line += f", {len(status.errors)} error(s)"
        if self._live:
            padding = " " * max(0, self._width - len(line))
            self._width = len(line)
            _ = self._stream.write(f"\r{line}{padding}")
        else:
            _ = self._stream.write(f"ldstore: {line}\n")
        self._stream.flush()

    def finish(self) -> None:
        """End the in-place line so what follows starts on its own."""
        if self._live and self._width:
            _ = self._stream.write("\n")
            self._stream.flush()


async def run_wait(args: argparse.Namespace) -> int:
    """``ldstore wait``: 0 once available, 4 when it is not in time, else the error's code."""
    request = GetBigSegmentStoreIntegrationRequest(
        project_key=args.project,
        environment_key=args.environment,
        integration_key=args.integration,
        integration_id=args.integration_id,
    )
    # With --output json, stderr holds only an error object: no progress lines either.
    quiet = bool(args.quiet) or args.output == "json"
    say_which_defaults(args, how="waiting in", hint="--project and --environment choose others")
    progress = Progress(sys.stderr, live=sys.stderr.isatty(), quiet=quiet)
    started = time.monotonic()
    from ldstore.workflows import NotAvailableError, wait_until_available  # noqa: PLC0415

    async with make_core(args) as core:
        try:
            result = await wait_until_available(
                core,
                request,
                timeout=args.wait_timeout,
                poll_interval=args.interval,
                max_poll_interval=max(args.interval, 30.0),
                fail_fast=bool(args.fail_fast),
                on_poll=progress,
            )
        finally:
            progress.finish()  # end the progress line, even on Ctrl-C (main says "interrupted")
    match result:
        case Ok(integration):
            if args.quiet or args.output == "json":
                emit(args, integration)
            else:
                waited = time.monotonic() - started
                write(f"available after {waited:.1f}s: {integration_label(integration)}")
            return EXIT_OK
        case Err(NotAvailableError() as error):
            report_error(str(error), kind=type(error).__name__, error=error)
            return EXIT_NOT_READY
        case Err(error):
            return fail(error)


def _shown(item: PlanItem) -> str:
    """``str(item)``, with every key and change escaped (the name is already repr'd)."""
    return str(
        attrs.evolve(
            item,
            project_key=printable(item.project_key),
            environment_key=printable(item.environment_key),
            integration_key=printable(str(item.integration_key)),
            integration_id=None if item.integration_id is None else printable(item.integration_id),
            changes=tuple(map(printable, item.changes)),
        )
    )


# apply


async def run_apply(args: argparse.Namespace) -> int:
    """``ldstore apply``: print the plan, carry it out unless ``--dry-run``, print outcomes."""
    if args.prune and not args.dry_run and not args.yes and not on_a_terminal():
        return refused(Answer.NOT_A_TERMINAL, "apply --prune")
    from ldstore.workflows import apply, plan  # noqa: PLC0415

    inputs = _apply_inputs(args)
    if isinstance(inputs, Err):
        return fail(inputs.error)
    desired, stores = inputs.value
    as_json = args.output == "json"
    async with make_core(args) as core:
        planned = await plan(core, desired, prune=bool(args.prune))
        if isinstance(planned, Err):
            return fail(planned.error)
        steps = planned.value
        if not as_json:
            _print_plan(steps, prune=bool(args.prune))
        if args.dry_run or not steps.changes:
            if as_json:
                write(
                    json.dumps(
                        {"dryRun": bool(args.dry_run), "plan": plan_to_wire(steps)}, indent=2
                    )
                )
            return EXIT_OK
        answer = _confirm_deletions(steps, assume_yes=bool(args.yes), as_json=as_json)
        if answer is not Answer.YES:
            return refused(answer, "apply --prune")
        live = not as_json and not args.quiet and sys.stderr.isatty()
        async with ApplyProgress.shown(core, len(steps.changes), live=live):
            applied = await apply(core, steps, concurrency=args.concurrency)
        checks: list[Verified] | None = None
        if args.verify and isinstance(applied, Ok) and applied.value.ok:
            checks = await verify(core, applied.value, args.verify_timeout, stores)
    return _outcomes(steps, applied, checks, as_json=as_json)


def _apply_inputs(
    args: argparse.Namespace,
) -> Result[tuple[list[DesiredIntegration], StoresFile | None], LDStoreError]:
    """The apply file, and the stores file of ``--stores`` (None without): both read and
    checked before anything is sent."""
    from ldstore.workflows import load_desired  # noqa: PLC0415

    desired = load_desired(args.file)
    if isinstance(desired, Err):
        return desired
    if args.stores is None:
        return Ok((desired.value, None))
    from ldstore.watch import load_stores  # noqa: PLC0415 - only with --stores

    return load_stores(args.stores).map(lambda stores: (desired.value, stores))


def _outcomes(
    steps: Plan,
    applied: Result[ApplyReport, LDStoreError],
    checks: list[Verified] | None,
    *,
    as_json: bool,
) -> int:
    if isinstance(applied, Err):  # only for a bad concurrency, which argparse refuses
        return fail(applied.error)
    report = applied.value
    if as_json:
        document: dict[str, object] = {
            "dryRun": False,
            "plan": plan_to_wire(steps),
            "outcomes": outcomes_to_wire(report),
        }
        if checks is not None:
            document["verified"] = [check.to_wire() for check in checks]
        write(json.dumps(document, indent=2))
    else:
        _print_report(report)
        if checks is not None:
            print_checks(checks)
    if not report.ok:
        report_error(
            f"{len(report.failed)} of {len(steps.changes)} changes failed", kind="ApplyError"
        )
        return EXIT_API_ERROR
    failed = [check for check in checks or () if not check.ok]
    if failed:
        names = ", ".join(f"{check.item.name!r} ({check.failed_check})" for check in failed)
        report_error(
            f"{len(failed)} of {len(checks or ())} integrations did not verify: {names}",
            kind="NotAvailableError",
        )
        return EXIT_NOT_READY
    return EXIT_OK


def _confirm_deletions(steps: Plan, *, assume_yes: bool, as_json: bool) -> Answer:
    deletions = [item for item in steps.items if item.action == "delete"]
    if not deletions:
        return Answer.YES
    if as_json and not assume_yes and on_a_terminal():  # the plan went to stdout as JSON
        _ = sys.stderr.write("".join(f"{_shown(item)}\n" for item in deletions))
    return confirm(
        f"Delete the {len(deletions)} integration(s) marked - above?", assume_yes=assume_yes
    )


def _print_plan(steps: Plan, *, prune: bool) -> None:
    for item in steps.items:
        write(_shown(item))
    counts = Counter(item.action for item in steps.items)
    write(
        f"\nPlan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['unchanged']} unchanged."
    )
    if steps.unmatched and not prune:
        write(
            f"{len(steps.unmatched)} integration(s) in these scopes are not in the file; "
            "--prune would delete them."
        )


def _print_report(report: ApplyReport) -> None:
    write()
    for outcome in report.items:
        if outcome.item.action == "unchanged":
            continue
        write(_outcome_line(outcome))
    done = sum(1 for outcome in report.items if outcome.ok and outcome.item.action != "unchanged")
    write(f"\nApplied: {done} changed, {len(report.failed)} failed.")


def _outcome_line(outcome: ItemOutcome) -> str:
    item = outcome.item
    where = printable(
        f"{item.integration_key} {item.project_key}/{item.environment_key} {item.name!r}"
    )
    match outcome.result:
        case Ok(value):
            integration_id = value.id if value is not None else item.integration_id
            return f"{_PAST[item.action]} {where} ({printable(str(integration_id))})"
        case Err(error):
            return f"failed to {item.action} {where}: {' '.join(str(error).split())}"


# plan


async def run_plan(args: argparse.Namespace) -> int:
    """``ldstore plan``: print the plan in the format asked; the exit code says whether
    anything would change when ``--detailed-exitcode`` is given."""
    output = args.plan_output or args.output
    detailed = bool(args.detailed_exitcode)
    from ldstore.workflows import load_desired, plan  # noqa: PLC0415

    desired = load_desired(args.file)
    if isinstance(desired, Err):
        code = fail(desired.error)
        return EXIT_API_ERROR if detailed else code
    async with make_core(args) as core:
        planned = await plan(core, desired.value, prune=bool(args.prune))
    if isinstance(planned, Err):
        code = fail(planned.error)
        return EXIT_API_ERROR if detailed else code
    steps = planned.value
    if output == "json":
        write(json.dumps(plan_document(steps), indent=2, ensure_ascii=False))
    elif output == "markdown":
        write(plan_markdown(steps))
    else:
        _print_plan(steps, prune=bool(args.prune))
    return _CHANGES_PRESENT if detailed and steps.changes else EXIT_OK


_CHANGES_PRESENT = 2  # --detailed-exitcode, as Terraform's plan


def plan_markdown(steps: Plan) -> str:
    """The plan for a pull-request comment: a summary line, then a table per
    project/environment; names escaped, secrets masked."""
    counts = Counter(item.action for item in steps.items)
    lines = [
        (
            f"**ldstore plan:** {counts['create']} to create, {counts['update']} to update, "
            f"{counts['delete']} to delete, {counts['unchanged']} unchanged."
        )
    ]
    scopes: dict[tuple[str, str], list[PlanItem]] = {}
    for item in steps.items:
        scopes.setdefault((item.project_key, item.environment_key), []).append(item)
    for (project, environment), items in scopes.items():
        lines += [
            "",
            f"### {_md(project)} / {_md(environment)}",
            "",
            "| Action | Store | Name | ID | Changes |",
            "| --- | --- | --- | --- | --- |",
        ]
        for item in items:
            changes = "<br>".join(_md(change) for change in item.changes) or "(none)"
            lines.append(
                f"| {_SYMBOLS_MD[item.action]} | {_md(str(item.integration_key))} | "
                f"{_md(item.name)} | {_md(item.integration_id or '(new)')} | {changes} |"
            )
    return "\n".join(lines)


_SYMBOLS_MD = {
    "create": "+ create",
    "update": "~ update",
    "delete": "- delete",
    "unchanged": "= unchanged",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~-])")


def _md(text: str) -> str:
    """Server data in a Markdown table cell: control characters escaped (``printable``),
    then every character Markdown or HTML would read as markup."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text))
