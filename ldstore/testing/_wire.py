"""How the fake writes answers: JSON bodies, LaunchDarkly's error shape, the Reply value."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

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


def _reject_constant(name: str) -> object:
    raise ValueError(name)


def parse_json(body: bytes, content_type: str) -> object:
    """Decode a request body; the API takes JSON only, sent as `application/json`."""
    if content_type != JSON_TYPE:
        message = f"Content-Type must be {JSON_TYPE}, got {content_type!r}"
        raise invalid(message)
    try:
        # NaN and Infinity are Python's extensions, not JSON.
        return json.loads(body, parse_constant=_reject_constant)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        message = f"request body is not valid JSON: {exc}"
        raise invalid(message) from exc
