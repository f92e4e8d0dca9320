"""``list``, ``get``, ``create``, ``update`` and ``delete``: the five operations, one each."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import attrs

from ldstore.argtypes import non_empty
from ldstore.cli._asking import on_a_terminal, refused
from ldstore.cli._confirm import Answer, confirm
from ldstore.cli._core import make_core
from ldstore.cli._errors import EXIT_OK, UsageError, fail
from ldstore.cli._options import (
    Subparsers,
    add_all_option,
    add_command,
    add_integration_options,
    add_tag_filter,
)
from ldstore.cli._output import finish, note, render_integration, say_which_defaults, write
from ldstore.cli._store import (
    add_store_flags,
    read_patch,
    set_config_operation,
    store_config,
    unset_config_operation,
)
from ldstore.models import (
    BigSegmentStoreIntegration,
    IntegrationDeliveryConfigurationPost,
)
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import (
    PatchBody,
    PatchOperation,
    PatchWithComment,
    if_version,
    replace_name,
    replace_tags,
    set_on,
)
from ldstore.result import Err, Ok

__all__ = ["register"]

_SCOPE = "--project default --environment production --integration redis"
_BY_ID = f"{_SCOPE} \\\n      --integration-id ID"


def register(subparsers: Subparsers) -> None:
    _list(subparsers)
    _get(subparsers)
    _create(subparsers)
    _update(subparsers)
    _delete(subparsers)


# list


def _list(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "list",
        description="List the account's persistent store integrations: all of them, unless "
        "--project or --environment narrow the list, given as flags or as defaults from "
        "LD_PROJECT, LD_ENVIRONMENT or the config file (a line on stderr says when a "
        "default narrowed it; --all ignores those defaults). The API sends summaries: use "
        "`get` to see one integration's config. The filters apply here, after the API "
        "answered; every filter given must match.",
        examples="""\
  ldstore list
  ldstore list --project default --integration redis --output json
  ldstore list --environment production --quiet     # IDs only
  ldstore list --tag team-a --tag prod --on --status stale
  ldstore list --name "Prod Redis" --output plaintext
  ldstore list --all                                # ignore LD_PROJECT and the config file""",
        output=True,
        quiet=True,
    )
    add_integration_options(parser, with_id=False, required=False)
    filters = parser.add_argument_group("filters")
    add_all_option(filters)
    _ = filters.add_argument(
        "--name", type=non_empty, help="only the integration with exactly this name"
    )
    add_tag_filter(filters)
    _on_off(
        filters, default=None, on_help="only those switched on", off_help="only those switched off"
    )
    _ = filters.add_argument(
        "--status",
        choices=_STATUSES,
        help="only those LaunchDarkly reports available, unavailable, or potentially stale",
    )
    parser.set_defaults(run=_run_list)


async def _run_list(args: argparse.Namespace) -> int:
    from ldstore import funcs  # noqa: PLC0415 - the SDK loads when a command runs

    async with make_core(args) as core:
        result = await funcs.get_big_segment_store_integrations(core)
    if isinstance(result, Err):
        return fail(result.error)
    say_which_defaults(args, how="filtered by", hint="--all to see every one")
    everything = result.value.items
    tests = _filters(args)
    kept = tuple(item for item in everything if all(test(item) for _, test in tests))
    if not kept and tests and args.output == "table" and not args.quiet:
        alone = [flag for flag, test in tests if not any(test(item) for item in everything)]
        named = " ".join(alone) or " ".join(flag for flag, _ in tests)
        which = "" if alone or len(tests) == 1 else "all of "
        note(f"no integrations matched {which}{named}")
        return EXIT_OK
    return finish(args, Ok(attrs.evolve(result.value, items=kept)))


_STATUSES = ("available", "unavailable", "stale")
_Test = Callable[[BigSegmentStoreIntegration], bool]


def _filters(args: argparse.Namespace) -> list[tuple[str, _Test]]:
    """Each filter given, as the flag that set it and a test an integration must pass."""
    tests: list[tuple[str, _Test]] = []

    def equal(
        flag: str, wanted: str | None, field: Callable[[BigSegmentStoreIntegration], str]
    ) -> None:
        if wanted is not None:
            tests.append((f"{flag} {wanted}", lambda item: field(item) == wanted))

    equal("--project", args.project, lambda item: item.project_key)
    equal("--environment", args.environment, lambda item: item.environment_key)
    equal("--integration", args.integration, lambda item: str(item.integration_key))
    equal("--name", args.name, lambda item: item.name)
    tests.extend((f"--tag {tag}", _has_tag(tag)) for tag in args.tag)
    if args.on is not None:
        on: bool = args.on
        tests.append(("--on" if on else "--off", lambda item: item.on is on))
    status: str | None = args.status
    if status is not None:
        tests.append((f"--status {status}", lambda item: _has_status(item, status)))
    return tests


def _has_tag(tag: str) -> _Test:
    return lambda item: tag in item.tags


def _has_status(item: BigSegmentStoreIntegration, status: str) -> bool:
    if status == "stale":
        return item.status.potentially_stale is True
    return (item.status.available is True) == (status == "available")


# get


def _get(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "get",
        description="Show one persistent store integration with its config (secrets come "
        "back masked) and its sync status.",
        examples=f"""\
  ldstore get {_BY_ID}
  ldstore get {_BY_ID} --output json""",
        output=True,
        quiet=True,
    )
    add_integration_options(parser, with_id=True)
    parser.set_defaults(run=_run_get)


def _get_request(args: argparse.Namespace) -> GetBigSegmentStoreIntegrationRequest:
    return GetBigSegmentStoreIntegrationRequest(
        args.project, args.environment, args.integration, args.integration_id
    )


async def _run_get(args: argparse.Namespace) -> int:
    from ldstore import funcs  # noqa: PLC0415 - the SDK loads when a command runs

    async with make_core(args) as core:
        result = await funcs.get_big_segment_store_integration(core, _get_request(args))
    return finish(args, result)


# create


def _create(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "create",
        description="Create a persistent store integration. Give the Redis flags with "
        "--integration redis and the DynamoDB flags with --integration dynamodb. "
        "It starts off unless --on is given.",
        examples=f"""\
  ldstore create {_SCOPE} --name "Prod Redis" \\
      --host redis.internal --port 6380 --tls --password-stdin < password.txt
  ldstore create --project default --environment production --integration dynamodb \\
      --name "Prod DynamoDB" --table-name ld-segments --region us-east-1 \\
      --role-arn arn:aws:iam::123456789012:role/ld --external-id ext-123 --on""",
        output=True,
        quiet=True,
    )
    add_integration_options(parser, with_id=False)
    common = parser.add_argument_group("integration settings")
    _ = common.add_argument("--name", type=non_empty, help="a name, unique in the environment")
    _ = common.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="a tag (repeatable)"
    )
    _on_off(
        common, default=False, on_help="switch it on at once", off_help="leave it off (default)"
    )
    add_store_flags(parser)
    parser.set_defaults(run=_run_create)


def _on_off(
    group: argparse._ArgumentGroup,  # pyright: ignore[reportPrivateUsage]
    *,
    default: bool | None,
    on_help: str,
    off_help: str,
) -> None:
    choice = group.add_mutually_exclusive_group()
    _ = choice.add_argument("--on", dest="on", action="store_const", const=True, help=on_help)
    _ = choice.add_argument("--off", dest="on", action="store_const", const=False, help=off_help)
    group.set_defaults(on=default)


def _prompt_for_password(args: argparse.Namespace) -> None:
    """--password-stdin at a terminal: ask without echo, rather than wait in silence."""
    if not (getattr(args, "password_stdin", None) and sys.stdin.isatty()):
        return
    import getpass  # noqa: PLC0415 - only this prompt needs it

    password = getpass.getpass("Redis password: ")
    if not password:
        msg = "--password-stdin: no password was typed"
        raise UsageError(msg)
    args.password, args.password_stdin = password, None


async def _run_create(args: argparse.Namespace) -> int:
    from ldstore import funcs  # noqa: PLC0415 - the SDK loads when a command runs

    _prompt_for_password(args)
    body = IntegrationDeliveryConfigurationPost(
        config=store_config(args), on=args.on, tags=args.tag or None, name=args.name
    )
    request = CreateBigSegmentStoreIntegrationRequest(
        args.project, args.environment, args.integration, body
    )
    async with make_core(args) as core:
        result = await funcs.create_big_segment_store_integration(core, request)
    return finish(args, result)


# update


def _update(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "update",
        description="Change one integration with a JSON Patch built from the flags, in this "
        "order: --if-version's test, --name, --on/--off, the tags, the config, then the "
        "operations of --patch. --add-tag and --remove-tag read the integration first and "
        "guard the update with the version they read (409 if it changed meanwhile).",
        examples=f"""\
  ldstore update {_BY_ID} --name "Prod Redis" --on
  ldstore update {_BY_ID} --if-version 3 \\
      --set-config port=6380 --set-config tlsEnabled=true --comment "move to the TLS port"
  ldstore update {_BY_ID} --add-tag team-a --remove-tag legacy
  ldstore update {_BY_ID} --patch changes.json
  echo '[{{"op": "replace", "path": "/on", "value": false}}]' | \\
      ldstore update {_BY_ID} --patch -""",
        output=True,
        quiet=True,
    )
    add_integration_options(parser, with_id=True)
    changes = parser.add_argument_group("changes")
    _ = changes.add_argument("--name", type=non_empty, help="rename it")
    _on_off(changes, default=None, on_help="switch it on", off_help="switch it off")
    _ = changes.add_argument(
        "--add-tag", action="append", default=[], metavar="TAG", help="add a tag (repeatable)"
    )
    _ = changes.add_argument(
        "--remove-tag", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)"
    )
    _ = changes.add_argument(
        "--set-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a config key, e.g. host=..., port=6380, tlsEnabled=true, region=us-east-2 "
        "(repeatable; table-name and table_name mean tableName)",
    )
    _ = changes.add_argument(
        "--unset-config", action="append", default=[], metavar="KEY", help="remove a config key"
    )
    _ = changes.add_argument(
        "--patch",
        metavar="FILE",
        help="a JSON Patch array (or {comment, patch} object) from FILE, or stdin with -",
    )
    guard = parser.add_argument_group("audit and concurrency")
    _ = guard.add_argument("--comment", help="a comment for the audit log")
    _ = guard.add_argument(
        "--if-version",
        type=int,
        metavar="N",
        help="apply only if the integration is still at version N (else HTTP 409, exit 1)",
    )
    parser.set_defaults(run=_run_update)


async def _run_update(args: argparse.Namespace) -> int:
    from ldstore import funcs  # noqa: PLC0415 - the SDK loads when a command runs

    changes: list[PatchOperation] = []
    if args.name is not None:
        changes.append(replace_name(args.name))
    if args.on is not None:
        changes.append(set_on(args.on))
    config = [set_config_operation(args.integration, item) for item in args.set_config]
    config += [unset_config_operation(args.integration, key) for key in args.unset_config]
    raw, raw_comment = read_patch(args.patch) if args.patch is not None else ([], None)
    retag = bool(args.add_tag or args.remove_tag)
    if not (changes or config or raw or retag):
        msg = "nothing to update: give --name, --on/--off, tags, config or --patch"
        raise UsageError(msg)
    comment: str | None = args.comment if args.comment is not None else raw_comment
    version: int | None = args.if_version
    async with make_core(args) as core:
        if retag:
            match await funcs.get_big_segment_store_integration(core, _get_request(args)):
                case Ok(current):
                    _say_which_tags_change_nothing(current.tags, args)
                    tags = _retagged(current.tags, args)
                    if tags != list(current.tags):
                        changes.append(replace_tags(tags))
                    # Guard the read-modify-write: a concurrent change gives 409, not a lost tag.
                    version = current.version if version is None else version
                case Err(error):
                    return fail(error)
            if not (changes or config or raw):
                note(f"nothing to update: the tags of {args.integration_id} are already so")
                return EXIT_OK
        operations = [*([] if version is None else [if_version(version)]), *changes, *config, *raw]
        body: PatchBody = operations if comment is None else PatchWithComment(operations, comment)
        request = PatchBigSegmentStoreIntegrationRequest(
            args.project, args.environment, args.integration, args.integration_id, body
        )
        result = await funcs.patch_big_segment_store_integration(core, request)
    return finish(args, result)


def _say_which_tags_change_nothing(tags: Sequence[str], args: argparse.Namespace) -> None:
    for tag in args.remove_tag:
        if tag not in tags:
            note(f"tag {tag!r} was not set: nothing to remove")
    for tag in args.add_tag:
        if tag in tags:
            note(f"tag {tag!r} is already set")


def _retagged(tags: Sequence[str], args: argparse.Namespace) -> list[str]:
    removed = set(args.remove_tag)
    kept = [tag for tag in tags if tag not in removed]
    for tag in args.add_tag:
        if tag not in kept:
            kept.append(tag)
    return kept


# delete


def _delete(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "delete",
        description="Delete one integration. LaunchDarkly stops syncing the store; the "
        "store's data is left as it is. On a terminal it shows the integration and asks "
        "first; elsewhere (a script, CI) it needs --yes, and without it sends nothing and "
        "exits 2. Answering no prints `nothing deleted` and exits 2 as well (a refused "
        "confirmation). Prints `deleted ID` (nothing with --quiet or --output json: the "
        "API answers 204 without a body).",
        examples=f"""\
  ldstore delete {_BY_ID}
  ldstore delete {_BY_ID} --yes     # no question (scripts)""",
        output=True,
        quiet=True,
    )
    add_integration_options(parser, with_id=True)
    _ = parser.add_argument(
        "-y", "--yes", action="store_true", help="delete without asking (needed off a terminal)"
    )
    parser.set_defaults(run=_run_delete)


async def _run_delete(args: argparse.Namespace) -> int:
    from ldstore import funcs  # noqa: PLC0415 - the SDK loads when a command runs

    request = DeleteBigSegmentStoreIntegrationRequest(
        args.project, args.environment, args.integration, args.integration_id
    )
    async with make_core(args) as core:
        if not args.yes and on_a_terminal():
            # Show what would go: a read, before anything is changed.
            found = await funcs.get_big_segment_store_integration(core, _get_request(args))
            if isinstance(found, Err):
                return fail(found.error)
            _ = sys.stderr.write(f"{render_integration(found.value)}\n")
        answer = confirm(
            f"Delete {args.integration} integration {args.integration_id} in "
            f"{args.project}/{args.environment}?",
            assume_yes=bool(args.yes),
        )
        if answer is not Answer.YES:
            return refused(answer, "delete", undone="nothing deleted")
        result = await funcs.delete_big_segment_store_integration(core, request)
    match result:
        case Ok():
            if not args.quiet and args.output == "table":
                write(f"deleted {args.integration_id}")
            return EXIT_OK
        case Err(error):
            return fail(error)
