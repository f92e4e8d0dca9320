"""``export``: write what exists as an apply file (TOML, JSON) or as Terraform."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ldstore.cli._core import make_core
from ldstore.cli._errors import EXIT_OK, EXIT_USAGE, error_line, fail
from ldstore.cli._options import (
    Subparsers,
    add_all_option,
    add_command,
    add_integration_options,
    add_tag_filter,
)
from ldstore.cli._output import say_which_defaults, write
from ldstore.models import BigSegmentStoreIntegration
from ldstore.result import Err
from ldstore.text import printable

__all__ = ["register"]

_EXAMPLES = """\
  ldstore export > stores.toml              # every integration, secrets as env references
  ldstore export --project default --environment production --file stores.toml
  ldstore export --tag team-a --store redis --format json
  ldstore export --format terraform --file stores.tf --force
  ldstore plan -f stores.toml               # the round trip: no changes"""


def register(subparsers: Subparsers) -> None:
    """Add the ``export`` subcommand."""
    parser = add_command(
        subparsers,
        "export",
        description="Write every integration the filters select as an apply file for "
        "`ldstore plan`/`apply` (TOML, or JSON), or as Terraform for LaunchDarkly's "
        "provider. Secrets are never read back by the API: each becomes an environment "
        "reference (TOML/JSON) or a sensitive variable (Terraform), whose names are "
        "listed on stderr. Planning the exported file against the same account shows no "
        "changes.",
        examples=_EXAMPLES,
    )
    add_integration_options(parser, with_id=False, required=False)
    filters = parser.add_argument_group("filters")
    add_all_option(filters)
    _ = filters.add_argument(
        "--store",
        choices=("redis", "dynamodb"),
        help="only this store kind (the same as --integration)",
    )
    add_tag_filter(filters)
    written = parser.add_argument_group("the file")
    _ = written.add_argument(
        "--format",
        choices=("toml", "json", "terraform"),
        default="toml",
        help="toml (default) or json: an apply file; terraform: import blocks and resources",
    )
    _ = written.add_argument(
        "--file", metavar="PATH", help="write here instead of to stdout (refuses an existing file)"
    )
    _ = written.add_argument(
        "--force", action="store_true", help="with --file: replace an existing file"
    )
    parser.set_defaults(run=run_export)


async def run_export(args: argparse.Namespace) -> int:
    """``ldstore export``: 0 once written; the error's code otherwise (nothing written)."""
    target = Path(args.file) if args.file else None
    if target is not None and target.exists() and not args.force:
        error_line(f"{target} exists: pass --force to replace it")
        return EXIT_USAGE
    from ldstore.workflows import (  # noqa: PLC0415 - the SDK loads when a command runs
        export,
        render_json,
        render_terraform,
        render_toml,
        terraform_variables,
    )

    async with make_core(args) as core:
        exported = await export(
            core,
            project_key=args.project,
            environment_key=args.environment,
            integration_key=args.store or args.integration,
            tags=args.tag,
        )
    if isinstance(exported, Err):
        return fail(exported.error)
    say_which_defaults(args, how="filtered by", hint="--all to export every one")
    if args.format == "json":
        text = render_json(exported.value)
    else:
        rendered = (render_terraform if args.format == "terraform" else render_toml)(exported.value)
        if isinstance(rendered, Err):
            return fail(rendered.error)
        text = rendered.value
    if target is None:
        write(text.rstrip("\n"))
    else:
        try:
            _write_new(target, text, replace=bool(args.force))
        except OSError as error:
            error_line(f"cannot write {target}: {error.strerror or error}")
            return EXIT_USAGE
    for skipped in exported.value.skipped:
        _note(
            f"skipped {_where(skipped)} ({printable(skipped.id)}):"
            " a store kind this release cannot write an apply file for"
        )
    terraform = args.format == "terraform"
    variables = terraform_variables(exported.value) if terraform else exported.value.variables
    if variables:
        kind = "Terraform variables (TF_VAR_name)" if terraform else "environment variables"
        _note(f"set these {kind} to the secrets the API never shows, before planning:")
        for variable, item in variables:
            _ = sys.stderr.write(f"  {variable}  # {_where(item.integration)}\n")
    return EXIT_OK


def _where(integration: BigSegmentStoreIntegration) -> str:
    return (
        f"{printable(str(integration.integration_key))} {printable(integration.project_key)}/"
        f"{printable(integration.environment_key)} {printable(integration.name)!r}"
    )


def _note(text: str) -> None:
    _ = sys.stderr.write(f"ldstore: {text}\n")


def _write_new(target: Path, text: str, *, replace: bool) -> None:
    """Write ``text`` to ``target``; without ``replace``, fail if it appeared meanwhile."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    descriptor = os.open(target, flags, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        _ = file.write(text)
