import base64
import builtins
import json
from urllib.parse import quote

import pytest

import ldstore.errors as errors_module
from ldstore.errors import (
    APIError,
    ForbiddenError,
    ForbiddenErrorRep,
    InputValidationError,
    InvalidRequestError,
    LDStoreError,
    NotFoundError,
    NotFoundErrorRep,
    RateLimitedError,
    ResponseValidationError,
    SDKValidationError,
    StatusConflictError,
    UnauthorizedError,
    api_error,
    redacted,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, StatusConflictError),
        (429, RateLimitedError),
        (418, APIError),
        (500, APIError),
    ],
)
def test_each_status_maps_to_its_class(status: int, cls: type[APIError]) -> None:
    """The documented statuses get their own class; any other status the base APIError."""
    body = json.dumps({"code": "c", "message": "m", "id": "req-1"}).encode()

    error = api_error(status, {"X-Test": "1"}, body)

    assert type(error) is cls
    assert (error.status_code, error.code, error.message, error.id) == (status, "c", "m", "req-1")
    assert error.body == body
    assert error.headers["X-Test"] == "1"
    assert str(error) == f"HTTP {status} c: m (error id req-1)"


def test_an_html_error_page_keeps_its_raw_text() -> None:
    """A proxy's HTML 502 still gives an APIError whose message is the page's text."""
    body = b"<html><body>502 Bad Gateway</body></html>"

    error = api_error(502, {}, body)

    assert type(error) is APIError
    assert error.code is None
    assert "502 Bad Gateway" in error.message
    assert error.body == body


def test_an_empty_error_body_says_so() -> None:
    """An error status with no body still has a useful message."""
    assert api_error(503, {}, b"").message == "HTTP 503 with an empty body"


def test_rate_limited_error_carries_the_wait() -> None:
    """RateLimitedError keeps the server's requested wait in seconds."""
    error = api_error(429, {}, b"{}", retry_after=2.5)

    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 2.5


def test_documentation_names_are_aliases() -> None:
    """The seed documentation's names are the same classes."""
    assert NotFoundErrorRep is NotFoundError
    assert ForbiddenErrorRep is ForbiddenError
    assert SDKValidationError is ResponseValidationError


def test_every_error_is_an_exception_and_shadows_no_builtin() -> None:
    """All error classes subclass LDStoreError(Exception); none reuses a builtin's name."""
    classes = {
        name: value
        for name, value in vars(errors_module).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }

    assert len(classes) >= 14
    assert all(issubclass(cls, LDStoreError) for cls in classes.values())
    assert not set(classes) & set(dir(builtins))


def test_a_redirect_names_its_location_and_is_bounded() -> None:
    """A 3xx APIError says the redirect was not followed and names (at most 1000 chars of) Location."""
    error = api_error(307, {"Location": "http://elsewhere/" + "x" * 5000}, b"")

    assert type(error) is APIError
    assert "redirect to 'http://elsewhere/" in error.message
    assert "not followed" in error.message
    assert len(error.message) < 1200


def test_the_secret_is_redacted_from_body_headers_and_message() -> None:
    """api_error(secret=...) and redacted() leave no trace of the token anywhere."""
    secret = "api-secret-xyz"
    body = b'{"message": "bad token api-secret-xyz", "code": "api-secret-xyz"}'

    error = api_error(401, {"X-Echo": secret}, body, secret=secret)
    again = redacted(InputValidationError(message=f"saw {secret}"), secret)

    assert secret not in str(error) + repr(error) + str(error.code) + str(dict(error.headers))
    assert secret.encode() not in error.body
    assert str(again) == "saw [REDACTED]"
    plain = InputValidationError(message="nothing to hide")
    assert redacted(plain, secret) is plain


def test_redacted_masks_every_spelling_in_every_field() -> None:
    """The token percent-encoded, JSON-escaped or base64'd is masked as the raw one is."""
    secret = "api-s3cr/t+\u00e9"
    spellings = [secret, quote(secret, safe=""), json.dumps(secret)[1:-1]]
    spellings.append(base64.b64encode(secret.encode()).decode().rstrip("="))
    echoed = " ".join(spellings)
    error = APIError(
        status_code=400, message=echoed, code=echoed, id=echoed, headers={"X-Echo": echoed},
        body=echoed.encode(),
    )  # fmt: skip

    shown = redacted(error, secret)

    assert isinstance(shown, APIError)
    everything = f"{shown.message} {shown.code} {shown.id} {dict(shown.headers)} {shown.body!r}"
    for spelling in spellings:
        assert spelling not in everything
    assert shown.message == " ".join(["[REDACTED]"] * 4)
