from typing import Any

import pytest

from ldstore.errors import LDStoreError
from ldstore.models import DYNAMODB_REGIONS, DynamoDBConfig, RedisConfig

ROLE = "arn:aws:iam::123456789012:role/launchdarkly"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"host": ""}, ValueError, "host must not be empty"),
        ({"host": "   "}, ValueError, "host must not be empty"),
        ({"host": 5}, TypeError, "host must be a string"),
        ({"host": "h", "port": 0}, ValueError, "between 1 and 65535"),
        ({"host": "h", "port": 65536}, ValueError, "between 1 and 65535"),
        ({"host": "h", "port": "http"}, ValueError, "port takes a number from 1 to 65535"),
        ({"host": "h", "port": "\uff16\uff13\uff17\uff19"}, ValueError, "port takes a number"),  # full-width
        ({"host": "h", "port": "9" * 5000}, ValueError, "port takes a number"),
        ({"host": "h", "port": "70000"}, ValueError, "between 1 and 65535"),
        ({"host": "h", "port": True}, TypeError, "port must be an int"),
        ({"host": "h", "port": 6379.0}, TypeError, "port must be an int"),
        ({"host": "h", "tls_enabled": "yes"}, TypeError, "tls_enabled must be a bool"),
        ({"host": "h", "password": 1}, TypeError, "password must be a string"),
    ],
)
def test_redis_config_refuses_invalid_values(
    kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    """RedisConfig validates on construction with ValueError/TypeError, never LDStoreError."""
    with pytest.raises(error, match=words) as raised:
        _ = RedisConfig(**kwargs)

    assert not isinstance(raised.value, LDStoreError)


def test_redis_config_accepts_the_edges() -> None:
    """Ports 1 and 65535 are valid; the password is kept out of repr."""
    low = RedisConfig("h", port=1, password="s3cret")
    high = RedisConfig("h", port=65535)

    assert (low.port, high.port) == (1, 65535)
    assert "s3cret" not in repr(low)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (
            {"table_name": "", "region": "us-east-1", "role_arn": ROLE, "external_id": "x"},
            ValueError,
            "table_name",
        ),
        (
            {"table_name": "t", "region": "mars-1", "role_arn": ROLE, "external_id": "x"},
            ValueError,
            "region 'mars-1'",
        ),
        (
            {"table_name": "t", "region": "us-east-1", "role_arn": "role/x", "external_id": "x"},
            ValueError,
            "arn:",
        ),
        (
            {"table_name": "t", "region": "us-east-1", "role_arn": ROLE, "external_id": ""},
            ValueError,
            "external_id",
        ),
        (
            {"table_name": "t", "region": 1, "role_arn": ROLE, "external_id": "x"},
            TypeError,
            "region",
        ),
    ],
)
def test_dynamodb_config_refuses_invalid_values(
    kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    """DynamoDBConfig checks required strings, the region list and the role ARN's shape."""
    with pytest.raises(error, match=words):
        _ = DynamoDBConfig(**kwargs)


def test_every_documented_region_is_accepted() -> None:
    """The 17 regions of the reference page all construct."""
    configs = [DynamoDBConfig("t", region, ROLE, "x") for region in sorted(DYNAMODB_REGIONS)]

    assert len(configs) == 17
