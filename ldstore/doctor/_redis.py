"""``diagnose_redis``: read a Redis big segment store as SDKs do, and only read.

Keys (``launchdarkly-api.md``): ``<prefix>:big_segments_synchronized_on`` (a string of
Unix ms) and the sets ``<prefix>:big_segment_include:<hash>`` and
``<prefix>:big_segment_exclude:<hash>``. The commands sent are PING, TYPE, GET, SCAN,
SSCAN and SRANDMEMBER: a user limited to ``+@read +ping`` can run the doctor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from ldstore.doctor._report import (
    DEFAULT_SCAN_LIMIT,
    DEFAULT_STALE_AFTER,
    DEFAULT_TIMEOUT,
    MAX_MEMBERS,
    SAMPLE_KEYS,
    SAMPLE_VALUES,
    Check,
    CheckStatus,
    StoreReport,
    StoreUnreachableError,
    context_hash,
    discovery_check,
    freshness,
    invalid_options,
    is_segment_ref,
    member_value_check,
    membership,
    missing_extra,
    parse_millis,
    redact_url,
    scrub,
    shown,
    url_secrets,
)
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.result import Err, Ok, Result

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["diagnose_redis"]

DEFAULT_PREFIX = "launchdarkly"  # what SDKs use when none is configured
_SYNCHRONIZED_ON = "big_segments_synchronized_on"
_INCLUDE = "big_segment_include"
_EXCLUDE = "big_segment_exclude"
_SCAN_COUNT = 1000  # keys a SCAN call is asked to examine
_LOG = logging.getLogger("ldstore")

T = TypeVar("T")


class _UnreachableError(Exception):
    def __init__(self, command: str, detail: str) -> None:
        super().__init__(detail)
        self.command = command
        self.detail = detail


class _RefusedError(_UnreachableError):
    """Redis answered the command with an error (NOPERM, WRONGTYPE...)."""


class _Reader:
    """Sends one command at a time, each bounded by ``timeout``; maps lost stores to one error."""

    def __init__(self, client: Redis, timeout: float, secrets: Sequence[str]) -> None:
        self.client = client
        self.timeout = timeout
        self.secrets = secrets

    async def __call__(self, command: str, call: Awaitable[T]) -> T:
        from redis.exceptions import RedisError, ResponseError  # noqa: PLC0415

        _LOG.debug("redis %s", command)
        try:
            return await asyncio.wait_for(call, self.timeout)
        except ResponseError as error:
            raise _RefusedError(command, scrub(str(error), self.secrets)) from None
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            # AuthenticationError is a ConnectionError: a refused password is unreachable too.
            detail = scrub(str(error) or type(error).__name__, self.secrets)
            raise _UnreachableError(command, detail) from None

    async def key_type(self, key: str) -> str:
        return _text(await self(f"TYPE {key}", self.client.type(key)))

    async def types(self, keys: Sequence[str]) -> list[str]:
        return [await self.key_type(key) for key in keys]

    async def scan(self, pattern: str, *, limit: int) -> tuple[list[str], int, bool]:
        """Keys matching ``pattern``, examining about ``limit`` keys at most; and whether all were."""
        found: list[str] = []
        cursor = 0
        examined = 0
        count = min(_SCAN_COUNT, limit)
        while True:
            reply = await self(
                f"SCAN {cursor} MATCH {pattern} COUNT {count}",
                self.client.scan(cursor, match=pattern, count=count),  # pyright: ignore[reportUnknownMemberType]  # redis types **kwargs loosely
            )
            cursor = int(reply[0])
            found += [_text(key) for key in reply[1]]
            examined += count
            if cursor == 0:
                return found, examined, True
            if examined >= limit:
                return found, examined, False

    async def members(self, key: str, *, limit: int) -> tuple[list[str], bool]:
        """Up to about ``limit`` members of the set at ``key``; and whether that was all of them."""
        values: list[str] = []
        cursor = 0
        while True:
            reply = await self(
                f"SSCAN {key} {cursor}",
                self.client.sscan(key, cursor, count=_SCAN_COUNT),
            )
            cursor = int(reply[0])
            values += [_text(value) for value in reply[1]]
            if cursor == 0:
                return values, True
            if len(values) >= limit:
                return values, False

    async def sample(self, key: str) -> list[str]:
        reply = await self(
            f"SRANDMEMBER {key} {SAMPLE_VALUES}",
            self.client.srandmember(key, SAMPLE_VALUES),
        )
        # With a count, SRANDMEMBER answers a list (empty for a missing key).
        values = reply if isinstance(reply, list) else [] if reply is None else [reply]
        return [_text(value) for value in values]


async def diagnose_redis(  # noqa: PLR0913 - the documented options, all keyword-only
    url: str,
    *,
    prefix: str | None = None,
    context_keys: Iterable[str] = (),
    stale_after: float = DEFAULT_STALE_AFTER,
    timeout: float = DEFAULT_TIMEOUT,
    scan_limit: int = DEFAULT_SCAN_LIMIT,
) -> Result[StoreReport, LDStoreError]:
    """Read the Redis big segment store at ``url`` (``redis://``, ``rediss://``, ``unix://``).

    ``Ok(report)`` when Redis answered, healthy or not: ``report.healthy`` says whether
    SDKs using ``prefix`` trust it. Without ``prefix``, a SCAN bounded by ``scan_limit``
    keys looks for prefixes; one found is diagnosed, else SDKs' default ``launchdarkly``.
    ``context_keys`` adds each context's memberships. Every command is bounded by
    ``timeout`` seconds, and nothing is ever written.

    ``Err``: ``StoreUnreachableError`` (refused, timed out, credentials refused),
    ``InputValidationError`` (not a Redis URL, a bound that is not positive) or
    ``MissingExtraError`` without the ``redis`` extra.
    """
    try:
        from redis.asyncio import Redis  # noqa: PLC0415 - the optional extra
        from redis.asyncio.retry import Retry  # noqa: PLC0415
        from redis.backoff import NoBackoff  # noqa: PLC0415
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("redis"):
            raise
        return Err(missing_extra("redis", "Redis"))
    invalid = invalid_options(stale_after, timeout, scan_limit)
    if invalid is not None:
        return Err(invalid)
    location = redact_url(url)
    secrets = url_secrets(url)
    try:
        client = Redis.from_url(  # pyright: ignore[reportUnknownMemberType]  # redis types **kwargs loosely
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # one attempt: a doctor reports, it does not insist
        )
    except (ValueError, TypeError) as error:
        message = f"not a Redis URL ({location}): {scrub(str(error), secrets)}"
        return Err(InputValidationError(message=message, field="url"))
    context_keys = tuple(context_keys)
    try:
        async with client:
            reader = _Reader(client, timeout, secrets)
            report = await _diagnose(
                reader,
                location=location,
                prefix=prefix or None,
                context_keys=context_keys,
                stale_after=stale_after,
                scan_limit=scan_limit,
            )
    except _RefusedError as error:  # e.g. NOPERM: this user may not read what SDKs read
        message = f"Redis refused it: {error.detail}"
        return Err(StoreUnreachableError(message=message, method=error.command, url=location))
    except _UnreachableError as error:
        return Err(StoreUnreachableError(message=error.detail, method=error.command, url=location))
    return Ok(report)


async def _diagnose(  # noqa: PLR0913 - one call from diagnose_redis
    reader: _Reader,
    *,
    location: str,
    prefix: str | None,
    context_keys: Sequence[str],
    stale_after: float,
    scan_limit: int,
) -> StoreReport:
    started = time.monotonic()
    _ = await reader("PING", reader.client.ping())  # pyright: ignore[reportUnknownMemberType]  # **kwargs
    elapsed = (time.monotonic() - started) * 1000
    checks = [Check("reachable", CheckStatus.OK, f"PING answered in {elapsed:.0f} ms")]
    prefixes: tuple[str, ...] | None = None
    if prefix is None:
        found, check = await _discover(reader, scan_limit)
        prefix = found[0] if len(found) == 1 else DEFAULT_PREFIX
        checks.append(check)
        prefixes = tuple(found)
    millis, metadata = await _metadata(reader, prefix)
    checks.append(metadata)
    fresh = freshness(millis, now=datetime.now(timezone.utc), stale_after=stale_after)
    checks += fresh.checks
    checks += await _sample_members(reader, prefix)
    memberships: dict[str, dict[str, bool]] = {}
    for context_key in context_keys:
        check, refs = await _membership(reader, prefix, context_key)
        checks.append(check)
        memberships[context_key] = refs
    return StoreReport(
        store="redis",
        location=location,
        prefix=prefix,
        synchronized_on=fresh.synchronized_on,
        age_seconds=fresh.age_seconds,
        stale=fresh.stale,
        checks=tuple(checks),
        memberships=memberships,
        prefixes=prefixes,
    )


async def _discover(reader: _Reader, scan_limit: int) -> tuple[list[str], Check]:
    suffix = f":{_SYNCHRONIZED_ON}"
    try:
        keys, examined, complete = await reader.scan(f"*{suffix}", limit=scan_limit)
    except _RefusedError as error:  # e.g. NOPERM: the user may not SCAN
        check = Check("prefix discovery", CheckStatus.WARNING, f"SCAN refused: {error.detail}")
        return [], check
    found = sorted({key[: -len(suffix)] for key in keys if key.endswith(suffix)})
    prefix = found[0] if len(found) == 1 else DEFAULT_PREFIX
    return found, discovery_check(
        found, prefix, examined=f"about {examined} keys", complete=complete
    )


async def _metadata(reader: _Reader, prefix: str) -> tuple[int | None, Check]:
    key = f"{prefix}:{_SYNCHRONIZED_ON}"
    kind = await reader.key_type(key)
    if kind == "none":
        return None, Check(
            "metadata",
            CheckStatus.FAILURE,
            f"{key} is missing: LaunchDarkly has not synchronized this store with this prefix",
        )
    if kind != "string":
        return None, Check(
            "metadata", CheckStatus.FAILURE, f"{key} is a {kind}, not a string of Unix milliseconds"
        )
    raw = await reader(f"GET {key}", reader.client.get(key))
    text = "" if raw is None else _text(raw)
    millis = parse_millis(text)
    if millis is None:
        return None, Check(
            "metadata",
            CheckStatus.FAILURE,
            f"{key} is {text[:40]!r}, not an integer of Unix milliseconds: SDKs fail to read it",
        )
    return millis, Check("metadata", CheckStatus.OK, f"{key} = {millis}")


async def _sample_members(reader: _Reader, prefix: str) -> list[Check]:
    """``member key types`` and ``member values`` over a bounded sample of membership keys."""
    pattern_prefix = _glob_escape(prefix)
    keys: list[str] = []
    try:
        for kind in (_INCLUDE, _EXCLUDE):
            found, _, _ = await reader.scan(f"{pattern_prefix}:{kind}:*", limit=SAMPLE_KEYS * 20)
            keys += found[:SAMPLE_KEYS]
    except _RefusedError as error:
        return [Check("member key types", CheckStatus.WARNING, f"SCAN refused: {error.detail}")]
    types = await reader.types(keys)
    wrong = [f"{key} is a {kind}" for key, kind in zip(keys, types, strict=True) if kind != "set"]
    sets = [key for key, kind in zip(keys, types, strict=True) if kind == "set"]
    if wrong:
        types_check = Check(
            "member key types",
            CheckStatus.FAILURE,
            f"{len(wrong)} of {len(keys)} sampled membership keys are not sets "
            f"(SDKs fail reading them): {shown(wrong, 3)}",
        )
    elif keys:
        types_check = Check(
            "member key types", CheckStatus.OK, f"{len(keys)} sampled membership keys are sets"
        )
    else:
        types_check = Check(
            "member key types", CheckStatus.OK, f"no membership keys under {prefix!r} (no members)"
        )
    values: list[str] = []
    for key in sets[:SAMPLE_KEYS]:
        values += await reader.sample(key)
    return [types_check, member_value_check(values, where=f"under {prefix!r}")]


async def _membership(
    reader: _Reader, prefix: str, context_key: str
) -> tuple[Check, dict[str, bool]]:
    digest = context_hash(context_key)
    problems: list[str] = []
    refs: dict[str, list[str]] = {}
    for kind in (_INCLUDE, _EXCLUDE):
        key = f"{prefix}:{kind}:{digest}"
        key_type = await reader.key_type(key)
        refs[kind] = []
        if key_type == "none":
            continue
        if key_type != "set":
            problems.append(f"{key} is a {key_type}, not a set: SDKs fail to read it")
            continue
        refs[kind], complete = await reader.members(key, limit=MAX_MEMBERS)
        if not complete:
            problems.append(f"{key} has more than {MAX_MEMBERS} members; read only those")
        bad = [value for value in refs[kind] if not is_segment_ref(value)]
        if bad:
            problems.append(f"{key} holds values that are not segment refs: {shown(bad)}")
    return membership(context_key, refs[_INCLUDE], refs[_EXCLUDE], problems)


def _glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis MATCH pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


def _text(value: bytes | str) -> str:
    # Keys and values are bytes (no decode_responses): a stray non-UTF-8 byte is shown, not fatal.
    return value.decode(errors="replace") if isinstance(value, bytes) else value
