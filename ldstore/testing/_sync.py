"""The fake as LaunchDarkly's syncer: each `on` integration's big segments, written into its store.

Layout (reference page, "The big segment store itself"): the prefix is the environment's
client-side ID; per context hash (base64 of the SHA-256 of the key's UTF-8) a set of
segment refs `<key>.g<generation>` it is included in and one it is excluded from; and
`synchronizedOn` (Unix ms), refreshed every sync. Redis through `redis.asyncio` (extra
`redis`), DynamoDB through aiobotocore (extra `dynamodb`), imported only when a store of
that kind is synced.

Each integration syncs in its own task, bounded by SYNC_TIMEOUT: a slow or hanging store
fails its own sync (reported in `_status`) and never holds up the API or other stores.
A store's secrets (the Redis password) are used to connect and are masked in every
message the syncer keeps.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import attrs

from ldstore.testing._segments import Segment, Segments, client_side_id
from ldstore.testing._state import Store
from ldstore.text import printable, redact

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import QueryInputTypeDef, WriteRequestTypeDef

DEFAULT_SYNC_INTERVAL = 2.0
"""Seconds between syncs (LaunchDarkly's own period is not documented; SDKs poll every 5 s)."""
SYNC_TIMEOUT = 20.0
"""The longest one sync of one store may take; past it, the sync fails (well within 30 s)."""
CONNECT_TIMEOUT = 5.0
"""Connecting, and each command or request, to a store."""
REDIS_BATCH = 5000
"""Redis commands per pipelined round trip."""
DYNAMODB_BATCH = 25  # BatchWriteItem's own limit
DYNAMODB_CONCURRENCY = 8
MAX_ERRORS = 10
"""`_status.errors` keeps this many of the most recent errors."""
CHUNK = 5000
"""Context keys handled between two yields to the event loop (the API keeps answering)."""

_log = logging.getLogger("ldstore.testing")

_NONE: frozenset[str] = frozenset()
Members = tuple[frozenset[str], frozenset[str]]
"""Included and excluded context keys of one segment ref."""


def context_hash(context_key: str) -> str:
    """How stores key a context: standard base64 of the SHA-256 of its UTF-8 bytes."""
    return base64.b64encode(hashlib.sha256(context_key.encode()).digest()).decode()


def _millis() -> int:
    return time.time_ns() // 1_000_000


@attrs.frozen
class Change:
    """One context's segment refs before and after: what a store must change for it."""

    context_hash: str
    included_before: frozenset[str]
    excluded_before: frozenset[str]
    included: frozenset[str]
    excluded: frozenset[str]


async def diff(before: Mapping[str, Members], after: Mapping[str, Members]) -> list[Change]:
    """Every context whose refs differ between two snapshots (segment ref -> members)."""
    touched: set[str] = set()
    for ref in before.keys() | after.keys():
        old = before.get(ref, (_NONE, _NONE))
        new = after.get(ref, (_NONE, _NONE))
        if old[0] is not new[0]:
            touched |= old[0] ^ new[0]
        if old[1] is not new[1]:
            touched |= old[1] ^ new[1]
    changes: list[Change] = []
    for count, key in enumerate(touched, 1):
        changes.append(
            Change(
                context_hash(key),
                frozenset(ref for ref, (inc, _) in before.items() if key in inc),
                frozenset(ref for ref, (_, exc) in before.items() if key in exc),
                frozenset(ref for ref, (inc, _) in after.items() if key in inc),
                frozenset(ref for ref, (_, exc) in after.items() if key in exc),
            )
        )
        if count % CHUNK == 0:
            await asyncio.sleep(0)
    return changes


def snapshot(segments: Iterable[Segment]) -> dict[str, Members]:
    """Segment ref -> members, sharing each segment's frozen copy (no copy when unchanged)."""
    return {segment.ref: segment.members() for segment in segments}


class Writer(Protocol):
    """What the syncer needs from a store."""

    async def clear(self) -> None:
        """Remove every membership under the prefix (before a full sync)."""

    async def write(self, changes: Sequence[Change]) -> None:
        """Apply the changes."""

    async def mark_synchronized(self, millis: int) -> None:
        """Write `synchronizedOn`."""

    async def close(self) -> None:
        """Release the connection."""


class StoreError(Exception):
    """A sync failed for a reason worth saying in `_status` (already free of secrets)."""

    def __init__(self, message: str, status_code: int = 503) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class RedisWriter:
    """Writes LaunchDarkly's Redis layout; one client per integration."""

    def __init__(self, prefix: str, config: Mapping[str, Any]) -> None:
        try:
            from redis.asyncio import Redis  # noqa: PLC0415 - the optional extra
            from redis.asyncio.retry import Retry  # noqa: PLC0415
            from redis.backoff import NoBackoff  # noqa: PLC0415
        except ModuleNotFoundError as error:
            message = "syncing Redis needs the redis extra: pip install 'ldstore[redis]'"
            raise StoreError(message) from error
        self._prefix = prefix
        port = str(config.get("port") or "6379")
        self._client = Redis(
            host=str(config["host"]),
            port=int(port),
            username=config.get("username") or None,
            password=config.get("password") or None,
            ssl=bool(config.get("tlsEnabled", False)),
            socket_timeout=CONNECT_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # the next sync is the retry
        )

    async def clear(self) -> None:
        # The prefix is hex digits: nothing in it is a glob character.
        pattern = f"{self._prefix}:big_segment_*"
        batch: list[bytes] = []
        keys = cast(
            "AsyncIterator[bytes]",
            self._client.scan_iter(match=pattern, count=1000),  # pyright: ignore[reportUnknownMemberType]  # redis types **kwargs loosely
        )
        async for key in keys:
            batch.append(key)
            if len(batch) >= REDIS_BATCH:
                _ = await self._client.delete(*batch)
                batch = []
        if batch:
            _ = await self._client.delete(*batch)

    async def write(self, changes: Sequence[Change]) -> None:
        pipe = self._client.pipeline(transaction=False)
        queued = 0
        for change in changes:
            for kind, before, after in (
                ("include", change.included_before, change.included),
                ("exclude", change.excluded_before, change.excluded),
            ):
                key = f"{self._prefix}:big_segment_{kind}:{change.context_hash}"
                added, removed = after - before, before - after
                if added:
                    _ = pipe.sadd(key, *added)
                    queued += 1
                if removed:
                    _ = pipe.srem(key, *removed)
                    queued += 1
            if queued >= REDIS_BATCH:
                _ = await pipe.execute()
                queued = 0
        if queued:
            _ = await pipe.execute()

    async def mark_synchronized(self, millis: int) -> None:
        _ = await self._client.set(f"{self._prefix}:big_segments_synchronized_on", str(millis))

    async def close(self) -> None:
        await self._client.aclose()


class DynamoDBWriter:
    """Writes LaunchDarkly's DynamoDB layout into `tableName` at the fake's endpoint."""

    def __init__(self, prefix: str, config: Mapping[str, Any], endpoint: str | None) -> None:
        if endpoint is None:
            message = (
                "the fake syncs DynamoDB only at an endpoint it is given "
                "(FakeLaunchDarkly(dynamodb_endpoint=...) or --dynamodb-endpoint URL)"
            )
            raise StoreError(message)
        self._prefix = prefix
        self._table = str(config["tableName"])
        self._region = str(config["region"])
        self._endpoint = endpoint
        self._stack = contextlib.AsyncExitStack()
        self._client: DynamoDBClient | None = None

    async def _open(self) -> DynamoDBClient:
        if self._client is not None:
            return self._client
        try:
            from aiobotocore.config import AioConfig  # noqa: PLC0415 - the optional extra
            from aiobotocore.session import get_session  # noqa: PLC0415
        except ModuleNotFoundError as error:
            message = "syncing DynamoDB needs the dynamodb extra: pip install 'ldstore[dynamodb]'"
            raise StoreError(message) from error
        config = AioConfig(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=CONNECT_TIMEOUT,
            retries={"mode": "standard", "total_max_attempts": 1},  # the next sync retries
        )
        # Credentials come from the standard AWS environment variables and files.
        creating = get_session().create_client(  # pyright: ignore[reportUnknownMemberType]  # the stubs name every AWS service
            "dynamodb", region_name=self._region, endpoint_url=self._endpoint, config=config
        )
        client = await self._stack.enter_async_context(creating)
        self._client = client
        return client

    def _namespace(self, name: str) -> str:
        return f"{self._prefix}:{name}"

    async def clear(self) -> None:
        client = await self._open()
        namespace = self._namespace("big_segments_user")
        keys: list[str] = []
        query: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "#n = :n",
            "ExpressionAttributeNames": {"#n": "namespace", "#k": "key"},
            "ExpressionAttributeValues": {":n": {"S": namespace}},
            "ProjectionExpression": "#k",
            "ConsistentRead": True,
        }
        while True:
            page = await client.query(**query)
            keys += [str(item["key"].get("S", "")) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
            query["ExclusiveStartKey"] = start
        requests: list[WriteRequestTypeDef] = [
            {"DeleteRequest": {"Key": {"namespace": {"S": namespace}, "key": {"S": key}}}}
            for key in keys
        ]
        await self._batch(requests)

    async def write(self, changes: Sequence[Change]) -> None:
        namespace = self._namespace("big_segments_user")
        requests: list[WriteRequestTypeDef] = []
        for change in changes:
            key: dict[str, Any] = {"namespace": {"S": namespace}, "key": {"S": change.context_hash}}
            if not change.included and not change.excluded:
                requests.append({"DeleteRequest": {"Key": key}})
                continue
            item = dict(key)
            # A string set may not be empty: leave the attribute out instead.
            if change.included:
                item["included"] = {"SS": sorted(change.included)}
            if change.excluded:
                item["excluded"] = {"SS": sorted(change.excluded)}
            requests.append({"PutRequest": {"Item": item}})
        await self._batch(requests)

    async def _batch(self, requests: Sequence[WriteRequestTypeDef]) -> None:
        client = await self._open()
        limit = asyncio.Semaphore(DYNAMODB_CONCURRENCY)

        async def send(batch: Sequence[WriteRequestTypeDef]) -> None:
            async with limit:
                pending = list(batch)
                for _attempt in range(5):  # unprocessed items (throttling) get a few more tries
                    answer = await client.batch_write_item(RequestItems={self._table: pending})
                    unprocessed = answer.get("UnprocessedItems", {}).get(self._table, [])
                    pending = cast("list[WriteRequestTypeDef]", unprocessed)
                    if not pending:
                        return
                    await asyncio.sleep(0.05)
                message = f"DynamoDB left {len(pending)} writes unprocessed"
                raise StoreError(message)

        batches = [
            requests[start : start + DYNAMODB_BATCH]
            for start in range(0, len(requests), DYNAMODB_BATCH)
        ]
        _ = await asyncio.gather(*(send(batch) for batch in batches))

    async def mark_synchronized(self, millis: int) -> None:
        client = await self._open()
        namespace = self._namespace("big_segments_metadata")
        _ = await client.put_item(
            TableName=self._table,
            Item={
                "namespace": {"S": namespace},
                "key": {"S": namespace},
                "synchronizedOn": {"N": str(millis)},
            },
        )

    async def close(self) -> None:
        self._client = None
        await self._stack.aclose()


@attrs.define
class SyncState:
    """What the syncer knows of one integration's store."""

    fingerprint: tuple[Any, ...] | None = None
    writer: Writer | None = None
    written: dict[str, Members] | None = None
    """What the store holds, as far as the syncer wrote it; None: not known (sync fully)."""
    last_sync: int | None = None
    last_error: int | None = None
    failing: bool = False
    errors: list[dict[str, Any]] = attrs.Factory(list[dict[str, Any]])
    task: asyncio.Task[None] | None = None


class Syncer:
    """Writes each `on` integration's big segments into its store every `interval` seconds."""

    def __init__(
        self,
        store: Store,
        segments: Segments,
        *,
        interval: float = DEFAULT_SYNC_INTERVAL,
        dynamodb_endpoint: str | None = None,
    ) -> None:
        if not interval > 0:
            message = f"sync_interval must be more than 0 seconds, got {interval!r}"
            raise ValueError(message)
        self._store = store
        self._segments = segments
        self._interval = interval
        self._dynamodb_endpoint = dynamodb_endpoint
        self._states: dict[str, SyncState] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    # The status the API shows.

    def status(self, integration_id: str, *, on: bool) -> dict[str, Any]:
        """`_status` from what really happened to this integration's store."""
        state = self._states.get(integration_id) or SyncState()
        status: dict[str, Any] = {
            "available": on and not state.failing and state.last_sync is not None,
            # Writes stopped (off, or failing) after the store had been synced: it can
            # only get older from here.
            "potentiallyStale": state.last_sync is not None and (state.failing or not on),
        }
        if state.last_sync is not None:
            status["lastSync"] = state.last_sync
        if state.last_error is not None:
            status["lastError"] = state.last_error
        if state.errors:
            status["errors"] = [dict(error) for error in state.errors]
        return status

    # Running.

    def start(self) -> None:
        """Start syncing in the background (in the running event loop)."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop every sync and close every store connection."""
        tasks = [task for task in (self._loop_task, *self._syncs()) if task is not None]
        for task in tasks:
            _ = task.cancel()
        _ = await asyncio.gather(*tasks, *self._closing, return_exceptions=True)
        self._loop_task = None
        for state in self._states.values():
            await self._close_writer(state)
        self._states.clear()

    def _syncs(self) -> list[asyncio.Task[None]]:
        return [state.task for state in self._states.values() if state.task is not None]

    async def _run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(self._interval)

    def tick(self) -> None:
        """Start a sync of every `on` integration whose last one has finished."""
        current = {doc["_id"]: doc for doc in self._store.stored()}
        for gone in self._states.keys() - current.keys():
            self._forget(self._states.pop(gone))
        for integration_id, doc in current.items():
            state = self._states.setdefault(integration_id, SyncState())
            fingerprint = (doc["integrationKey"], doc["projectKey"], doc["environmentKey"])
            fingerprint += tuple(sorted(doc["config"].items()))
            if not doc["on"] or fingerprint != state.fingerprint:
                # Off: writes stop. A new store: nothing of it is known yet.
                if state.task is not None and not state.task.done():
                    _ = state.task.cancel()
                self._drop_writer(state)
                state.fingerprint = fingerprint
            if not doc["on"]:
                continue
            if state.task is not None and not state.task.done():
                continue  # still busy with a slow store: its timeout ends it
            state.task = asyncio.create_task(self._sync(state, doc))

    def _forget(self, state: SyncState) -> None:
        if state.task is not None:
            _ = state.task.cancel()
        self._drop_writer(state)

    def _drop_writer(self, state: SyncState) -> None:
        writer, state.writer, state.written = state.writer, None, None
        if writer is not None:
            task = asyncio.create_task(_close_quietly(writer))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _close_writer(self, state: SyncState) -> None:
        writer, state.writer = state.writer, None
        if writer is not None:
            await _close_quietly(writer)

    async def _sync(self, state: SyncState, doc: Mapping[str, Any]) -> None:
        config: Mapping[str, Any] = doc["config"]
        secrets = [str(config.get("password") or "")]
        try:
            await _within(self._write(state, doc), SYNC_TIMEOUT)
        except asyncio.TimeoutError:
            self._failed(state, f"the store did not finish a sync in {SYNC_TIMEOUT:g} s", 504)
        except StoreError as error:
            self._failed(state, redact(error.message, secrets), error.status_code)
        except Exception as error:  # noqa: BLE001 - any failure of a store's client is a failed sync
            message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            self._failed(state, redact(message, secrets), 503)
        else:
            state.failing = False

    def _failed(self, state: SyncState, message: str, status_code: int) -> None:
        now = _millis()
        if not state.errors or state.errors[-1]["message"] != message:
            # Once per new message, not once per tick; the host comes from a config
            # anyone could write, so it is printed escaped.
            _log.warning("sync failed: %s", printable(message))
        state.failing = True
        state.last_error = now
        state.errors = [
            *state.errors[-(MAX_ERRORS - 1) :],
            {"statusCode": status_code, "message": message, "timestamp": now},
        ]
        # What the store holds after a failure is not known: the next sync is a full one.
        self._drop_writer(state)

    async def _write(self, state: SyncState, doc: Mapping[str, Any]) -> None:
        project_key, environment_key = doc["projectKey"], doc["environmentKey"]
        prefix = client_side_id(project_key, environment_key)
        if state.writer is None:
            state.written = None
            state.writer = self._writer(doc["integrationKey"], prefix, doc["config"])
        writer = state.writer
        after = snapshot(self._segments.big_segments(project_key, environment_key))
        before = state.written
        if before is None:
            await writer.clear()
            before = {}
        changes = await diff(before, after)
        await writer.write(changes)
        now = _millis()
        await writer.mark_synchronized(now)
        state.written = after
        state.last_sync = now

    def _writer(self, integration_key: str, prefix: str, config: Mapping[str, Any]) -> Writer:
        if integration_key == "redis":
            return RedisWriter(prefix, config)
        if integration_key == "dynamodb":
            return DynamoDBWriter(prefix, config, self._dynamodb_endpoint)
        message = f"the fake cannot sync a {integration_key!r} store"
        raise StoreError(message)


async def _within(work: Coroutine[Any, Any, None], seconds: float) -> None:
    """Run `work` for at most `seconds` (asyncio.TimeoutError past them).

    Unlike wait_for, the work's own exception is always retrieved, even when the caller
    is cancelled at the moment the work fails (no "exception was never retrieved").
    """
    task = asyncio.ensure_future(work)
    task.add_done_callback(_retrieve)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    finally:
        _ = task.cancel()  # a no-op once done
    if not done:
        raise asyncio.TimeoutError
    task.result()


def _retrieve(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        _ = task.exception()


async def _close_quietly(writer: Writer) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.close(), CONNECT_TIMEOUT)
