"""Talking to a Redis store over redis-py: the connection's options (TLS included), then
one command at a time, each bounded in time, and every reply checked for the shape Redis
gives that command before it is used.

A lost store, a refused command and a reply of the wrong shape each become one error
(``UnreachableError`` and its two kinds), never an exception from redis-py's parsing.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from ldstore.doctor._report import MAX_MEMBERS, SAMPLE_VALUES, Budget, DeadlineError, bounded, scrub
from ldstore.errors import InputValidationError
from ldstore.text import printable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import ClusterNode, RedisCluster

__all__ = [
    "MAX_CURSOR_REPLIES",
    "BadReplyError",
    "Reader",
    "RedisTLS",
    "RefusedError",
    "UnreachableError",
    "address",
    "client_certificate_hint",
    "connection_options",
    "integer",
    "invalid_tls",
    "node_infos",
    "sequence",
    "text",
    "tls_reason",
]

_SCAN_COUNT = 1000  # keys a SCAN (or members an SSCAN) call is asked to examine
# Replies one SSCAN loop may take: a real set of MAX_MEMBERS members needs about
# MAX_MEMBERS / _SCAN_COUNT of them; a cursor that never ends stops here.
MAX_CURSOR_REPLIES = 4 * (MAX_MEMBERS // _SCAN_COUNT) + 4
_LOG = logging.getLogger("ldstore")
# OpenSSL verify codes, named as people know them.
_VERIFY_REASONS = {
    2: "unknown CA",
    18: "unknown CA (a self-signed certificate)",
    19: "unknown CA (a self-signed certificate in the chain)",
    20: "unknown CA",
    21: "unknown CA",
    9: "certificate not yet valid",
    10: "certificate expired",
    62: "name mismatch",
    64: "name mismatch (IP address)",
}


T = TypeVar("T")


@attrs.frozen(kw_only=True)
class RedisTLS:
    """How to reach a ``rediss://`` server: a CA file to trust, a client certificate, or no checks.

    ``ca_file`` replaces the system's CAs (a private CA); ``cert_file`` and ``key_file``
    (both or neither) are the client's certificate for mutual TLS; ``insecure`` skips
    certificate verification altogether, and the report's first check says so.
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False


def client_certificate_hint(url: str, tls: RedisTLS | None, detail: str) -> str:
    """A server asking for a client certificate it was not given closes the connection
    after the handshake (TLS 1.3 sends its alert too late to read): say so."""
    lost = any(word in detail.lower() for word in ("closed", "reset", "eof"))
    if url.startswith("rediss://") and (tls is None or tls.cert_file is None) and lost:
        return "; TLS: the server may require a client certificate (mutual TLS), none was given"
    return ""


def invalid_tls(url: str, tls: RedisTLS | None) -> InputValidationError | None:
    if tls is None or tls == RedisTLS():
        return None
    if not url.startswith("rediss://"):
        return InputValidationError(message="TLS settings need a rediss:// URL", field="tls")
    if (tls.cert_file is None) != (tls.key_file is None):
        return InputValidationError(
            message="a client certificate needs both its certificate and its key file",
            field="tls",
        )
    for what, path in (("CA", tls.ca_file), ("certificate", tls.cert_file), ("key", tls.key_file)):
        if path is not None and not Path(path).is_file():
            return InputValidationError(message=f"no TLS {what} file at {path}", field="tls")
    return None


def connection_options(
    timeout: float, password: str | None, tls: RedisTLS | None
) -> dict[str, Any]:
    from redis.asyncio.retry import Retry  # noqa: PLC0415 - the optional extra
    from redis.backoff import NoBackoff  # noqa: PLC0415

    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),  # one attempt: a doctor reports, it does not insist
        # RESP2, as Redis before 6 and the SDKs' clients speak: no HELLO handshake to
        # negotiate, and one reply shape per command for the shape checks below.
        "protocol": 2,
    }
    if password is not None:
        options["password"] = password
    if tls is not None:
        if tls.ca_file is not None:
            options["ssl_ca_certs"] = tls.ca_file
        if tls.cert_file is not None:
            options["ssl_certfile"] = tls.cert_file
            options["ssl_keyfile"] = tls.key_file
        if tls.insecure:
            options["ssl_cert_reqs"] = "none"
            options["ssl_check_hostname"] = False
    return options


class UnreachableError(Exception):
    def __init__(self, command: str, detail: str) -> None:
        super().__init__(detail)
        self.command = command
        self.detail = detail


class RefusedError(UnreachableError):
    """Redis answered the command with an error (NOPERM, WRONGTYPE...)."""


class BadReplyError(UnreachableError):
    """The server answered, but not with a reply of the shape Redis gives that command."""


class Reader:
    """Sends one command at a time, each bounded by ``timeout``; maps lost stores to one error.

    ``nodes`` are the cluster's primaries to SCAN (``[None]``: one server). ``last`` is the
    command in flight, for a deadline that ends the diagnosis mid-way.
    """

    def __init__(
        self, client: Redis | RedisCluster, budget: Budget, secrets: Sequence[str]
    ) -> None:
        self.client: Any = client  # Redis or RedisCluster: the same commands, loosely typed
        self.budget = budget
        self.secrets = secrets
        self.nodes: Sequence[ClusterNode | None] = [None]
        self.last = "PING"

    async def __call__(self, command: str, call: Awaitable[T]) -> T:
        from redis.exceptions import AskError, MovedError, RedisError, ResponseError  # noqa: PLC0415

        self.last = command
        _LOG.debug("redis %s", printable(command))  # keys come from the store
        try:
            return await bounded(self.budget, command, call)
        except ResponseError as error:
            detail = scrub(str(error), self.secrets)
            if isinstance(error, AskError):  # redis-py drops the MOVED/ASK word: put it back
                detail = f"{'MOVED' if isinstance(error, MovedError) else 'ASK'} {detail}"
            raise RefusedError(command, detail) from None
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            # AuthenticationError is a ConnectionError: a refused password is unreachable too.
            detail = tls_reason(error) or str(error) or type(error).__name__
            raise UnreachableError(command, scrub(detail, self.secrets)) from None
        except DeadlineError:
            raise
        except Exception as error:  # noqa: BLE001 - redis-py parses replies assuming their shape (int(cursor), str.splitlines...); a server answering otherwise raises whatever that parse hits
            detail = f"{type(error).__name__} reading the reply"
            raise BadReplyError(command, scrub(detail, self.secrets)) from None

    async def key_type(self, key: str) -> str:
        command = f"TYPE {key}"
        return text(await self(command, self.client.type(key)), command)

    async def get(self, key: str) -> str | None:
        command = f"GET {key}"
        raw = await self(command, self.client.get(key))
        return None if raw is None else text(raw, command)

    async def pttl(self, key: str) -> int:
        """Milliseconds ``key`` has left; -1 without a TTL, -2 when it does not exist."""
        command = f"PTTL {key}"
        return integer(await self(command, self.client.pttl(key)), command)

    async def dbsize(self) -> int:
        return integer(await self("DBSIZE", self.client.dbsize()), "DBSIZE")

    async def info(self) -> Mapping[str, object]:
        return node_infos(await self("INFO", self.client.info()))[0]

    async def scan(self, pattern: str, *, limit: int) -> tuple[list[str], int, bool]:
        """Keys matching ``pattern``, asking the server(s) to examine ``limit`` keys in all at most.

        Returns the keys (at most ``limit``), how many keys SCAN was asked to examine, and
        whether every cursor ended. The bound counts keys (each SCAN's COUNT), not calls;
        a cluster's primaries share it equally.
        """
        found: list[str] = []
        examined = 0
        complete = True
        for index, node in enumerate(self.nodes):
            share = (limit - examined) // (len(self.nodes) - index)  # the rest, shared equally
            cursor, asked = 0, 0
            while True:
                count = min(_SCAN_COUNT, share - asked)
                if count <= 0:
                    complete = False
                    break
                command = f"SCAN {cursor} MATCH {pattern} COUNT {count}"
                options: dict[str, Any] = {"match": pattern, "count": count}
                if node is not None:
                    options["target_nodes"] = node
                reply = await self(command, self.client.scan(cursor, **options))
                cursor, keys = scan_reply(reply, command, node)
                found += [text(key, command) for key in keys]
                asked += count
                if cursor == 0:
                    break
            examined += asked
        return found[:limit], examined, complete

    async def members(self, key: str, *, limit: int) -> tuple[list[str], bool]:
        """Up to about ``limit`` members of the set at ``key``; and whether that was all of them.

        A cursor that never ends stops after ``MAX_CURSOR_REPLIES`` replies.
        """
        values: list[str] = []
        cursor = 0
        for _reply in range(MAX_CURSOR_REPLIES):
            command = f"SSCAN {key} {cursor} COUNT {_SCAN_COUNT}"
            reply = await self(command, self.client.sscan(key, cursor, count=_SCAN_COUNT))
            cursor, members = scan_reply(reply, command, None)
            values += [text(value, command) for value in members]
            if cursor == 0:
                return values[:limit], True
            if len(values) >= limit:
                return values[:limit], False
        return values[:limit], False

    async def sample(self, key: str) -> list[str]:
        command = f"SRANDMEMBER {key} {SAMPLE_VALUES}"
        reply = await self(command, self.client.srandmember(key, SAMPLE_VALUES))
        # With a count, SRANDMEMBER answers a list (empty for a missing key).
        values = sequence(reply, command)
        return [text(value, command) for value in values[:SAMPLE_VALUES]]


def node_infos(reply: object) -> list[Mapping[str, object]]:
    """INFO's fields: one mapping from a server, one per node from a cluster's nodes."""
    command = "INFO"
    if isinstance(reply, Mapping):
        values = list(cast("Mapping[str, object]", reply).values())
        if values and all(isinstance(value, Mapping) for value in values):
            return [cast("Mapping[str, object]", value) for value in values]
        return [cast("Mapping[str, object]", reply)]
    raise BadReplyError(command, f"a {type(reply).__name__}, not a section of fields")


# Reply shapes: what redis-py hands back is whatever the server sent, parsed loosely.


def text(value: object, command: str) -> str:
    # Keys and values are bytes (no decode_responses): a stray non-UTF-8 byte is shown, not fatal.
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, str):
        return value
    raise BadReplyError(command, f"a {type(value).__name__} where Redis answers a string")


def integer(value: object, command: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BadReplyError(command, f"a {type(value).__name__} where Redis answers an integer")


def sequence(value: object, command: str) -> list[object]:
    if isinstance(value, list | tuple):
        return list(cast("Sequence[object]", value))  # pyright: ignore[reportUnknownArgumentType]  # narrowed from object
    if value is None:
        return []
    raise BadReplyError(command, f"a {type(value).__name__} where Redis answers a list")


def scan_reply(reply: object, command: str, node: ClusterNode | None) -> tuple[int, list[object]]:
    """``(cursor, items)`` from a SCAN/SSCAN reply (a cluster's cursors come per node)."""
    pair = sequence(reply, command)
    if len(pair) != 2:  # noqa: PLR2004 - cursor and items
        raise BadReplyError(command, "not the [cursor, items] pair Redis answers")
    cursor, items = pair
    if node is not None and isinstance(cursor, Mapping):
        cursor = cast("Mapping[str, object]", cursor).get(node.name)
    return integer(cursor, command), sequence(items, command)


def address(value: object, command: str) -> tuple[str, int]:
    items = sequence(value, command)
    if len(items) != 2:  # noqa: PLR2004 - host and port
        raise BadReplyError(command, "not a (host, port) pair")
    host, port = items
    return text(host, command), integer(port, command)


def tls_reason(error: BaseException) -> str | None:
    """One line naming a TLS failure (unknown CA, name mismatch, expired...), else ``None``."""
    seen: BaseException | None = error
    for _depth in range(8):  # a cause chain is short; a cycle is not followed forever
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            reason = _VERIFY_REASONS.get(seen.verify_code, seen.verify_message)
            return f"TLS: the server's certificate was refused: {reason} ({seen.verify_message})"
        if isinstance(seen, ssl.SSLError):
            code = str(seen.reason or "")
            if "CERTIFICATE_REQUIRED" in code:
                return "TLS: the server requires a client certificate (mutual TLS)"
            if "WRONG_VERSION_NUMBER" in code or "RECORD_LAYER" in code:
                return "TLS: the server does not speak TLS on this port (use redis://)"
            return f"TLS: {code or seen}"
        seen = seen.__cause__ or seen.__context__
    return None
