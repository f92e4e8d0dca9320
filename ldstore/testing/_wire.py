"""How the fake writes answers: JSON bodies, LaunchDarkly's error shape, the Reply value."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from typing import cast

import attrs
from aiohttp import web

JSON_TYPE = "application/json"


@attrs.frozen
class Reply:
    """A complete HTTP answer, built before anything is written to the socket."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict[str, str])

    def with_headers(self, extra: Mapping[str, str]) -> Reply:
        """This reply with `extra` headers added (replacing same-named ones)."""
        return attrs.evolve(self, headers={**self.headers, **extra})

    def to_response(self) -> web.Response:
        """The aiohttp response for this reply."""
        return web.Response(status=self.status, body=self.body or None, headers=self.headers)


def json_reply(status: int, payload: object) -> Reply:
    """A JSON answer (every answer of the API with a body is `application/json`)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Reply(status, body, {"Content-Type": JSON_TYPE})


class Problem(Exception):  # noqa: N818 - it is an answer, not a failure of the fake
    """An error answer, raised from wherever a rule is broken."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def reply(self) -> Reply:
        """The JSON error answer; its `id` is what a user would quote to LaunchDarkly support."""
        body = {"code": self.code, "message": self.message, "id": str(uuid.uuid4())}
        return json_reply(self.status, body).with_headers(self.headers)


def invalid(message: str) -> Problem:
    """A 400 `invalid_request`."""
    return Problem(400, "invalid_request", message)


def not_found(message: str) -> Problem:
    """A 404 `not_found`."""
    return Problem(404, "not_found", message)


def rate_limited() -> Problem:
    """A 429 `rate_limited`, in the words of LaunchDarkly's documentation."""
    return Problem(429, "rate_limited", "You've exceeded the API rate limit. Try again later.")


# Bounds on what a request body may hold. Real documents are four levels deep (envelope,
# patch, operation, config) with short numbers; anything far beyond is refused with a
# 400 rather than left to break a recursive copy or a print later on.
MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 100


def _reject_constant(name: str) -> object:
    # NaN and Infinity are Python's extensions, not JSON.
    message = f"{name} is not a JSON number"
    raise invalid(message)


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        message = f"request body has a number longer than {MAX_NUMBER_DIGITS} digits"
        raise invalid(message)
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_DIGITS else math.inf
    if not math.isfinite(value):
        message = f"request body has a number too large for a double (over {MAX_NUMBER_DIGITS} characters or beyond 1.8e308)"
        raise invalid(message)
    return value


def _check_strings(document: object) -> None:
    """Refuse nesting beyond MAX_DEPTH and strings that are not Unicode (lone surrogates).

    JSON's `\\ud800` escape decodes to a lone surrogate, which no UTF-8 answer can carry:
    stored, it would break every later answer that shows it.
    """
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_unicode(value)
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                message = f"request body is nested deeper than {MAX_DEPTH} levels"
                raise invalid(message)
            if isinstance(value, dict):
                for key, member in cast("dict[str, object]", value).items():
                    _check_unicode(key)
                    stack.append((member, depth + 1))
            else:
                stack.extend((member, depth + 1) for member in cast("list[object]", value))


def _check_unicode(text: str) -> None:
    if not text.isascii():
        try:
            _ = text.encode()
        except UnicodeEncodeError as exc:
            message = "request body has a string with a lone UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode text"
            raise invalid(message) from exc


def parse_json(body: bytes, content_type: str) -> object:
    """Decode a request body; the API takes JSON only, sent as `application/json`.

    Anything it cannot take is a `Problem` (400), never another exception: invalid
    UTF-8 or JSON, nesting deeper than MAX_DEPTH, lone surrogates, huge numbers.
    """
    if content_type != JSON_TYPE:
        message = f"Content-Type must be {JSON_TYPE}, got {content_type!r}"
        raise invalid(message)
    try:
        # UTF-8 only (RFC 8259); json.loads would also take UTF-16 and UTF-32 bytes.
        document: object = json.loads(
            body.decode(),
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except RecursionError as exc:
        message = f"request body is nested deeper than {MAX_DEPTH} levels"
        raise invalid(message) from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        message = f"request body is not valid JSON: {_reason(exc)}"
        raise invalid(message) from exc
    _check_strings(document)
    return document


def _reason(exc: ValueError) -> str:
    """What is wrong, without Python's wording for bytes and types."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    return "it cannot be decoded"
