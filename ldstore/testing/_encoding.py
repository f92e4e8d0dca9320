"""Reading a request body: Content-Encoding decoded by the fake itself, bounded, never a crash.

The fake's own runner leaves bodies compressed (`auto_decompress=False`), so whatever a
client sends reaches the handler, which checks the token first and only then answers a
body it cannot read: 415 (with `Accept-Encoding`) for a coding it does not take (`br`,
`zstd`, anything but gzip, deflate and identity), 400 for a corrupt one, 413 when it
inflates past MAX_BODY. Served by another runner that decompresses itself, a body aiohttp
could not decode is still a 400 JSON answer after the token check.
"""

from __future__ import annotations

import zlib

import attrs
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ldstore.testing._wire import Problem, invalid

MAX_BODY = 1024**2
"""The largest request body the fake reads, before and after decoding (aiohttp's default)."""

ACCEPTED_ENCODINGS = "gzip, deflate, identity"


@attrs.frozen
class Body:
    """A request body: the bytes received, and what they decode to (or why they do not)."""

    raw: bytes
    decoded: bytes | Problem


def _too_large() -> Problem:
    return Problem(413, "request_entity_too_large", f"request body larger than {MAX_BODY} bytes")


async def read_body(request: web.Request) -> Body:
    """The body of `request`, decoded; every failure is a Problem to answer after the token check."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return Body(b"", _too_large())
    except (HttpProcessingError, web.RequestPayloadError):  # a runner decoding it failed
        return Body(b"", _corrupt(request.headers.get("Content-Encoding", "")))
    codings = [
        coding.strip().lower()
        for coding in request.headers.get("Content-Encoding", "").split(",")
        if coding.strip().lower() not in ("", "identity")
    ]
    if not codings or not raw or request.content.total_compressed_bytes is not None:
        return Body(raw, raw)  # nothing to decode, or the runner decoded it already
    for coding in codings:
        if coding not in ("gzip", "x-gzip", "deflate"):
            message = (
                f"Content-Encoding {coding[:40]!r} is not supported; send the body as "
                f"{ACCEPTED_ENCODINGS}"
            )
            return Body(
                raw,
                Problem(
                    415, "unsupported_media_type", message, {"Accept-Encoding": ACCEPTED_ENCODINGS}
                ),
            )
    decoded = raw
    for coding in reversed(codings):  # the last coding listed was applied last
        result = _decompress(decoded, coding)
        if isinstance(result, Problem):
            return Body(raw, result)
        decoded = result
    return Body(raw, decoded)


def _decompress(data: bytes, coding: str) -> bytes | Problem:
    """Inflate at most MAX_BODY + 1 bytes: a small bomb costs no more than a big body."""
    # "deflate" is the zlib format (RFC 9110); some clients send raw deflate.
    deflate = (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    attempts = deflate if coding == "deflate" else (16 + zlib.MAX_WBITS,)
    for wbits in attempts:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, MAX_BODY + 1)
        except zlib.error:
            continue
        if len(out) > MAX_BODY:
            return _too_large()
        if inflater.eof and not inflater.unused_data:
            return out
    return _corrupt(coding)


def _corrupt(coding: str) -> Problem:
    shown = coding.strip()[:40] or "the body"
    return invalid(f"request body is not valid {shown} data (Content-Encoding)")
