"""Frozen attrs classes for the OpenAPI schemas; plain data, no I/O and no wire names."""

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

import attrs

from ldstore.patch import PatchOperation

__all__ = [
    "DYNAMODB_REGIONS",
    "Access",
    "AccessAllowedReason",
    "AccessAllowedRep",
    "AccessDenied",
    "AccessDeniedReason",
    "BigSegmentStoreIntegration",
    "BigSegmentStoreIntegrationCollection",
    "BigSegmentStoreIntegrationCollectionLinks",
    "BigSegmentStoreIntegrationLinks",
    "BigSegmentStoreStatus",
    "DynamoDBConfig",
    "IntegrationDeliveryConfigurationPost",
    "IntegrationKey",
    "Link",
    "PatchOperation",
    "RedisConfig",
    "StoreConfig",
    "StoreIntegrationError",
]


class IntegrationKey(str, enum.Enum):
    """The kind of persistent store. Responses may carry kinds added later as plain strings."""

    REDIS = "redis"
    DYNAMODB = "dynamodb"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class Link:
    href: str | None = None
    type: str | None = None


@attrs.frozen(kw_only=True)
class BigSegmentStoreIntegrationLinks:
    self_: Link  # "self" on the wire; a field cannot be called self in Python
    parent: Link
    project: Link
    environment: Link


@attrs.frozen(kw_only=True)
class BigSegmentStoreIntegrationCollectionLinks:
    self_: Link
    parent: Link | None = None


@attrs.frozen(kw_only=True)
class StoreIntegrationError:
    status_code: int | None = None
    message: str | None = None
    timestamp: datetime | None = None


@attrs.frozen(kw_only=True)
class BigSegmentStoreStatus:
    """Whether LaunchDarkly has synced the store (``available``) and what went wrong."""

    available: bool | None = None
    potentially_stale: bool | None = None
    last_sync: datetime | None = None
    last_error: datetime | None = None
    errors: tuple[StoreIntegrationError, ...] | None = None


@attrs.frozen(kw_only=True)
class AccessAllowedReason:
    effect: str  # "allow" or "deny"; kept a string so a new effect does not fail a response
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    role_name: str | None = None


@attrs.frozen(kw_only=True)
class AccessDeniedReason:
    effect: str
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    role_name: str | None = None


@attrs.frozen(kw_only=True)
class AccessAllowedRep:
    action: str
    reason: AccessAllowedReason


@attrs.frozen(kw_only=True)
class AccessDenied:
    action: str
    reason: AccessDeniedReason


@attrs.frozen(kw_only=True)
class Access:
    denied: tuple[AccessDenied, ...]
    allowed: tuple[AccessAllowedRep, ...]


@attrs.frozen(kw_only=True)
class BigSegmentStoreIntegration:
    """A persistent store integration as the API returns it.

    ``config`` is ``None`` in list items: the API includes it only when one
    integration is requested by ID. Secret values in it come back masked.
    """

    links: BigSegmentStoreIntegrationLinks
    id: str
    integration_key: IntegrationKey | str
    project_key: str
    environment_key: str
    on: bool
    tags: tuple[str, ...]
    name: str
    version: int
    status: BigSegmentStoreStatus
    config: Mapping[str, Any] | None = None
    access: Access | None = None


@attrs.frozen(kw_only=True)
class BigSegmentStoreIntegrationCollection:
    links: BigSegmentStoreIntegrationCollectionLinks
    items: tuple[BigSegmentStoreIntegration, ...]


DYNAMODB_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "sa-east-1",
    }
)
_MAX_PORT = 65535


# Validators take object: they check at run time what the annotations promise.
def _non_empty(_: object, attribute: "attrs.Attribute[str]", value: object) -> None:
    if not isinstance(value, str):
        msg = f"{attribute.name} must be a string, not {type(value).__name__}"
        raise TypeError(msg)
    if not value.strip():
        msg = f"{attribute.name} must not be empty"
        raise ValueError(msg)


def _optional_str(_: object, attribute: "attrs.Attribute[str | None]", value: object) -> None:
    if value is not None and not isinstance(value, str):
        msg = f"{attribute.name} must be a string or None, not {type(value).__name__}"
        raise TypeError(msg)


def _port(_: object, attribute: "attrs.Attribute[int]", value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"port must be an int, not {type(value).__name__}"
        raise TypeError(msg)
    if not 1 <= value <= _MAX_PORT:
        msg = f"port must be between 1 and {_MAX_PORT}, not {value}"
        raise ValueError(msg)


def _bool(_: object, attribute: "attrs.Attribute[bool]", value: object) -> None:
    if not isinstance(value, bool):
        msg = f"{attribute.name} must be a bool, not {type(value).__name__}"
        raise TypeError(msg)


def _region(_: object, attribute: "attrs.Attribute[str]", value: object) -> None:
    _non_empty(_, attribute, value)
    if value not in DYNAMODB_REGIONS:
        msg = f"region {value!r} is not one LaunchDarkly supports: {', '.join(sorted(DYNAMODB_REGIONS))}"
        raise ValueError(msg)


def _role_arn(_: object, attribute: "attrs.Attribute[str]", value: object) -> None:
    _non_empty(_, attribute, value)
    if not str(value).startswith("arn:"):
        msg = f"role_arn must be an IAM role ARN starting with 'arn:', not {value!r}"
        raise ValueError(msg)


@attrs.frozen
class RedisConfig:
    """A Redis big segment store; encodes to ``host``, ``port`` (a string), ``tlsEnabled``, ...

    >>> RedisConfig(host="redis.internal", port=6380, tls_enabled=True)
    """

    host: str = attrs.field(validator=_non_empty)
    port: int = attrs.field(default=6379, validator=_port)
    username: str | None = attrs.field(default=None, validator=_optional_str)
    password: str | None = attrs.field(default=None, validator=_optional_str, repr=False)
    tls_enabled: bool = attrs.field(default=False, validator=_bool)


@attrs.frozen
class DynamoDBConfig:
    """A DynamoDB big segment store (partition key ``namespace``, sort key ``key``)."""

    table_name: str = attrs.field(validator=_non_empty)
    region: str = attrs.field(validator=_region)
    role_arn: str = attrs.field(validator=_role_arn)
    external_id: str = attrs.field(validator=_non_empty)


StoreConfig: TypeAlias = RedisConfig | DynamoDBConfig | Mapping[str, Any]


@attrs.frozen
class IntegrationDeliveryConfigurationPost:
    """The body of a create: the store's config, and optionally its name, state and tags."""

    config: StoreConfig
    on: bool | None = None
    tags: Sequence[str] | None = None
    name: str | None = None
