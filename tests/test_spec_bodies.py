"""Every body the shipped OpenAPI document allows decodes, and encodes back to itself.

The bodies are drawn from the schemas in ``ldstore.testing.openapi_document()`` (no
hand-written strategy): int64 timestamps over their whole range, optional properties
present or not, ``config`` objects of any JSON.
"""

import copy
import json
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ldstore import _codec
from ldstore._codec import converter
from ldstore.models import (
    BigSegmentStoreIntegration,
    BigSegmentStoreIntegrationCollection,
    BigSegmentStoreStatus,
    OutOfRangeTimestamp,
)
from ldstore.testing import openapi_document

SCHEMAS: dict[str, Any] = openapi_document()["components"]["schemas"]
INT64 = (-(2**63), 2**63 - 1)
any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(*INT64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=5,
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:  # noqa: PLR0911 (one answer per keyword)
    """JSON values the (OpenAPI 3.0) schema allows: the subset's keywords, ``$ref`` followed."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: from_schema(SCHEMAS[name]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return st.text(max_size=8)
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(*INT64)  # UnixMillis, statusCode, version: int64 or wider
    if kind == "array":
        return st.lists(from_schema(schema["items"]), max_size=2)
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        properties = schema["properties"]
        return st.fixed_dictionaries(
            {key: from_schema(value) for key, value in properties.items() if key in required},
            optional={
                key: from_schema(value) for key, value in properties.items() if key not in required
            },
        )
    # FormVariableConfig: an object with any properties.
    assert kind == "object", schema
    return st.dictionaries(st.text(max_size=6), any_json, max_size=3)


collections = from_schema({"$ref": "#/BigSegmentStoreIntegrationCollection"})
integrations = from_schema({"$ref": "#/BigSegmentStoreIntegration"})


@settings(max_examples=300, deadline=None)
@given(collections)
def test_every_spec_valid_list_decodes_and_encodes_back(wire: dict[str, Any]) -> None:
    """A list the contract allows decodes whole (every item, whatever its timestamps) and
    encodes back to the same JSON."""
    decoded = _codec.decode(json.dumps(wire).encode(), BigSegmentStoreIntegrationCollection)

    assert len(decoded.items) == len(wire["items"])
    assert converter.unstructure(decoded) == wire


@settings(max_examples=300, deadline=None)
@given(integrations)
def test_every_spec_valid_integration_decodes_and_encodes_back(wire: dict[str, Any]) -> None:
    """A single integration the contract allows decodes and encodes back to the same JSON."""
    decoded = _codec.decode(json.dumps(wire).encode(), BigSegmentStoreIntegration)

    assert converter.unstructure(decoded) == wire


def test_timestamps_beyond_datetime_are_kept_exactly() -> None:
    """int64 milliseconds past year 9999 (or before year 1) decode to OutOfRangeTimestamp,
    nearest date datetime can hold, and encode back to the same milliseconds; the rest of
    the body decodes as usual."""
    wire = {
        "available": True,
        "lastSync": 2**63 - 1,
        "lastError": -(2**63),
        "errors": [{"timestamp": 253402300800000, "statusCode": 500}],
    }

    status = _codec.decode(json.dumps(wire).encode(), BigSegmentStoreStatus)

    assert status.available is True
    assert isinstance(status.last_sync, OutOfRangeTimestamp)
    assert status.last_sync.milliseconds == 2**63 - 1
    assert status.last_sync.year == 9999
    assert isinstance(status.last_error, OutOfRangeTimestamp)
    assert status.last_error.year == 1
    assert status.last_error < status.last_sync
    assert status.errors is not None
    assert status.errors[0].status_code == 500
    assert converter.unstructure(status) == wire


def test_out_of_range_timestamps_compare_by_their_milliseconds() -> None:
    """Two far timestamps are equal only with equal milliseconds; none equals a datetime."""
    far = OutOfRangeTimestamp(2**60)

    assert far == OutOfRangeTimestamp(2**60)
    assert far != OutOfRangeTimestamp(2**60 + 1)
    assert hash(far) == hash(OutOfRangeTimestamp(2**60))
    assert far != far.replace()  # a plain datetime at the clamp: not the same instant
    assert repr(far) == f"OutOfRangeTimestamp(milliseconds={2**60})"


def test_out_of_range_timestamps_work_as_datetimes() -> None:
    """What datetime's own methods build from one is a plain datetime at the clamp
    (arithmetic, replace, astimezone); a pickle or deep copy keeps the milliseconds."""
    far = OutOfRangeTimestamp(2**60)
    early = OutOfRangeTimestamp(-(2**60))

    assert type(far - timedelta(days=1)) is datetime
    assert far - timedelta(days=1) == datetime(9999, 12, 30, 23, 59, 59, 999999, timezone.utc)
    assert type(far.replace(microsecond=0)) is datetime
    assert type(early.astimezone(timezone.utc)) is datetime
    assert early.year == 1
    assert pickle.loads(pickle.dumps(far)) == far  # noqa: S301 (our own bytes)
    assert copy.deepcopy(far).milliseconds == 2**60
