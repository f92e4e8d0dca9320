"""The doctor's values (checks, the report, its errors) and the checks both stores share.

Layout facts (``launchdarkly-api.md``, "The big segment store itself"): ``synchronizedOn``
is Unix milliseconds; SDKs call a store stale when it is missing or ``now - synchronizedOn
>= staleAfter`` (default 120 s); set members are segment refs ``<segmentKey>.g<generation>``;
a context's key is found by the standard base64 (padded) of the SHA-256 of its UTF-8 bytes;
an include wins over an exclude.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import re
import time
from collections.abc import Awaitable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

import attrs

from ldstore.errors import InputValidationError, LDStoreError, NetworkError
from ldstore.text import REDACTED, printable, redact

__all__ = [
    "Check",
    "CheckStatus",
    "MemberSets",
    "MissingExtraError",
    "StoreReport",
    "StoreUnreachableError",
    "context_hash",
    "redact_url",
    "render_report",
]

DEFAULT_STALE_AFTER = 120.0  # seconds: the SDKs' default staleAfter
DEFAULT_TIMEOUT = 5.0  # seconds for one store call
DEFAULT_DEADLINE = 60.0  # seconds for a whole diagnosis, however the store answers
DEFAULT_SCAN_LIMIT = 10_000  # keys (Redis) or items (DynamoDB) one discovery may examine
SAMPLE_KEYS = 50  # member keys (or items) whose types and values are sampled
SAMPLE_VALUES = 20  # values read from each sampled member key
MAX_MEMBERS = 10_000  # segment refs read for one context and one kind (include/exclude)
SKEW_TOLERANCE = 5.0  # seconds a synchronizedOn may run ahead of this clock unremarked

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SEGMENT_REF = re.compile(r".+\.g[0-9]+", flags=re.DOTALL)
_MILLIS = re.compile(r"[0-9]{1,16}")  # what every SDK parses: no sign, spaces or exponent
_SHOWN_REFS = 5
_SECRET_QUERY_KEYS = frozenset({"password"})  # a user name is not a secret
MIN_SCRUBBED = 3  # shorter passwords are masked in the URL only: "ab" would garble every message


class CheckStatus(str, enum.Enum):
    """How one check came out: ``ok``, a ``warning`` (worth a look) or a ``failure``."""

    OK = "ok"
    WARNING = "warning"
    FAILURE = "failure"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Check:
    """One named line of the report: what was checked, how it came out, and why."""

    name: str
    status: CheckStatus
    detail: str


@attrs.frozen(kw_only=True)
class MemberSets:
    """A context's two sets as the store holds them (segment refs)."""

    included: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()


@attrs.frozen(kw_only=True)
class StoreReport:
    """What the doctor found in one store, for one prefix.

    ``healthy`` is true when no check failed: then server-side SDKs reading this store
    with this prefix trust it (not stale) and can read its memberships. ``location`` is
    the store as given, with any credentials masked; ``prefixes`` are those a discovery
    scan found (``None`` when a prefix was given).
    """

    store: str  # "redis" or "dynamodb"
    location: str
    prefix: str | None
    synchronized_on: datetime | None
    age_seconds: float | None
    stale: bool
    checks: tuple[Check, ...]
    memberships: Mapping[str, Mapping[str, bool]] = attrs.field(
        factory=dict[str, Mapping[str, bool]]
    )
    prefixes: tuple[str, ...] | None = None
    member_sets: Mapping[str, MemberSets] = attrs.field(factory=dict[str, MemberSets])

    @property
    def healthy(self) -> bool:
        """No check failed."""
        return all(check.status is not CheckStatus.FAILURE for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        """The ``--output json`` document: plain JSON types, timestamps in ISO 8601."""
        return {
            "store": self.store,
            "prefix": self.prefix,
            "synchronized_on": None if self.synchronized_on is None else iso(self.synchronized_on),
            "age_seconds": None if self.age_seconds is None else round(self.age_seconds, 3),
            "stale": self.stale,
            "healthy": self.healthy,
            "checks": [
                {"name": check.name, "status": check.status.value, "detail": check.detail}
                for check in self.checks
            ],
            "memberships": {
                context: dict(sorted(refs.items())) for context, refs in self.memberships.items()
            },
        }


_STORES = {"redis": "Redis store", "dynamodb": "DynamoDB store"}
_MARKS = {CheckStatus.OK: "ok  ", CheckStatus.WARNING: "WARN", CheckStatus.FAILURE: "FAIL"}


def render_report(report: StoreReport, *, quiet: bool = False) -> str:
    """The report for people: a heading, one marked line per check, and a verdict.

    Store data (keys, values, prefixes) and server messages are shown through
    :func:`ldstore.text.printable`, so no escape sequence reaches a terminal. With
    ``quiet``, only the checks that are not ok and an unhealthy verdict. When TLS
    certificates were not verified, the first line says so.
    """
    lines: list[str] = []
    insecure = any(
        check.name == "tls" and check.status is not CheckStatus.OK for check in report.checks
    )
    if not quiet:
        prefix = "no prefix" if report.prefix is None else f"prefix {report.prefix!r}"
        heading = f"{_STORES.get(report.store, report.store)} {report.location}, {prefix}"
        if insecure:
            heading = f"TLS certificate NOT verified: {heading}"
        lines.append(heading)
    checks = [check for check in report.checks if not quiet or check.status is not CheckStatus.OK]
    width = max((len(check.name) for check in checks), default=0)
    lines += [f"{_MARKS[check.status]}  {check.name:<{width}}  {check.detail}" for check in checks]
    failed = sum(check.status is CheckStatus.FAILURE for check in report.checks)
    if not report.healthy:
        lines.append(f"unhealthy: {failed} check(s) failed")
    elif not quiet:
        lines.append("healthy: server-side SDKs will trust this store")
    return "\n".join(printable(line) for line in lines)


@attrs.frozen(kw_only=True)
class StoreUnreachableError(NetworkError):
    """The store could not be read at all: refused, timed out, or it refused our credentials.

    ``method`` is the store command or DynamoDB operation that failed; ``url`` is the
    store's location with any credentials masked.
    """

    def __str__(self) -> str:
        return f"cannot read the store at {self.url} ({self.method}): {self.message}"


@attrs.frozen(kw_only=True)
class MissingExtraError(LDStoreError):
    """The store's client library is not installed; ``extra`` names the ldstore extra with it."""

    extra: str


def missing_extra(extra: str, store: str) -> MissingExtraError:
    message = f"diagnosing {store} needs the {extra} extra: pip install 'ldstore[{extra}]'"
    return MissingExtraError(message=message, extra=extra)


def invalid_options(
    stale_after: float, timeout: float, scan_limit: int, deadline: float = DEFAULT_DEADLINE
) -> LDStoreError | None:
    """An ``InputValidationError`` for a bound that is not positive, else ``None``."""
    for field, value in (
        ("stale_after", stale_after),
        ("timeout", timeout),
        ("scan_limit", scan_limit),
        ("deadline", deadline),
    ):
        if not value > 0:
            return InputValidationError(
                message=f"{field} must be positive, not {value!r}", field=field
            )
    return None


# Time.


class DeadlineError(Exception):
    """The diagnosis's deadline passed: ``command`` was the store call it stopped at."""

    def __init__(self, command: str) -> None:
        super().__init__(command)
        self.command = command


class Budget:
    """The time one diagnosis has: each store call gets ``timeout``, or less when the
    deadline is nearer, so no number of slow answers can carry it past the deadline."""

    def __init__(self, timeout: float, deadline: float) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.ends = time.monotonic() + deadline

    def call_limit(self, command: str) -> float:
        """Seconds the next call may take; ``DeadlineError`` when none are left."""
        left = self.ends - time.monotonic()
        if left <= 0:
            raise DeadlineError(command)
        return min(self.timeout, left)

    def spent(self) -> bool:
        return time.monotonic() >= self.ends

    def message(self) -> str:
        return f"the diagnosis did not finish within its deadline of {self.deadline:g} s"


async def bounded(budget: Budget, command: str, call: Awaitable[T]) -> T:
    """``await call`` within the budget: ``asyncio.TimeoutError`` past ``timeout``,
    ``DeadlineError`` past the deadline (the call is closed unawaited when none is left)."""
    try:
        limit = budget.call_limit(command)
    except DeadlineError:
        close = getattr(call, "close", None)
        if close is not None:
            close()  # a coroutine never awaited would warn
        raise
    try:
        return await asyncio.wait_for(call, limit)
    except asyncio.TimeoutError:
        if budget.spent():
            raise DeadlineError(command) from None
        raise


# Secrets.


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """``url`` with its password, password parameters and ``secrets`` shown as ``[REDACTED]``.

    The password is masked in every spelling :func:`ldstore.text.redact` knows (raw,
    percent-encoded, decoded), wherever in the URL it appears; a user name, host and
    port stay readable, and ``unix:///path`` keeps its three slashes.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<a URL that could not be parsed>"
    text = url
    if "@" in parts.netloc:
        userinfo, _, host = parts.netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        if colon:  # user:password shows the user (redis-py sends bare user info as a user name)
            text = text.replace(parts.netloc, f"{user}:{REDACTED}@{host}", 1)
    if parts.query:
        pairs = [
            f"{key}={REDACTED}" if key.lower() in _SECRET_QUERY_KEYS else pair
            for pair in parts.query.split("&")
            for key in [pair.partition("=")[0]]
        ]
        text = text.replace(f"?{parts.query}", f"?{'&'.join(pairs)}", 1)
    return scrub(text, (*url_secrets(url), *secrets))


def url_has_password(parts: SplitResult) -> bool:
    """Whether a (split) URL holds a password: in its user info, even an empty one, or as a
    password parameter. For the front ends that refuse one (secrets come by environment)."""
    return parts.password is not None or any(
        key.lower() in _SECRET_QUERY_KEYS for key, _ in parse_qsl(parts.query)
    )


def url_secrets(url: str) -> tuple[str, ...]:
    """The secrets in ``url`` (its password, password parameters), raw and decoded.

    A user name is not a secret: it stays readable in every message.
    """
    try:
        parts = urlsplit(url)
        found = [parts.password or ""] if "@" in parts.netloc else []
        found += [
            value
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if key.lower() in _SECRET_QUERY_KEYS
        ]
    except ValueError:
        return (url,)
    # Each as written and as redis-py decodes it before sending (p%40ss is sent as p@ss).
    forms = {form for secret in found for form in (secret, unquote(secret))}
    return tuple(sorted(form for form in forms if len(form) >= MIN_SCRUBBED))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every spelling of every secret masked (one redaction: ``ldstore.text``)."""
    return redact(text, secrets)


# Values.


def context_hash(context_key: str) -> str:
    """The key a context's memberships are stored under: base64(SHA-256(key)), padded."""
    return base64.b64encode(hashlib.sha256(context_key.encode()).digest()).decode()


def from_millis(millis: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=millis)


def iso(moment: datetime) -> str:
    text = moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_millis(text: str) -> int | None:
    """Unix milliseconds from ``text``, or ``None`` unless it is plain decimal digits."""
    return int(text) if _MILLIS.fullmatch(text) else None


def is_segment_ref(value: str) -> bool:
    return _SEGMENT_REF.fullmatch(value) is not None


def shown(values: Iterable[str], limit: int = _SHOWN_REFS) -> str:
    """Up to ``limit`` values, quoted, and how many more there are."""
    items = sorted(values)
    text = ", ".join(repr(value) for value in items[:limit])
    return f"{text} and {len(items) - limit} more" if len(items) > limit else text


def seconds_text(value: float) -> str:
    return f"{value:.1f} s" if abs(value) < 100 else f"{value:.0f} s"  # noqa: PLR2004 - a formatting threshold


# Checks both stores share.


@attrs.frozen
class Freshness:
    """The freshness checks, and what they found."""

    checks: tuple[Check, ...]
    synchronized_on: datetime | None
    age_seconds: float | None
    stale: bool


def freshness(millis: int | None, *, now: datetime, stale_after: float) -> Freshness:
    """``freshness`` (age against ``stale_after``) and ``clock skew`` for a ``synchronizedOn``."""
    if millis is None:
        check = Check(
            "freshness",
            CheckStatus.FAILURE,
            "no usable synchronizedOn, so SDKs report the store as stale (or unavailable)",
        )
        return Freshness((check,), None, None, stale=True)
    synchronized_on = from_millis(millis)
    age = (now - synchronized_on).total_seconds()
    stale = age >= stale_after
    limit = f"SDKs call a store stale after {seconds_text(stale_after)}"
    ahead = -age
    if ahead > SKEW_TOLERANCE:  # SDKs compute a negative age and trust it: not "ok"
        fresh = Check(
            "freshness",
            CheckStatus.WARNING,  # "clock skew" says how bad it is
            f"cannot tell: synchronizedOn ({iso(synchronized_on)}) is "
            f"{seconds_text(ahead)} in the future; {limit}",
        )
    elif stale:
        fresh = Check(
            "freshness",
            CheckStatus.FAILURE,
            f"stale: last synchronized {seconds_text(age)} ago ({iso(synchronized_on)}); {limit}",
        )
    else:
        fresh = Check(
            "freshness",
            CheckStatus.OK,
            f"last synchronized {seconds_text(max(age, 0.0))} ago ({iso(synchronized_on)}); {limit}",
        )
    if ahead <= SKEW_TOLERANCE:
        skew = Check("clock skew", CheckStatus.OK, "synchronizedOn is not in the future")
    else:
        status = CheckStatus.FAILURE if ahead >= stale_after else CheckStatus.WARNING
        skew = Check(
            "clock skew",
            status,
            f"synchronizedOn is {seconds_text(ahead)} in the future: this machine's clock or "
            "the writer's is wrong, and SDKs cannot notice the store going stale until then",
        )
    return Freshness((fresh, skew), synchronized_on, age, stale=stale)


def member_value_check(values: Iterable[str], *, where: str) -> Check:
    """``member values``: every sampled set member looks like ``<segmentKey>.g<generation>``."""
    sampled = list(values)
    bad = [value for value in sampled if not is_segment_ref(value)]
    if bad:
        return Check(
            "member values",
            CheckStatus.FAILURE,
            f"{len(bad)} of {len(sampled)} sampled values are not segment refs "
            f"(<segmentKey>.g<generation>): {shown(bad)}",
        )
    if not sampled:
        return Check("member values", CheckStatus.OK, f"no member values to sample {where}")
    return Check(
        "member values",
        CheckStatus.OK,
        f"{len(sampled)} sampled values {where} are segment refs (<segmentKey>.g<generation>)",
    )


def membership(
    context_key: str, included: Iterable[str], excluded: Iterable[str], problems: Iterable[str]
) -> tuple[Check, dict[str, bool], MemberSets]:
    """``context <key>``: its segments, as SDKs see them (an include wins over an exclude);
    the refs as SDKs read them; and the two sets as stored."""
    include, exclude = set(included), set(excluded)
    refs = dict.fromkeys(exclude, False) | dict.fromkeys(include, True)
    sets = MemberSets(included=frozenset(include), excluded=frozenset(exclude))
    name = f"context {context_key!r}"
    errors = list(problems)
    if errors:
        return Check(name, CheckStatus.FAILURE, "; ".join(errors)), refs, sets
    parts: list[str] = []
    if include:
        parts.append(f"included in {shown(include)}")
    if exclude - include:
        parts.append(f"excluded from {shown(exclude - include)}")
    both = include & exclude
    if both:
        parts.append(f"listed as both included and excluded in {shown(both)}: the include wins")
    if not parts:
        parts.append(f"in no big segment (stored under {context_hash(context_key)})")
    status = CheckStatus.WARNING if both else CheckStatus.OK
    return Check(name, status, "; ".join(parts)), refs, sets


def discovery_check(
    found: Iterable[str | None], chosen: str | None, *, examined: str, complete: bool
) -> Check:
    """``prefix discovery``: the prefixes with metadata a bounded scan found."""
    prefixes = sorted({_prefix_label(prefix) for prefix in found})
    more = "" if complete else f"; the scan stopped after {examined}, so there may be more"
    label = _prefix_label(chosen)
    if not prefixes:
        return Check(
            "prefix discovery",
            CheckStatus.WARNING,
            f"no big segment metadata under any prefix ({examined} examined){more}; "
            f"diagnosing {label}",
        )
    listed = ", ".join(prefixes)
    if len(prefixes) == 1 and prefixes[0] == label:
        return Check("prefix discovery", CheckStatus.OK, f"found one prefix: {listed}{more}")
    return Check(
        "prefix discovery",
        CheckStatus.WARNING,
        f"found {len(prefixes)} prefix(es): {listed}{more}; diagnosing {label}: "
        "give the prefix your SDKs use to diagnose that one",
    )


def prefix_check(expected: str, given: str | None, found: Iterable[str] | None) -> Check:
    """``prefix``: is the store's data under ``expected``, the environment's client-side ID?

    LaunchDarkly-managed stores use the client-side ID as their prefix
    (``launchdarkly-api.md``); an SDK configured with it reads nothing under another one.
    """
    if given is not None and given != expected:
        return Check(
            "prefix",
            CheckStatus.FAILURE,
            f"diagnosing {given!r}, but the environment's client-side ID is {expected!r}: "
            "SDKs configured with the client-side ID read nothing under this prefix",
        )
    others = sorted(set(found or ()) - {expected})
    if found is not None and expected not in found and others:
        return Check(
            "prefix",
            CheckStatus.FAILURE,
            f"the data sits under {shown(others)}, not under the environment's client-side "
            f"ID {expected!r}: SDKs configured with the client-side ID read nothing",
        )
    return Check(
        "prefix", CheckStatus.OK, f"diagnosing the environment's client-side ID {expected!r}"
    )


def _prefix_label(prefix: str | None) -> str:
    return "(no prefix)" if prefix is None else repr(prefix)
