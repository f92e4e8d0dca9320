"""The public wire helpers are the converter's two directions."""

from ldstore.models import RedisConfig
from ldstore.patch import PatchOperation
from ldstore.wire import from_wire, to_wire


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
