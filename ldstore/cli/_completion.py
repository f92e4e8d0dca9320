"""``ldstore completion SHELL``: a completion script for every command and flag, via shtab.

Beyond flag names: options that take a file complete file names, ``config --set``
offers the setting names, and ``--project``/``--environment`` offer the values the
config file holds (bash, zsh and fish).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from ldstore.cli._catalog import summary
from ldstore.cli._errors import EXIT_OK, EXIT_USAGE, error_line
from ldstore.cli._options import Subparsers
from ldstore.cli._settings import KEYS

__all__ = ["register"]

_SHELLS = ("bash", "zsh", "fish")

# Options whose value is a path, whoever defines them (a metavar of FILE or PATH counts too).
_PATH_OPTIONS = frozenset(
    {"--file", "--patch", "--stores", "--tls-ca", "--tls-cert", "--tls-key", "--alert-rules"}
)
_PATH_METAVARS = frozenset({"FILE", "PATH", "DIR"})

# A setting's value in the config file (the TOML lines `ldstore config` writes), one
# helper per shell, each given the setting's name; and the settings' names for --set.
_CONFIGURED = {
    "bash": """\
_shtab_ldstore_setting_names() {
  compgen -W "%(names)s" -- "$1"
}
_shtab_ldstore_configured() {
  local file="${LDSTORE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/ldstore/config.toml}"
  compgen -W "$(sed -n "s/^$2 = \\"\\(.*\\)\\"$/\\1/p" "$file" 2>/dev/null)" -- "$1"
}
_shtab_ldstore_configured_project() { _shtab_ldstore_configured "$1" project; }
_shtab_ldstore_configured_environment() { _shtab_ldstore_configured "$1" environment; }
""",
    "zsh": """\
_shtab_ldstore_configured() {
  local file="${LDSTORE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/ldstore/config.toml}"
  local -a values
  values=(${(f)"$(sed -n "s/^$1 = \\"\\(.*\\)\\"\\$/\\1/p" "$file" 2>/dev/null)"})
  compadd -a values
}
""",
    "fish": """\
function _shtab_ldstore_configured
    set -l file $LDSTORE_CONFIG
    if test -z "$file"
        set -l base $XDG_CONFIG_HOME
        test -n "$base"; or set base $HOME/.config
        set file $base/ldstore/config.toml
    end
    sed -n "s/^$argv[1] = \\"\\(.*\\)\\"\\$/\\1/p" $file 2>/dev/null
end
""",
}


def register(subparsers: Subparsers) -> None:
    """Add the ``completion`` subcommand."""
    parser = subparsers.add_parser(
        "completion",
        help=summary("completion"),
        description="Print a completion script for every ldstore command and flag, "
        "generated from the parser by shtab. Needs the completion extra: "
        "pip install 'ldstore[completion]'.",
        epilog="""\
examples:
  ldstore completion bash > ~/.local/share/bash-completion/completions/ldstore
  ldstore completion zsh > "${fpath[1]}/_ldstore"
  ldstore completion fish > ~/.config/fish/completions/ldstore.fish""",
    )
    _ = parser.add_argument("shell", choices=_SHELLS, help="the shell to complete in")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        import shtab  # noqa: PLC0415 - an optional extra, kept out of every other command
    except ModuleNotFoundError:
        error_line("completion needs the completion extra: pip install 'ldstore[completion]'")
        return EXIT_USAGE
    from ldstore.cli import build_parser  # noqa: PLC0415 - the package imports this module

    root = build_parser()  # every command's parser: `ldstore list` builds only its own
    names = " ".join(KEYS)
    completions: Mapping[str, Any] = {
        "path": shtab.FILE,
        "--set": {"bash": "_shtab_ldstore_setting_names", "zsh": f"({names})", "fish": names},
        **{
            f"--{setting}": {
                "bash": f"_shtab_ldstore_configured_{setting}",
                "zsh": f"{{_shtab_ldstore_configured {setting}}}",
                "fish": f"(_shtab_ldstore_configured {setting})",
            }
            for setting in ("project", "environment")
        },
    }
    for action in _actions(root):
        options = set(action.option_strings)
        if options & _PATH_OPTIONS or action.metavar in _PATH_METAVARS:
            action.complete = completions["path"]  # type: ignore[attr-defined]  # shtab reads it
        for option in ("--set", "--project", "--environment"):
            if option in options:
                action.complete = completions[option]  # type: ignore[attr-defined]
    script = shtab.complete(
        root,
        shell=args.shell,
        preamble=_CONFIGURED.get(args.shell, "").replace("%(names)s", names),
    )
    # Written as generated: a script of ldstore's own making, not text from a server.
    _ = sys.stdout.write(script.rstrip("\n") + "\n")
    return EXIT_OK


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Every action of ``parser`` and of its subcommands, nested ones included."""
    for action in parser._actions:  # noqa: SLF001 - argparse has no public list of them
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]
            for child in action.choices.values():  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
                yield from _actions(child)  # pyright: ignore[reportUnknownArgumentType]
        else:
            yield action
