"""The command line's flags: the shared ones, how they parse, and what a mistyped one says.

Connection, output and scope flags work before or after the command
(``ldstore --project p list`` and ``ldstore list --project p``); abbreviations are off,
so a future flag cannot change what an old script means; an unknown flag shows the
command's own usage and the closest flag. No parse error echoes a value that might be a
secret: values after ``--access-token``, ``--password`` and any unknown flag are redacted.
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeAlias, cast

from ldstore import argtypes
from ldstore.cli import _catalog
from ldstore.cli._errors import EXIT_USAGE, error_line, json_errors, remember_secret

__all__ = [
    "DEFAULT_RETRY_BUDGET",
    "ENVIRONMENT_HELP",
    "OUTPUT_CHOICES",
    "DeprecatedFlag",
    "Parser",
    "Subparsers",
    "add_all_option",
    "add_command",
    "add_connection_options",
    "add_global_options",
    "add_integration_options",
    "add_output_options",
    "add_tag_filter",
    "parse_command_line",
    "positive_count",
    "positive_seconds",
    "rate_share",
    "seconds",
]

ENVIRONMENT_HELP = """\
environment (flags win over the environment, which wins over the config file):
  LD_ACCESS_TOKEN  the access token (API access token, not an SDK key)
  LD_BASE_URI      the API's base URL (default https://app.launchdarkly.com)
  LD_PROJECT       the default --project
  LD_ENVIRONMENT   the default --environment
  LD_OUTPUT        the default --output: json or plaintext
  LDSTORE_CONFIG   the config file, TOML (default $XDG_CONFIG_HOME/ldstore/config.toml);
                   `ldstore config --set KEY VALUE` writes it"""

OUTPUT_CHOICES = ("table", "plaintext", "json")  # plaintext is ldcli's name for table
DEFAULT_RETRY_BUDGET = 30.0  # outlasts LaunchDarkly's 10-second rate-limit window

# The value types, defined once in ldstore.argtypes (the fake's command shares them), for
# the command modules that import them from here.
positive_count = argtypes.positive_count
positive_seconds = argtypes.positive_seconds
seconds = argtypes.seconds

_MAX_SHARE_CHARS = 32  # a share, not a denial of service


def rate_share(text: str) -> float:
    """``--rate-reserve``'s value (and the config file's ``rate-reserve``): 0 up to, not
    including, 1."""
    try:
        value = float(text) if len(text) <= _MAX_SHARE_CHARS else math.nan
    except ValueError:
        value = math.nan
    if not 0 <= value < 1:  # NaN fails too
        msg = f"expected a share from 0 to less than 1, such as 0.2, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


# The type checkers know argparse's subparsers action only by its private name.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]

# Flags whose value is a secret: never echoed, even in a parse error.
_SECRET_FLAGS = frozenset({"--access-token", "--password"})


class Parser(argparse.ArgumentParser):
    """An argparse parser without abbreviations, whose errors are one redacted line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """The usage of this (sub)command, then one ``ldstore: error:`` line; exit 2."""
        if not json_errors():
            self.print_usage(sys.stderr)
        error_line(message)
        raise SystemExit(EXIT_USAGE)

    def flags(self) -> dict[str, argparse.Action]:
        """Every option string of this parser, with its action."""
        return dict(self._option_string_actions)

    def nested_flags(self) -> frozenset[str]:
        """Every option string of this parser and of its subcommands (``doctor redis --url``)."""
        flags = set(self.flags())
        for action in self._actions:
            choices: object = action.choices
            if isinstance(choices, dict):  # only subcommands map names to parsers
                for sub in cast("dict[str, object]", choices).values():
                    if isinstance(sub, Parser):
                        flags |= sub.nested_flags()
        return frozenset(flags)

    def dests(self) -> frozenset[str]:
        """The attribute names this parser can set."""
        return frozenset(action.dest for action in self._actions)


class DeprecatedFlag(argparse.Action):
    """An old spelling kept for one release: it sets ``dest`` as before and says, on
    stderr, which flag to use (``help=`` names the new flag; pass it as ``instead``)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.instead: str = kwargs.pop("instead")
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        if not json_errors():  # --output json: stderr holds only error objects
            _ = sys.stderr.write(
                f"ldstore: {parser.prog.removeprefix('ldstore ')} {option_string} is "
                f"deprecated and will go in the next release: use {self.instead}\n"
            )


def add_connection_options(
    parser: argparse.ArgumentParser, *, timeout_flag: str = "--timeout"
) -> None:
    """Token, server, per-attempt timeout, retry budget and --debug.

    Absent flags stay unset (``SUPPRESS``): ``main`` fills the defaults after both halves
    of the command line are parsed, so a flag works before or after the command.
    """
    group = parser.add_argument_group("connection")
    _ = group.add_argument(
        "--access-token",
        metavar="TOKEN",
        default=argparse.SUPPRESS,
        help="LaunchDarkly access token (default: $LD_ACCESS_TOKEN, then the config file); "
        "prefer those, as other users can see a process's flags",
    )
    _ = group.add_argument(
        "--base-uri",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="API base URL (default: $LD_BASE_URI, else https://app.launchdarkly.com)",
    )
    _ = group.add_argument(
        "--federal",
        action="store_true",
        default=argparse.SUPPRESS,
        help="use LaunchDarkly's federal instance, https://app.launchdarkly.us",
    )
    _ = group.add_argument(
        "--eu",
        action="store_true",
        default=argparse.SUPPRESS,
        help="use LaunchDarkly's EU instance, https://app.eu.launchdarkly.com",
    )
    _ = group.add_argument(
        timeout_flag,
        dest="timeout",
        type=positive_seconds,
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help="give up on one attempt after this long (default: 30)",
    )
    _ = group.add_argument(
        "--retry-budget",
        type=seconds,
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help="retry 429s, 5xx and failed connections for this long in all (default: "
        f"{DEFAULT_RETRY_BUDGET:g}, but a few seconds for a server never reached; "
        "0 makes one attempt)",
    )
    _ = group.add_argument(
        "--rate-reserve",
        type=rate_share,
        metavar="SHARE",
        default=argparse.SUPPRESS,
        help="leave this share of the account's rate limit (0 to less than 1, e.g. 0.2) to "
        "the account's other tools: wait for the window's reset rather than spend it "
        "(default: the config file's rate-reserve, else 0)",
    )
    _ = group.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log each HTTP exchange to stderr (the token is never shown)",
    )


_JSON_HELP = "the integrations in the API's wire shape"
_QUIET_HELP = "print only integration IDs, one a line (wins over --output); no retry notices"


def add_output_options(
    parser: argparse.ArgumentParser,
    *,
    quiet: bool = True,
    json_help: str = _JSON_HELP,
    quiet_help: str = _QUIET_HELP,
) -> None:
    """``-o/--output`` and (where the command has IDs to print) ``-q/--quiet``.

    ``json_help`` says what ``-o json`` prints, ``quiet_help`` what ``-q`` does, for a
    command whose output is not integrations (the doctor's report, say).
    """
    group = parser.add_argument_group("output")
    _ = group.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_CHOICES,
        default=argparse.SUPPRESS,
        help="table (or plaintext): for people (default: $LD_OUTPUT, then the config "
        f"file); json: {json_help}, and errors as JSON objects on stderr",
    )
    if quiet:
        _ = group.add_argument(
            "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=quiet_help
        )


def _add_scope_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:  # pyright: ignore[reportPrivateUsage]
    group = parser.add_argument_group("integration")
    _ = group.add_argument(
        "--project",
        metavar="KEY",
        default=argparse.SUPPRESS,
        help="project key (default: $LD_PROJECT, then the config file)",
    )
    _ = group.add_argument(
        "--environment",
        metavar="KEY",
        default=argparse.SUPPRESS,
        help="environment key (default: $LD_ENVIRONMENT, then the config file)",
    )
    return group


def add_integration_options(
    parser: argparse.ArgumentParser, *, with_id: bool, required: bool = True
) -> None:
    """``--project``, ``--environment``, ``--integration`` (and ``--integration-id``).

    The flag names are those of LaunchDarkly's own CLI; ``required=False`` makes them
    optional (filters, for ``list``). ``--project`` and ``--environment`` may also come
    from LD_PROJECT, LD_ENVIRONMENT or the config file, so ``main`` checks them.
    """
    from ldstore.models import IntegrationKey  # noqa: PLC0415 - `ldstore --help` needs no models

    group = _add_scope_options(parser)
    if required:
        parser.set_defaults(ldstore_needs=("project", "environment"))
    _ = group.add_argument(
        "--integration",
        "--integration-key",
        dest="integration",
        choices=tuple(key.value for key in IntegrationKey),
        required=required,
        help="the store kind",
    )
    if with_id:
        _ = group.add_argument(
            "--integration-id",
            metavar="ID",
            required=required,
            help="the integration's ID (`ldstore list --quiet` prints them)",
        )


def add_all_option(group: argparse._ActionsContainer) -> None:  # pyright: ignore[reportPrivateUsage]
    """``--all``, for a command that --project and --environment filter (list, export,
    watch): their defaults (LD_PROJECT, LD_ENVIRONMENT, the config file) are ignored;
    ``main`` reads it. The flags themselves still filter."""
    _ = group.add_argument(
        "--all",
        action="store_true",
        help="every project and environment: ignore the --project and --environment defaults "
        "from LD_PROJECT, LD_ENVIRONMENT and the config file",
    )


def add_tag_filter(group: argparse._ActionsContainer) -> None:  # pyright: ignore[reportPrivateUsage]
    """``--tag``, for a command that lists integrations (list, export, watch)."""
    _ = group.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="only integrations with TAG (repeatable: all must match)",
    )


def add_command(  # noqa: PLR0913 - keyword-only switches, each a flag group
    subparsers: Subparsers,
    name: str,
    *,
    description: str | None = None,
    examples: str = "",
    output: bool = False,
    quiet: bool = False,
    timeout_flag: str = "--timeout",
) -> argparse.ArgumentParser:
    """A subcommand's parser with the connection flags and ``examples`` in its epilog.

    Its one-line summary (and, without ``description``, its description) is the
    catalog's (``ldstore.cli._catalog``), which ``ldstore --help`` shows.

    ``output`` and ``quiet`` offer ``-o`` and ``-q``: only where the command honours
    them. ``timeout_flag`` renames the per-attempt timeout where ``--timeout`` means
    something else (``wait``); ``--timeout`` before the command still sets it.
    """
    summary = _catalog.summary(name)
    paragraphs = (description or summary).split("\n\n")
    parser = subparsers.add_parser(
        name,
        help=summary,
        description="\n\n".join(textwrap.fill(paragraph, 80) for paragraph in paragraphs),
        epilog=f"examples:\n{examples.rstrip()}" if examples else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_options(parser, timeout_flag=timeout_flag)
    if output or quiet:
        add_output_options(parser, quiet=quiet)
    return parser


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The flags accepted before the command (each still only where the command takes it)."""
    add_connection_options(parser)
    add_output_options(parser)
    _ = _add_scope_options(parser)


# Parsing.


def parse_command_line(
    parser: Parser, commands: Mapping[str, Parser], argv: Sequence[str]
) -> tuple[argparse.Namespace, Parser] | None:
    """Parse ``argv`` as ``[flags] COMMAND [flags]``; a flag after the command wins.

    Returns the command's namespace (``command`` set, the flags given before it merged
    in) and its parser; ``None`` when there is no command at all. Exits 2
    (``SystemExit``) with the right usage on an error. Only the chosen command's parser
    is looked up in ``commands`` (unless a flag is misplaced), so it may build each
    parser on demand.
    """
    index = _command_index(parser, commands, argv)  # its errors echo no flag's value
    if index is None:
        _remember_flag_secrets(argv, set(parser.flags()))
        _ = _strict(parser, argv)  # --version, --help, or an error for a stray flag
        return None
    before, name, after = argv[:index], argv[index], argv[index + 1 :]
    command = commands[name]
    _remember_flag_secrets(argv, set(parser.flags()) | command.nested_flags())
    given = _strict(parser, before)
    namespace = _strict(command, after)
    namespace.command = name
    offered = command.dests()
    main_flags = {action.dest: action.option_strings[-1] for action in parser.flags().values()}
    for dest, value in vars(given).items():
        if dest == "command":
            continue
        if dest not in offered:
            command.error(f"{name} does not take {main_flags.get(dest, dest)}")
        if getattr(namespace, dest, None) in (None, False):
            setattr(namespace, dest, value)
    return namespace, command


def _strict(parser: Parser, argv: Sequence[str]) -> argparse.Namespace:
    # Unknown flags first: argparse would report a missing required flag before a typo of
    # it (`--integraton-id x` would say "--integration-id is required").
    unknown = _unknown_flags(parser, argv)
    if unknown:
        parser.error(_unrecognized(parser, unknown))
    namespace, extras = parser.parse_known_args(argv)
    if extras:
        parser.error(_unrecognized(parser, extras))
    return namespace


def _unknown_flags(parser: Parser, argv: Sequence[str]) -> list[str]:
    """The ``--long`` words of ``argv`` that are no flag of ``parser`` (up to a ``--`` or a
    nested command, such as ``doctor redis``, whose parser checks the rest)."""
    flags = parser.flags()
    nested = {
        name
        for action in parser._actions  # noqa: SLF001 - argparse lists them nowhere else
        if isinstance(action, argparse._SubParsersAction)  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]
        for name in action.choices  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
    }
    unknown: list[str] = []
    for arg in argv:
        if arg == "--" or arg in nested:  # what follows a nested command is its own
            break
        if arg.startswith("--") and arg.split("=", 1)[0] not in flags:
            unknown.append(arg)
    return unknown


def _command_index(
    parser: Parser, commands: Mapping[str, Parser], argv: Sequence[str]
) -> int | None:
    flags = parser.flags()
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg in commands:
            return index
        if arg == "--" or not arg.startswith("-") or arg == "-":
            word = "--" if arg == "--" else arg
            close = _close(word, list(commands), n=1)
            if close:
                parser.error(f"{word!r} is not a command (did you mean {close[0]}?)")
            # Not echoed: a stray word may be a value meant for a flag, such as a token.
            parser.error("that is not a command (ldstore --help lists them)")
        flag = arg.split("=", 1)[0]
        action = flags.get(flag)
        if action is None and not arg.startswith("--") and len(arg) > 2:  # noqa: PLR2004
            head = flags.get(arg[:2])
            if head is not None:
                tail = flags.get(f"-{arg[-1]}")
                # -ojson carries its value; -qo json takes the next word.
                takes_next = head.nargs == 0 and tail is not None and tail.nargs != 0
                index += 2 if takes_next else 1
                continue
        if action is None:
            parser.error(
                _unrecognized(parser, [arg], where="before the command", all_flags=commands)
            )
        index += 2 if action.nargs != 0 and "=" not in arg else 1
    return None


def _unrecognized(
    parser: Parser,
    extras: Iterable[str],
    *,
    where: str = "",
    all_flags: Mapping[str, Parser] | None = None,
) -> str:
    flags = [extra.split("=", 1)[0] for extra in extras if extra.startswith("-") and extra != "-"]
    if not flags:
        return "unexpected arguments: this command takes flags only (see --help)"
    flag = flags[0]
    place = f" {where}" if where else ""
    if all_flags is not None and any(flag in command.flags() for command in all_flags.values()):
        return f"{flag} goes after the command name (ldstore COMMAND {flag} ...)"
    candidates = [option for option in parser.flags() if option.startswith("--")]
    close = _close(flag, candidates, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    more = f" (and {len(flags) - 1} more)" if len(flags) > 1 else ""
    return f"unknown flag {flag}{place}{more}{hint}"


def _remember_flag_secrets(argv: Sequence[str], known: set[str]) -> None:
    """Treat the values of secret flags, and of unknown flags, as secrets."""
    for index, arg in enumerate(argv):
        if not arg.startswith("--"):
            continue
        flag, equals, value = arg.partition("=")
        if flag in known and flag not in _SECRET_FLAGS:
            continue
        if equals:
            remember_secret(value)
        elif index + 1 < len(argv):
            remember_secret(argv[index + 1])


def _close(word: str, candidates: list[str], *, n: int = 1, cutoff: float = 0.6) -> list[str]:
    import difflib  # noqa: PLC0415 - only a mistake needs it: keep it off the start-up path

    return difflib.get_close_matches(word, candidates, n=n, cutoff=cutoff)
