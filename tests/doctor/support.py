"""Real stores for the doctor's tests: a redis-server and a moto DynamoDB server, and seeding."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, cast

import attrs
import pytest
import redis
from ldclient.impl.big_segments_common import (  # the SDK's own staleness rule
    is_stale,  # pyright: ignore[reportUnknownVariableType]  # its second parameter is unannotated
)
from ldclient.interfaces import BigSegmentStore

from ldstore.doctor import context_hash

STARTUP = 10.0  # seconds a store may take to answer, far above what it takes
READER = "doctor"  # a Redis user that may only read: the doctor needs no more
READER_PASSWORD = "reader-secret-7f3a9c"  # made up; tests check it never prints
# Users and what they may run: READER only reads, as the doctor needs; the others less.
USERS = {
    READER: ["+@read", "+ping", "+info"],
    "no-scan": ["+@read", "-scan", "+ping"],
    "ping-only": ["+ping"],
    "no-info": ["+@read", "+ping"],  # only read rights: the hygiene checks say "not checked"
    "watcher": ["+@read", "+ping"],  # what ldstore watch needs: reads only
}
Members = Mapping[str, tuple[Sequence[str], Sequence[str]]]  # context key -> (included, excluded)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def require(program: str, package: str | None = None) -> str:
    """The path of ``program`` (from the Debian ``package``, named after it by default);
    skipped without it, except in CI, where it must be there."""
    found = shutil.which(program)
    if found is not None:
        return found
    package = package or program
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{program} is not installed; .ci/run installs it (apt-get install {package})")
    pytest.skip(f"{program} is not installed (Debian: apt-get install {package})")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Admin(Protocol):
    """The commands the tests send with redis-py's (loosely typed) synchronous client."""

    def set(self, name: str, value: str) -> object: ...
    def sadd(self, name: str, *values: str) -> object: ...
    def exists(self, *names: str) -> int: ...
    def flushall(self) -> object: ...
    def info(self, section: str) -> dict[str, Any]: ...
    def keys(self, pattern: str) -> list[bytes]: ...
    def dump(self, name: bytes) -> bytes | None: ...
    def config_resetstat(self) -> object: ...
    def ping(self) -> object: ...
    def close(self) -> None: ...


@attrs.frozen
class RedisServer:
    """A redis-server of our own on 127.0.0.1: ``admin`` seeds it, ``reader_url`` only reads."""

    port: int
    admin: Admin

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def reader_url(self) -> str:
        return self.url_for(READER)

    def url_for(self, user: str) -> str:
        """The URL for one of the users of USERS (each has READER_PASSWORD)."""
        return f"redis://{user}:{READER_PASSWORD}@127.0.0.1:{self.port}/0"


@contextmanager
def redis_server(directory: Path, *extra: str) -> Generator[RedisServer, None, None]:
    """Start redis-server (no persistence, ``extra`` arguments) on a free port; stop it by PID."""
    program = require("redis-server")
    for _attempt in range(5):  # another process may take the free port first
        port = free_port()
        process = subprocess.Popen(  # noqa: S603 - our own redis-server, fixed arguments
            [
                program,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=STARTUP)
        admin = cast("Admin", client)
        try:
            if _answers(admin, process):
                break
        except BaseException:
            stop(process)
            raise
        admin.close()
        stop(process)
    else:  # pragma: no cover - five ports taken in a row
        pytest.fail("redis-server did not start")
    try:
        for user, commands in USERS.items():
            _ = client.acl_setuser(  # pyright: ignore[reportUnknownMemberType]  # redis types **kwargs loosely
                user,
                enabled=True,
                passwords=[f"+{READER_PASSWORD}"],
                keys=["~*"],
                commands=commands,
            )
        yield RedisServer(port, admin)
    finally:
        admin.close()
        stop(process)


def _answers(admin: Admin, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            return bool(admin.ping())
        except redis.ConnectionError:
            time.sleep(0.02)
    return False


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        _ = process.wait(timeout=STARTUP)
    except subprocess.TimeoutExpired:  # pragma: no cover - redis-server exits on SIGTERM
        process.kill()
        _ = process.wait()


def seed_redis(
    admin: Admin,
    *,
    prefix: str = "launchdarkly",
    synchronized_on: int | str | None = None,
    members: Members | None = None,
) -> None:
    """Write the layout LaunchDarkly writes: the metadata string and the membership sets."""
    if synchronized_on is not None:
        _ = admin.set(f"{prefix}:big_segments_synchronized_on", str(synchronized_on))
    for context_key, (included, excluded) in (members or {}).items():
        digest = context_hash(context_key)
        if included:
            _ = admin.sadd(f"{prefix}:big_segment_include:{digest}", *included)
        if excluded:
            _ = admin.sadd(f"{prefix}:big_segment_exclude:{digest}", *excluded)


def new_table(
    client: Any,
    *,
    key_schema: tuple[str, str] = ("namespace", "key"),
    read_units: int | None = None,
) -> str:
    """Create a table with a fresh name, keyed as SDKs need unless ``key_schema`` says otherwise;
    on-demand, or provisioned with ``read_units``."""
    name = f"big-segments-{uuid.uuid4().hex[:12]}"
    partition, sort = key_schema
    _ = client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": sort, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": partition, "AttributeType": "S"},
            {"AttributeName": sort, "AttributeType": "S"},
        ],
        **(
            {"BillingMode": "PAY_PER_REQUEST"}
            if read_units is None
            else {
                "BillingMode": "PROVISIONED",
                "ProvisionedThroughput": {"ReadCapacityUnits": read_units, "WriteCapacityUnits": 1},
            }
        ),
    )
    return name


def seed_dynamodb(
    client: Any,
    table: str,
    *,
    prefix: str | None = None,
    synchronized_on: int | Mapping[str, Any] | None = None,
    members: Members | None = None,
) -> None:
    """Write the layout LaunchDarkly writes: the metadata item and one item per context."""
    head = f"{prefix}:" if prefix else ""
    if synchronized_on is not None:
        value = {"N": str(synchronized_on)} if isinstance(synchronized_on, int) else synchronized_on
        key = f"{head}big_segments_metadata"
        _ = client.put_item(
            TableName=table,
            Item={"namespace": {"S": key}, "key": {"S": key}, "synchronizedOn": value},
        )
    for context_key, (included, excluded) in (members or {}).items():
        item: dict[str, Any] = {
            "namespace": {"S": f"{head}big_segments_user"},
            "key": {"S": context_hash(context_key)},
        }
        if included:
            item["included"] = {"SS": list(included)}
        if excluded:
            item["excluded"] = {"SS": list(excluded)}
        _ = client.put_item(TableName=table, Item=item)


def fill_redis(admin: Admin, count: int) -> None:
    """``count`` keys that are nothing to the doctor, in one round trip."""
    pipe: Any = cast("Any", admin).pipeline(transaction=False)
    for index in range(count):
        pipe.set(f"filler:{index}", "x")
    pipe.execute()


@attrs.frozen
class SDKView:
    """What LaunchDarkly's SDK store read: synchronizedOn, its staleness, the memberships."""

    synchronized_on: int | None
    stale: bool
    memberships: dict[str, dict[str, bool]]


async def sdk_view(store: BigSegmentStore, context_keys: Sequence[str]) -> SDKView:
    """Read ``store`` as the SDK does (in a thread: its stores block) and stop it."""
    metadata = await asyncio.to_thread(store.get_metadata)
    memberships: dict[str, dict[str, bool]] = {}
    for key in context_keys:
        read = cast("Callable[[str], dict[str, bool] | None]", store.get_membership)  # pyright: ignore[reportUnknownMemberType]  # the SDK returns a bare dict
        found = await asyncio.to_thread(read, context_hash(key))
        memberships[key] = dict(found or {})
    store.stop()  # type: ignore[no-untyped-call]  # the SDK leaves stop() unannotated
    stamp = metadata.last_up_to_date
    stale = True if stamp is None else bool(is_stale(stamp, 120_000))  # no metadata: stale
    return SDKView(stamp, stale, memberships)
