"""``diagnose_redis``: read a Redis big segment store as SDKs do, and only read.

Keys (``launchdarkly-api.md``): ``<prefix>:big_segments_synchronized_on`` (a string of
Unix ms) and the sets ``<prefix>:big_segment_include:<hash>`` and
``<prefix>:big_segment_exclude:<hash>``. The commands sent are PING, INFO, DBSIZE, TYPE,
GET, PTTL, SCAN, SSCAN and SRANDMEMBER (plus CLUSTER SLOTS on a cluster): a user limited
to ``+@read +ping +info`` can run the doctor, and one without ``+info`` gets warnings
instead of the eviction and topology checks.

Every reply is checked for its shape before it is used: a server that answers with the
wrong types is a ``StoreUnreachableError``, never an exception out of ``diagnose_redis``.
Every loop over a cursor is bounded in replies, every command in time, and the whole
diagnosis by its deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import attrs

from ldstore.doctor._redis_client import (
    MAX_CURSOR_REPLIES,
    BadReplyError,
    Reader,
    RedisTLS,
    RefusedError,
    UnreachableError,
    address,
    client_certificate_hint,
    connection_options,
    invalid_tls,
    node_infos,
)
from ldstore.doctor._report import (
    DEFAULT_DEADLINE,
    DEFAULT_SCAN_LIMIT,
    DEFAULT_STALE_AFTER,
    DEFAULT_TIMEOUT,
    MAX_MEMBERS,
    MIN_SCRUBBED,
    SAMPLE_KEYS,
    Budget,
    Check,
    CheckStatus,
    DeadlineError,
    MemberSets,
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
    prefix_check,
    redact_url,
    scrub,
    shown,
    url_secrets,
)
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.result import Err, Ok, Result

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import ClusterNode

__all__ = ["RedisTLS", "diagnose_redis"]

DEFAULT_PREFIX = "launchdarkly"  # what SDKs use when none is configured
_SYNCHRONIZED_ON = "big_segments_synchronized_on"
_INCLUDE = "big_segment_include"
_EXCLUDE = "big_segment_exclude"
# LaunchDarkly's docs: most server-side SDKs and the Relay Proxy support neither Redis
# Cluster nor Sentinel; the Go SDK's go-redis integration (beta) does (README, "Doctor").
CONSUMERS = (
    "LaunchDarkly's docs say most server-side SDKs and the Relay Proxy support neither "
    "Redis Cluster nor Sentinel (the Go SDK's go-redis integration, in beta, does)"
)
_GRACE = 1.0  # seconds past the deadline before the backstop cancels (closing connections)
_ALLKEYS = "allkeys-"  # eviction policies that may evict any key, membership sets included
_LOG = logging.getLogger("ldstore")


async def diagnose_redis(  # noqa: PLR0913, PLR0911, C901 - the documented options; one return per outcome
    url: str,
    *,
    prefix: str | None = None,
    context_keys: Iterable[str] = (),
    stale_after: float = DEFAULT_STALE_AFTER,
    timeout: float = DEFAULT_TIMEOUT,
    scan_limit: int = DEFAULT_SCAN_LIMIT,
    deadline: float = DEFAULT_DEADLINE,
    password: str | None = None,
    tls: RedisTLS | None = None,
    sentinel: str | None = None,
    expected_prefix: str | None = None,
) -> Result[StoreReport, LDStoreError]:
    """Read the Redis big segment store at ``url`` (``redis://``, ``rediss://``, ``unix://``).

    ``Ok(report)`` when Redis answered, healthy or not: ``report.healthy`` says whether
    SDKs using ``prefix`` trust it. Without ``prefix``, a SCAN bounded by ``scan_limit``
    keys looks for prefixes; one found is diagnosed, else SDKs' default ``launchdarkly``.
    ``context_keys`` adds each context's memberships. Every command is bounded by
    ``timeout`` seconds, the whole diagnosis by ``deadline``, and nothing is ever written.

    ``password`` overrides the URL's (so it need not appear in a process's arguments);
    ``tls`` sets a CA, a client certificate or no verification for ``rediss://``. With
    ``sentinel`` (the Sentinel's own ``redis://HOST:PORT``), ``url``'s host is the name
    of the master the Sentinel watches: ``redis://:PASSWORD@mymaster/0``. A Redis Cluster
    is found by itself (INFO) and read across its nodes. ``expected_prefix`` (the
    environment's client-side ID, see ``client_side_id``) is the prefix diagnosed when
    none is given, and a ``prefix`` check says whether the data sits under it.

    ``Err``: ``StoreUnreachableError`` (refused, timed out, credentials or certificate
    refused, a reply that is not Redis's), ``InputValidationError`` (not a Redis URL, a
    bound that is not positive, TLS files that are not there) or ``MissingExtraError``
    without the ``redis`` extra.
    """
    try:
        from redis.asyncio import Redis  # noqa: PLC0415 - the optional extra
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("redis"):
            raise
        return Err(missing_extra("redis", "Redis"))
    invalid = invalid_options(stale_after, timeout, scan_limit, deadline)
    if invalid is not None:
        return Err(invalid)
    given = [password] if password is not None and len(password) >= MIN_SCRUBBED else []
    secrets = (*url_secrets(url), *url_secrets(sentinel or ""), *given)
    location = redact_url(url, secrets)
    if sentinel is not None:
        location = f"{location} via Sentinel {redact_url(sentinel, secrets)}"
    refused = invalid_tls(url, tls)
    if refused is not None:
        return Err(refused)
    options = connection_options(timeout, password, tls)
    try:
        urlsplit(url).port  # noqa: B018 - a port that is not a number raises here, not later
        client: Redis | None = None if sentinel is not None else Redis.from_url(url, **options)  # pyright: ignore[reportUnknownMemberType]  # redis types **kwargs loosely
    except (ValueError, TypeError) as error:
        message = f"not a Redis URL ({location}): {scrub(str(error), secrets)}"
        return Err(InputValidationError(message=message, field="url"))
    state = _State(location=location, secrets=secrets, budget=Budget(timeout, deadline))
    try:
        report = await asyncio.wait_for(
            _connect(
                state,
                client,
                url=url,
                sentinel=sentinel,
                options=options,
                prefix=prefix or None,
                context_keys=tuple(context_keys),
                stale_after=stale_after,
                scan_limit=scan_limit,
                tls=tls,
                expected_prefix=expected_prefix,
            ),
            deadline + _GRACE,  # a backstop: every store call is bounded by the budget already
        )
    except DeadlineError as error:
        message = state.budget.message()
        return Err(StoreUnreachableError(message=message, method=error.command, url=location))
    except asyncio.TimeoutError:
        message = state.budget.message()
        return Err(StoreUnreachableError(message=message, method=state.last, url=location))
    except RefusedError as error:  # e.g. NOPERM: this user may not read what SDKs read
        message = f"Redis refused it: {_refusal(error.detail)}"
        return Err(StoreUnreachableError(message=message, method=error.command, url=location))
    except BadReplyError as error:
        message = f"the reply is not one Redis gives this command ({error.detail})"
        return Err(StoreUnreachableError(message=message, method=error.command, url=location))
    except UnreachableError as error:
        message = error.detail + client_certificate_hint(url, tls, error.detail)
        return Err(StoreUnreachableError(message=message, method=error.command, url=location))
    return Ok(report)


@attrs.define
class _State:
    """What the deadline's error needs to know: where, and the command in flight."""

    location: str
    secrets: Sequence[str]
    budget: Budget
    reader: Reader | None = None

    @property
    def last(self) -> str:
        return "PING" if self.reader is None else self.reader.last


async def _connect(  # noqa: PLR0913 - one call from diagnose_redis
    state: _State,
    client: Redis | None,
    *,
    url: str,
    sentinel: str | None,
    options: Mapping[str, Any],
    prefix: str | None,
    context_keys: Sequence[str],
    stale_after: float,
    scan_limit: int,
    tls: RedisTLS | None,
    expected_prefix: str | None,
) -> StoreReport:
    from redis.asyncio import Redis  # noqa: PLC0415 - the optional extra

    async with AsyncExitStack() as stack:  # the clients, closed whatever happens
        first: list[Check] = []
        if tls is not None and tls.insecure:
            first.append(
                Check(
                    "tls",
                    CheckStatus.WARNING,
                    "certificate verification is OFF: this store's identity was not checked",
                )
            )
        if sentinel is not None:
            master, check = await _ask_sentinel(state, url, sentinel, options)
            first.append(check)
            client = Redis.from_url(master, **options)  # pyright: ignore[reportUnknownMemberType]
        assert client is not None  # noqa: S101 - built by the caller or from the Sentinel's answer
        _ = stack.push_async_callback(client.aclose)
        reader = Reader(client, state.budget, state.secrets)
        state.reader = reader
        return await _diagnose(
            reader,
            first,
            stack,
            url=url,
            options=options,
            location=state.location,
            prefix=prefix,
            context_keys=context_keys,
            stale_after=stale_after,
            scan_limit=scan_limit,
            sentinel=sentinel is not None,
            expected_prefix=expected_prefix,
        )


async def _ask_sentinel(
    state: _State, url: str, sentinel: str, options: Mapping[str, Any]
) -> tuple[str, Check]:
    """The master's URL (``url`` with the Sentinel's answer as host), and the topology check."""
    from redis.asyncio.sentinel import Sentinel  # noqa: PLC0415 - the optional extra

    try:
        where = urlsplit(sentinel)
        host, port = where.hostname or "127.0.0.1", where.port or 26379
        given = urlsplit(url)
    except ValueError as error:
        command = "SENTINEL"
        raise UnreachableError(command, f"not a Sentinel URL: {error}") from None
    userinfo, _, name = given.netloc.rpartition("@")
    name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    sentinel_options = {
        "socket_timeout": state.budget.timeout,
        "socket_connect_timeout": state.budget.timeout,
        "password": where.password,
        "username": where.username,
    }
    watcher = Sentinel([(host, port)], sentinel_kwargs=sentinel_options)
    reader = Reader(watcher.sentinels[0], state.budget, state.secrets)
    state.reader = reader
    try:
        found: object = await reader(
            f"SENTINEL GET-MASTER-ADDR-BY-NAME {name}",
            cast("Awaitable[object]", watcher.discover_master(name)),
        )
    finally:
        for connection in watcher.sentinels:
            await connection.aclose()
    master_host, master_port = address(found, f"SENTINEL GET-MASTER-ADDR-BY-NAME {name}")
    netloc = (
        f"{userinfo}@{master_host}:{master_port}" if userinfo else f"{master_host}:{master_port}"
    )
    master = given._replace(netloc=netloc).geturl()
    check = Check(
        "topology",
        CheckStatus.WARNING,
        f"Sentinel at {host}:{port} names {master_host}:{master_port} as master {name!r}; "
        f"{CONSUMERS}",
    )
    return master, check


async def _diagnose(  # noqa: PLR0913 - one call from _connect
    reader: Reader,
    first: list[Check],
    stack: AsyncExitStack,
    *,
    url: str,
    options: Mapping[str, Any],
    location: str,
    prefix: str | None,
    context_keys: Sequence[str],
    stale_after: float,
    scan_limit: int,
    sentinel: bool,
    expected_prefix: str | None,
) -> StoreReport:
    started = time.monotonic()
    command = "PING"
    pong = await reader(command, reader.client.ping())
    if pong is not True:  # redis-py reads a PONG as True; anything else is not a Redis answer
        raise BadReplyError(command, f"{str(pong)[:40]!r}, not PONG")
    elapsed = (time.monotonic() - started) * 1000
    checks = [*first, Check("reachable", CheckStatus.OK, f"PING answered in {elapsed:.0f} ms")]
    info = await _info(reader)
    if info is not None and info.get("redis_mode") == "sentinel":
        checks.append(
            Check(
                "topology",
                CheckStatus.FAILURE,
                "this is a Redis Sentinel, not a data server: give the Sentinel's URL as "
                "the Sentinel and the master's name as the URL's host",
            )
        )
        return _report(location, prefix, checks)
    cluster = info is not None and str(info.get("cluster_enabled", "0")) == "1"
    if cluster:
        reader = await _cluster_reader(reader, url, options, stack)
        checks.append(
            Check(
                "topology",
                CheckStatus.WARNING,
                f"Redis Cluster of {len(reader.nodes)} primaries (read across all of them); "
                f"{CONSUMERS}",
            )
        )
    elif not sentinel:
        checks.append(_standalone(info))
    checks += await _hygiene(reader, info, cluster=cluster)
    prefixes: tuple[str, ...] | None = None
    given = prefix
    if prefix is None:
        found, check = await _discover(reader, scan_limit, expected_prefix)
        prefix = expected_prefix or (found[0] if len(found) == 1 else DEFAULT_PREFIX)
        checks.append(check)
        prefixes = tuple(found)
    if expected_prefix is not None:
        checks.append(prefix_check(expected_prefix, given, prefixes))
    millis, metadata = await _metadata(reader, prefix)
    checks.append(metadata)
    fresh = freshness(millis, now=datetime.now(timezone.utc), stale_after=stale_after)
    checks += fresh.checks
    sampled, sample_checks = await _sample_members(reader, prefix)
    checks += sample_checks
    checks.append(await _ttls(reader, [f"{prefix}:{_SYNCHRONIZED_ON}", *sampled]))
    if cluster:
        checks.append(_slots(reader, [f"{prefix}:{_SYNCHRONIZED_ON}", *sampled]))
    memberships: dict[str, dict[str, bool]] = {}
    member_sets: dict[str, MemberSets] = {}
    for context_key in context_keys:
        check, refs, sets = await _membership(reader, prefix, context_key)
        checks.append(check)
        memberships[context_key] = refs
        member_sets[context_key] = sets
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
        member_sets=member_sets,
    )


def _report(location: str, prefix: str | None, checks: Sequence[Check]) -> StoreReport:
    return StoreReport(
        store="redis",
        location=location,
        prefix=prefix,
        synchronized_on=None,
        age_seconds=None,
        stale=True,
        checks=tuple(checks),
    )


async def _info(reader: Reader) -> Mapping[str, object] | None:
    """INFO's fields, or ``None`` where this user may not run it (a warning says so later)."""
    try:
        return await reader.info()
    except RefusedError:
        return None


async def _cluster_reader(
    reader: Reader, url: str, options: Mapping[str, Any], stack: AsyncExitStack
) -> Reader:
    """A reader on the cluster client: keys routed by slot, SCAN sent to every primary."""
    from redis.asyncio.cluster import RedisCluster  # noqa: PLC0415 - the optional extra

    cluster = RedisCluster.from_url(url, **options)  # pyright: ignore[reportUnknownMemberType]
    _ = stack.push_async_callback(cluster.aclose)
    clustered = Reader(cluster, reader.budget, reader.secrets)
    _ = await clustered("CLUSTER SLOTS", cluster.initialize())
    clustered.nodes = list(cluster.get_primaries())
    return clustered


def _standalone(info: Mapping[str, object] | None) -> Check:
    if info is None:
        return Check("topology", CheckStatus.WARNING, "not checked: INFO refused (grant +info)")
    role = str(info.get("role", "master"))
    detail = "a single Redis server (no cluster, no Sentinel)"
    if role != "master":
        detail += f", a {role}: SDKs reading it see only what it has replicated"
    return Check("topology", CheckStatus.OK, detail)


async def _hygiene(
    reader: Reader, info: Mapping[str, object] | None, *, cluster: bool
) -> list[Check]:
    """``eviction``: maxmemory_policy and evicted_keys, from INFO (readable where CONFIG is not)."""
    if info is None:
        return [Check("eviction", CheckStatus.WARNING, "not checked: INFO refused (grant +info)")]
    infos: list[Mapping[str, object]] = [info]
    if cluster:
        infos = []
        for node in reader.nodes:
            reply = await reader(
                f"INFO (node {_node_name(node)})", reader.client.info(target_nodes=node)
            )
            infos += node_infos(reply)
    policies = sorted({str(item.get("maxmemory_policy", "unknown")) for item in infos})
    evicted = sum(_count(item.get("evicted_keys")) for item in infos)
    risky = [policy for policy in policies if policy.startswith(_ALLKEYS)]
    shown_policies = ", ".join(policies)
    if risky:
        detail = (
            f"maxmemory-policy {shown_policies}: under memory pressure Redis may evict "
            "membership sets, and SDKs then see contexts in no segment"
        )
        status = CheckStatus.WARNING
    else:
        detail = f"maxmemory-policy {shown_policies}: membership sets are not evicted"
        status = CheckStatus.OK
    if evicted:
        detail += f"; {evicted} keys have been evicted since the server started"
        status = CheckStatus.WARNING
    return [Check("eviction", status, detail)]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _node_name(node: ClusterNode | None) -> str:
    return "-" if node is None else f"{node.host}:{node.port}"


async def _discover(
    reader: Reader, scan_limit: int, expected_prefix: str | None
) -> tuple[list[str], Check]:
    suffix = f":{_SYNCHRONIZED_ON}"
    try:
        keys, examined, complete = await reader.scan(f"*{suffix}", limit=scan_limit)
        size = await reader.dbsize() if complete else None
    except RefusedError as error:  # e.g. NOPERM: the user may not SCAN
        check = Check("prefix discovery", CheckStatus.WARNING, f"SCAN refused: {error.detail}")
        return [], check
    found = sorted({key[: -len(suffix)] for key in keys if key.endswith(suffix)})
    prefix = expected_prefix or (found[0] if len(found) == 1 else DEFAULT_PREFIX)
    # A finished SCAN saw every key: say how many (0 on an empty database), not its COUNT.
    text = f"all {size} keys" if size is not None else f"about {examined} keys"
    return found, discovery_check(found, prefix, examined=text, complete=complete)


async def _metadata(reader: Reader, prefix: str) -> tuple[int | None, Check]:
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
    text = await reader.get(key) or ""
    millis = parse_millis(text)
    if millis is None:
        return None, Check(
            "metadata",
            CheckStatus.FAILURE,
            f"{key} is {text[:40]!r}, not an integer of Unix milliseconds: SDKs fail to read it",
        )
    return millis, Check("metadata", CheckStatus.OK, f"{key} = {millis}")


async def _sample_members(reader: Reader, prefix: str) -> tuple[list[str], list[Check]]:
    """``member key types`` and ``member values`` over a bounded sample of membership keys."""
    pattern_prefix = _glob_escape(prefix)
    keys: list[str] = []
    try:
        for kind in (_INCLUDE, _EXCLUDE):
            found, _, _ = await reader.scan(f"{pattern_prefix}:{kind}:*", limit=SAMPLE_KEYS * 20)
            keys += found[:SAMPLE_KEYS]
    except RefusedError as error:
        return [], [Check("member key types", CheckStatus.WARNING, f"SCAN refused: {error.detail}")]
    types = [await reader.key_type(key) for key in keys]
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
    return sets, [types_check, member_value_check(values, where=f"under {prefix!r}")]


async def _ttls(reader: Reader, keys: Sequence[str]) -> Check:
    """``key expiry``: the metadata and the sampled membership keys should never expire."""
    try:
        expiring = [key for key in keys if await reader.pttl(key) >= 0]
    except RefusedError as error:
        return Check("key expiry", CheckStatus.WARNING, f"PTTL refused: {error.detail}")
    if expiring:
        return Check(
            "key expiry",
            CheckStatus.WARNING,
            f"{len(expiring)} of {len(keys)} sampled keys have a TTL and will vanish "
            f"(LaunchDarkly writes none; SDKs then see contexts in no segment): {shown(expiring, 3)}",
        )
    return Check("key expiry", CheckStatus.OK, f"none of {len(keys)} sampled keys has a TTL")


def _slots(reader: Reader, keys: Sequence[str]) -> Check:
    """``hash slots``: where a cluster keeps one prefix's keys (multi-key commands need one slot)."""
    cluster = reader.client
    slots = {int(cluster.keyslot(key)) for key in keys}
    nodes = {_node_name(cluster.get_node_from_key(key)) for key in keys}
    if len(slots) <= 1:
        return Check("hash slots", CheckStatus.OK, f"the {len(keys)} sampled keys share one slot")
    return Check(
        "hash slots",
        CheckStatus.WARNING,
        f"the {len(keys)} sampled keys of this prefix lie in {len(slots)} hash slots on "
        f"{len(nodes)} node(s): single-key reads (what SDKs send) work through a cluster "
        "client, but a consumer without cluster support gets MOVED, and multi-key commands "
        "get CROSSSLOT",
    )


async def _membership(
    reader: Reader, prefix: str, context_key: str
) -> tuple[Check, dict[str, bool], MemberSets]:
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
            problems.append(
                f"{key}: read {len(refs[kind])} members and stopped (more than {MAX_MEMBERS}, "
                f"or a cursor that did not end within {MAX_CURSOR_REPLIES} replies)"
            )
        bad = [value for value in refs[kind] if not is_segment_ref(value)]
        if bad:
            problems.append(f"{key} holds values that are not segment refs: {shown(bad)}")
    return membership(context_key, refs[_INCLUDE], refs[_EXCLUDE], problems)


def _glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis MATCH pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


def _refusal(detail: str) -> str:
    if detail.startswith(("MOVED", "ASK ")):
        return f"{detail} (this server is a Redis Cluster node; the doctor could not read it as a cluster)"
    return detail
