"""A tiny Redis-speaking server on 127.0.0.1 that answers what a test tells it to.

It reads commands as clients send them (RESP arrays of bulk strings) and answers each
with the bytes ``answer`` returns: a healthy little store by default (``seeded``), or a
reply of the wrong type, a cursor that never ends, a slow answer... It records every
command it was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from ldstore.doctor import context_hash

from .support import now_ms

Answer = Callable[[list[bytes]], Awaitable[bytes | None] | bytes | None]
NULL = b"$-1\r\n"
OK = b"+OK\r\n"


def simple(text: str) -> bytes:
    return f"+{text}\r\n".encode()


def error(text: str) -> bytes:
    return f"-{text}\r\n".encode()


def integer(value: int) -> bytes:
    return f":{value}\r\n".encode()


def bulk(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return b"$%d\r\n%s\r\n" % (len(data), data)


def array(*items: bytes) -> bytes:
    return b"*%d\r\n%s" % (len(items), b"".join(items))


def scan_reply(cursor: int, items: Sequence[str]) -> bytes:
    return array(bulk(str(cursor)), array(*(bulk(item) for item in items)))


PREFIX = "launchdarkly"
CONTEXT = "user-1"
METADATA_KEY = f"{PREFIX}:big_segments_synchronized_on"
INCLUDE_KEY = f"{PREFIX}:big_segment_include:{context_hash(CONTEXT)}"
INFO = (
    "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n# Replication\r\n"
    "role:master\r\n# Memory\r\nmaxmemory_policy:noeviction\r\n# Stats\r\nevicted_keys:0\r\n"
)


def seeded(command: list[bytes]) -> bytes:  # noqa: C901, PLR0911 - one answer per command
    """A fresh store with one prefix, one context included in one segment: healthy."""
    name = command[0].upper().decode()
    args = [part.decode(errors="replace") for part in command[1:]]
    match name:
        case "PING":
            return simple("PONG")
        case "INFO":
            return bulk(INFO)
        case "DBSIZE":
            return integer(2)
        case "SCAN":
            pattern = args[args.index("MATCH") + 1] if "MATCH" in args else "*"
            if pattern.endswith("big_segments_synchronized_on"):
                return scan_reply(0, [METADATA_KEY])
            if "big_segment_include" in pattern:
                return scan_reply(0, [INCLUDE_KEY])
            return scan_reply(0, [])
        case "TYPE":
            return simple({METADATA_KEY: "string", INCLUDE_KEY: "set"}.get(args[0], "none"))
        case "GET":
            return bulk(str(now_ms())) if args[0] == METADATA_KEY else NULL
        case "PTTL":
            return integer(-1 if args[0] in {METADATA_KEY, INCLUDE_KEY} else -2)
        case "SSCAN":
            return scan_reply(0, ["beta.g1"] if args[0] == INCLUDE_KEY else [])
        case "SRANDMEMBER":
            return array(bulk("beta.g1")) if args[0] == INCLUDE_KEY else array()
        case _:  # CLIENT SETINFO, AUTH, SELECT...
            return OK


class RespServer:
    """Serves ``answer`` (falling back to ``seeded`` where it returns ``None``); records commands."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.answer = answer
        self.commands: list[list[bytes]] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def sent(self, name: str) -> list[list[str]]:
        """The arguments of every ``name`` command received, decoded."""
        return [
            [part.decode(errors="replace") for part in command[1:]]
            for command in self.commands
            if command[0].upper() == name.upper().encode()
        ]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
            while True:
                command = await _read_command(reader)
                self.commands.append(command)
                reply = self.answer(command) if self.answer is not None else None
                if reply is not None and not isinstance(reply, bytes):
                    reply = await reply
                writer.write(seeded(command) if reply is None else reply)
                await writer.drain()

    async def __aenter__(self) -> RespServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _read_command(reader: asyncio.StreamReader) -> list[bytes]:
    header = await reader.readuntil(b"\r\n")
    if not header.startswith(b"*"):  # an inline command: words on one line
        return header.split()
    parts: list[bytes] = []
    for _ in range(int(header[1:-2])):
        size = int((await reader.readuntil(b"\r\n"))[1:-2])
        parts.append((await reader.readexactly(size + 2))[:-2])
    return parts


def resp_server(answer: Answer | None = None) -> RespServer:
    """``async with resp_server(answer) as server``: serving on ``server.port`` until the end."""
    return RespServer(answer)
