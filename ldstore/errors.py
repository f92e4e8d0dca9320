"""The LDStoreError tree and the one table from HTTP status to error class.

LDStoreError
├── APIError                      the server answered with an error status
│   ├── InvalidRequestError       400
│   ├── UnauthorizedError         401
│   ├── ForbiddenError            403
│   ├── NotFoundError             404
│   ├── StatusConflictError       409
│   └── RateLimitedError          429 (retry_after: the wait the server asked for)
├── InputValidationError          the caller's input was invalid; nothing was sent
├── ResponseValidationError       a body did not match the schema, or was over the size cap
└── NetworkError
    ├── ConnectionFailedError     the connection was never made
    ├── RequestTimeoutError       no full answer in time
    └── ConnectionLostError       the connection broke mid-exchange
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from ldstore.text import MASK, redact, redact_bytes

__all__ = [
    "APIError",
    "ConnectionFailedError",
    "ConnectionLostError",
    "ForbiddenError",
    "ForbiddenErrorRep",
    "InputValidationError",
    "InvalidRequestError",
    "InvalidRequestErrorRep",
    "LDStoreError",
    "NetworkError",
    "NotFoundError",
    "NotFoundErrorRep",
    "RateLimitedError",
    "RateLimitedErrorRep",
    "RequestTimeoutError",
    "ResponseValidationError",
    "SDKValidationError",
    "StatusConflictError",
    "StatusConflictErrorRep",
    "UnauthorizedError",
    "UnauthorizedErrorRep",
    "mask_written",
]

_EMPTY_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
_BODY_EXCERPT = 200  # characters of a non-JSON body shown in the message
_MAX_FIELD = 1000  # characters kept of a server-given message, code, id or Location


@attrs.frozen(kw_only=True)
class LDStoreError(Exception):
    """The base of every error ldstore returns in an ``Err`` (or raises from the facade)."""

    message: str

    def __str__(self) -> str:
        return self.message


@attrs.frozen(kw_only=True)
class APIError(LDStoreError):
    """The server answered with an error status; also stands for undocumented statuses."""

    status_code: int
    code: str | None = None
    id: str | None = None  # the server's error id, for LaunchDarkly support
    headers: Mapping[str, str] = attrs.field(default=_EMPTY_HEADERS, repr=False)
    body: bytes = attrs.field(default=b"", repr=False)

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        error_id = f" (error id {self.id})" if self.id else ""
        return f"HTTP {self.status_code}{code}: {self.message}{error_id}"


@attrs.frozen(kw_only=True)
class InvalidRequestError(APIError):
    """400: the request was invalid (bad JSON, bad patch, bad config)."""


@attrs.frozen(kw_only=True)
class UnauthorizedError(APIError):
    """401: the access token is missing or invalid."""


@attrs.frozen(kw_only=True)
class ForbiddenError(APIError):
    """403: the token's role lacks permission, or the beta header was missing."""


@attrs.frozen(kw_only=True)
class NotFoundError(APIError):
    """404: unknown project, environment, integration key or ID."""


@attrs.frozen(kw_only=True)
class StatusConflictError(APIError):
    """409: a duplicate name or a lost update; re-read, then decide."""


@attrs.frozen(kw_only=True)
class RateLimitedError(APIError):
    """429: rate limited. ``retry_after`` is the wait in seconds the server asked for."""

    retry_after: float | None = None


@attrs.frozen(kw_only=True)
class InputValidationError(LDStoreError):
    """The caller's input was invalid; nothing was sent."""

    field: str | None = None


@attrs.frozen(kw_only=True)
class ResponseValidationError(LDStoreError):
    """A body did not match the schema (``body`` holds the raw bytes), or it was larger
    than the Core's ``max_response_bytes`` (``body`` is empty: it was not read).

    ``field`` is the path of the value at fault in wire names, when one is
    (``items[3]._status.available``; ``""``: the body as a whole).
    """

    status_code: int
    body: bytes = attrs.field(repr=False)
    field: str | None = None


@attrs.frozen(kw_only=True)
class NetworkError(LDStoreError):
    """The exchange with the server failed below HTTP."""

    method: str
    url: str


@attrs.frozen(kw_only=True)
class ConnectionFailedError(NetworkError):
    """The connection was never made (refused, DNS, connect timeout): safe to retry."""


@attrs.frozen(kw_only=True)
class RequestTimeoutError(NetworkError):
    """No full answer within the timeout; the request may have reached the server."""


@attrs.frozen(kw_only=True)
class ConnectionLostError(NetworkError):
    """The connection broke mid-exchange; the request may have reached the server."""


# Names from LaunchDarkly's documentation and generated clients, for readers of it.
InvalidRequestErrorRep = InvalidRequestError
UnauthorizedErrorRep = UnauthorizedError
ForbiddenErrorRep = ForbiddenError
NotFoundErrorRep = NotFoundError
StatusConflictErrorRep = StatusConflictError
RateLimitedErrorRep = RateLimitedError
SDKValidationError = ResponseValidationError

_BY_STATUS: Mapping[int, type[APIError]] = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: StatusConflictError,
    429: RateLimitedError,
}


def mask_written(where: str) -> InputValidationError:
    """The error for a create or a patch that would write the API's mask as the secret at
    ``where`` (``config.password``): refused before anything is sent, and before a user
    is asked to confirm it."""
    message = (
        f"{where}: {MASK!r} is how the API shows a stored secret, not a value; it is never"
        " written back (leave the secret out to keep it, or give the new value)"
    )
    return InputValidationError(message=message, field=where)


def api_error(
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    retry_after: float | None = None,
    secret: str | None = None,
) -> APIError:
    """The error value for an error status; a non-JSON body (a proxy's HTML) is kept raw.

    Every text the server chose is bounded, and ``secret`` (the token the request
    carried) is redacted from the body, the headers and the message built from them.
    """
    if secret:
        body, headers = redact_bytes(body, [secret]), _redact_headers(headers, secret)
    code, message, error_id = _parse_error_body(body)
    if message is None:
        text = body[: _BODY_EXCERPT * 4].decode("utf-8", "replace").strip()
        message = text[:_BODY_EXCERPT] if text else f"HTTP {status_code} with an empty body"
    if 300 <= status_code < 400:  # noqa: PLR2004 (the redirect statuses)
        location = _bounded(headers.get("Location") or "nowhere")
        message = (
            f"redirect to {location!r} not followed (the API does not redirect: check the"
            f" server URL); {message}"
        )
    cls = _BY_STATUS.get(status_code, APIError)
    fields: dict[str, Any] = {
        "status_code": status_code,
        "code": code,
        "message": message,
        "id": error_id,
        "headers": headers,
        "body": body,
    }
    if cls is RateLimitedError:
        fields["retry_after"] = retry_after
    return cls(**fields)


def _bounded(text: str) -> str:
    return text if len(text) <= _MAX_FIELD else f"{text[:_MAX_FIELD]}..."


# An error's JSON is a few fields (~100 bytes); a larger body is kept raw, not parsed,
# so that a server cannot make an error status cost seconds and memory to decode.
_MAX_ERROR_DOCUMENT = 64 * 1024


def _parse_error_body(body: bytes) -> tuple[str | None, str | None, str | None]:
    if len(body) > _MAX_ERROR_DOCUMENT:
        return None, None, None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None, None, None
    if not isinstance(document, dict):
        return None, None, None
    fields = cast("dict[str, Any]", document)

    def text(key: str) -> str | None:
        value = fields.get(key)
        return _bounded(value) if isinstance(value, str) else None

    return text("code"), text("message"), text("id")


def redacted(error: LDStoreError, secret: str) -> LDStoreError:
    """``error`` with every spelling of ``secret`` masked (``ldstore.text.redact``): its
    message, body, code, id and headers. The same object when there is nothing to mask."""
    if not secret:
        return error
    changes: dict[str, Any] = {}
    message = redact(error.message, [secret])
    if message != error.message:
        changes["message"] = message
    if isinstance(error, APIError | ResponseValidationError):
        body = redact_bytes(error.body, [secret])
        if body != error.body:
            changes["body"] = body
    if isinstance(error, APIError):
        for name in ("code", "id"):
            value: str | None = getattr(error, name)
            if value is not None and redact(value, [secret]) != value:
                changes[name] = redact(value, [secret])
        headers = _redact_headers(error.headers, secret)
        if headers is not error.headers:
            changes["headers"] = headers
    return attrs.evolve(error, **changes) if changes else error


def _redact_headers(headers: Mapping[str, str], secret: str) -> Mapping[str, str]:
    shown = [(name, redact(value, [secret])) for name, value in headers.items()]
    if all(value == original for (_, value), original in zip(shown, headers.values(), strict=True)):
        return headers
    return CIMultiDictProxy(CIMultiDict(shown))
