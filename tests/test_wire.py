"""The public wire helpers are the converter's two directions."""

from ldstore.errors import InputValidationError, RateLimitedError
from ldstore.models import RedisConfig
from ldstore.patch import PatchOperation
from ldstore.wire import error_to_wire, from_wire, to_wire


def test_to_wire_uses_the_api_names_and_types() -> None:
    """A Redis config goes out with the manifest's keys and its port as a string."""
    assert to_wire(RedisConfig("redis.internal", 6380)) == {
        "host": "redis.internal",
        "port": "6380",
        "tlsEnabled": False,
    }


def test_from_wire_reads_back_what_to_wire_wrote() -> None:
    """A patch operation survives the round trip, its absent value included."""
    operation = PatchOperation("remove", "/tags/0")

    assert from_wire(to_wire(operation), PatchOperation) == operation


def test_error_to_wire_tells_a_429_from_bad_input() -> None:
    """The machine shape names the class, and fills only the fields that apply."""
    limited = RateLimitedError(
        status_code=429, code="rate_limited", message="slow down", id="e-1", retry_after=2.5
    )
    invalid = InputValidationError(message="bad key", field="project_key")

    assert error_to_wire(limited) == {
        "kind": "RateLimitedError",
        "status": 429,
        "code": "rate_limited",
        "message": "slow down",
        "id": "e-1",
        "retry_after": 2.5,
        "field": None,
    }
    assert error_to_wire(invalid) == {
        "kind": "InputValidationError",
        "status": None,
        "code": None,
        "message": "bad key",
        "id": None,
        "retry_after": None,
        "field": "project_key",
    }
