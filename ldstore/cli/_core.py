"""The Core a command uses: token and server from flags, environment or file, and budgets.

A person at a prompt should not wait 30 s for a server that is not there: until the
first answer, connection failures get a short budget of their own (``NEVER_CONNECTED``),
enforced by an ``after_error`` hook that raises ``GaveUpError`` (hook exceptions
propagate by design). ``--retry-budget`` replaces both budgets.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from ldstore.cli._errors import GaveUpError, UsageError, remember_secret
from ldstore.cli._options import DEFAULT_RETRY_BUDGET, rate_share
from ldstore.cli._settings import setting, settings_of

if TYPE_CHECKING:  # the Core loads aiohttp: only commands that call the API pay for it
    from ldstore.core import Core, HookContext, Hooks

__all__ = [
    "NEVER_CONNECTED",
    "Connection",
    "NeverConnectedBudget",
    "attempts_left_unreached",
    "check_url",
    "make_core",
    "rate_reserve",
    "resolve_connection",
    "telemetry_hooks",
]

_LOG = logging.getLogger("ldstore")


@attrs.frozen
class NeverConnectedBudget:
    """How long the CLI retries a server it has never reached: attempts and seconds."""

    attempts: int = 4
    seconds: float = 5.0


NEVER_CONNECTED = NeverConnectedBudget()


@attrs.frozen
class Connection:
    """Where the calls go and with which token, from flags, then environment, then file."""

    token: str | None = attrs.field(repr=False)
    token_source: str
    base_uri: str | None
    federal: bool
    eu: bool = False

    @property
    def explicit(self) -> bool:
        """Whether the user named a server (``--base-uri``, ``LD_BASE_URI``, ``--federal``...)."""
        return self.base_uri is not None or self.federal or self.eu

    @property
    def server(self) -> str:
        """The named instance for ``Core(server=...)``; ``base_uri`` wins over it."""
        return "federal" if self.federal else "eu" if self.eu else "commercial"


def resolve_connection(args: argparse.Namespace) -> Connection:
    """The token and server the user asked for; raises ``UsageError`` for a bad config file."""
    settings = settings_of(args)
    token, token_source = setting("access-token", getattr(args, "access_token", None), settings)
    base_uri, _ = setting("base-uri", getattr(args, "base_uri", None), settings)
    federal = bool(getattr(args, "federal", False)) or settings.get("federal") is True
    eu = bool(getattr(args, "eu", False)) or settings.get("eu") is True
    if federal and eu:
        msg = "--federal and --eu name two different LaunchDarkly instances: choose one"
        raise UsageError(msg)
    if token is not None:
        remember_secret(token)
    return Connection(
        token=token, token_source=token_source, base_uri=base_uri, federal=federal, eu=eu
    )


@attrs.define
class _FirstContact:
    """Stops retrying connection failures once the never-connected budget is spent."""

    budget: NeverConnectedBudget
    started: float = attrs.field(factory=time.monotonic)
    failures: int = 0
    reached: bool = False

    def after_success(self, _context: HookContext, _response: object) -> None:
        self.reached = True

    def after_error(self, _context: HookContext, error: Exception) -> None:
        from ldstore.errors import ConnectionFailedError  # noqa: PLC0415 - not for --help

        if not isinstance(error, ConnectionFailedError):
            self.reached = True  # an answer, or a connection that was made
            return
        self.failures += 1
        spent = time.monotonic() - self.started
        if not self.reached and (
            self.failures >= self.budget.attempts or spent >= self.budget.seconds
        ):
            raise GaveUpError(error)


_CONTACTS: list[_FirstContact] = []  # the Cores this process made, for the retry lines


def attempts_left_unreached() -> int | None:
    """The never-connected attempt limit while it applies (no server reached yet), else None."""
    if _CONTACTS and not any(contact.reached for contact in _CONTACTS):
        return NEVER_CONNECTED.attempts
    return None


# The standard variables that turn OTLP export on (ldstore.otel.configure_from_env).
_OTLP_ENDPOINTS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)
_OTEL_EXTRA = (
    "{} is set, but exporting telemetry needs the otel-export extra: "
    "pip install 'ldstore[otel-export]'"
)


def telemetry_hooks() -> Hooks | None:
    """Hooks exporting through OTLP when an ``OTEL_EXPORTER_OTLP_*ENDPOINT`` is set (the
    standard ``OTEL_*`` variables say the rest), else None; ``UsageError`` without the
    ``otel-export`` extra. OpenTelemetry is imported only when a variable is set."""
    named = next((name for name in _OTLP_ENDPOINTS if os.environ.get(name)), None)
    if named is None:
        return None  # the usual case: nothing imported, nothing to pay at start-up
    try:
        from ldstore.otel import configure_from_env  # noqa: PLC0415

        return configure_from_env()
    except ImportError as error:
        if error.name is not None and error.name.split(".")[0] == "ldstore":
            raise  # a bug of ours, not a missing extra
        raise UsageError(_OTEL_EXTRA.format(named)) from None


def make_core(args: argparse.Namespace, *, telemetry: bool = False) -> Core:
    """A Core for the options in ``args``; raises ``UsageError`` with no token or a bad URL.

    Use it as ``async with make_core(args) as core:``: the Core closes its session. With
    ``telemetry`` (the commands that run as services), its calls are exported over OTLP
    when the environment asks for it (``telemetry_hooks``).
    """
    from ldstore.core import DEFAULT_TIMEOUT, Core, Hooks, RetryConfig  # noqa: PLC0415

    connection = resolve_connection(args)
    if connection.token is None:
        msg = (
            "no access token: set LD_ACCESS_TOKEN, pass --access-token, or run "
            "`ldstore config --set access-token TOKEN`"
        )
        raise UsageError(msg)
    if any(char in connection.token for char in "\r\n\0"):
        msg = f"the access token (from {connection.token_source}) contains a line break"
        raise UsageError(msg)
    if connection.base_uri is not None:
        check_url(connection.base_uri)
    given_budget = getattr(args, "retry_budget", None)
    budget = DEFAULT_RETRY_BUDGET if given_budget is None else float(given_budget)
    timeout = getattr(args, "timeout", None)
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    first_contact = _FirstContact(NEVER_CONNECTED)
    hooks = None
    if given_budget is None:
        _CONTACTS.append(first_contact)
        hooks = Hooks(
            after_success=first_contact.after_success, after_error=first_contact.after_error
        )
    exported = telemetry_hooks() if telemetry else None
    if exported is not None:
        from ldstore.otel import combine  # noqa: PLC0415 - loaded by telemetry_hooks already

        # The tracer first: it sees every error before the first-contact hook may raise.
        hooks = exported if hooks is None else combine(exported, hooks)
    try:
        core = Core(
            connection.token,
            server=connection.server,
            server_url=connection.base_uri,
            timeout=timeout,
            retry_config=RetryConfig.none()
            if budget == 0
            else RetryConfig(max_elapsed_time=budget),
            hooks=hooks,
            rate_reserve=rate_reserve(args),
        )
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None
    _LOG.debug(
        "server %s, token from %s, timeout %gs per attempt, retries for %gs",
        core.base_url,
        connection.token_source,
        timeout,
        budget,
    )
    return core


def rate_reserve(args: argparse.Namespace) -> float:
    """``--rate-reserve``, else the config file's ``rate-reserve``, else 0; ``UsageError``
    for a file's value that is no share."""
    flag: float | None = getattr(args, "rate_reserve", None)
    if flag is not None:
        return flag
    text, source = setting("rate-reserve", None, settings_of(args))
    if text is None:
        return 0.0
    try:
        return rate_share(text)
    except argparse.ArgumentTypeError as error:
        msg = f"rate-reserve in {source}: {error}"
        raise UsageError(msg) from None


def check_url(url: str) -> None:
    """Raise ``UsageError`` unless ``url`` is an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number
    except ValueError as error:
        msg = f"the base URI {url!r} is not a valid URL: {error}"
        raise UsageError(msg) from None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        msg = (
            f"the base URI must be an http(s) URL such as https://app.launchdarkly.com, not {url!r}"
        )
        raise UsageError(msg)
