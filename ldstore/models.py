"""Frozen attrs classes for the OpenAPI schemas; plain data, no I/O.

The typed store configs (``RedisConfig``, ``DynamoDBConfig``) and the masking rule live
in ``ldstore.configs`` and are re-exported here, as ``PatchOperation`` is from
``ldstore.patch`` (it is an OpenAPI schema).
"""

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

import attrs

from ldstore.configs import (
    DYNAMODB_REGIONS,
    MASKED,
    ConfigError,
    ConfigField,
    DynamoDBConfig,
    RedisConfig,
    TypedConfig,
    config_class,
    config_field,
    config_fields,
    masked_repr,
    masked_secret,
    parse_config,
    parse_config_value,
    redact,
    secret_keys,
    store_kinds,
)
from ldstore.patch import PatchOperation

C = TypeVar("C", bound=TypedConfig)

__all__ = [
    "DYNAMODB_REGIONS",
    "MASKED",
    "Access",
    "AccessAllowedReason",
    "AccessAllowedRep",
    "AccessDenied",
    "AccessDeniedReason",
    "BigSegmentMembership",
    "BigSegmentStoreIntegration",
    "BigSegmentStoreIntegrationCollection",
    "BigSegmentStoreIntegrationCollectionLinks",
    "BigSegmentStoreIntegrationLinks",
    "BigSegmentStoreStatus",
    "ConfigError",
    "ConfigField",
    "DynamoDBConfig",
    "Environment",
    "IntegrationDeliveryConfigurationPost",
    "IntegrationKey",
    "Link",
    "PatchOperation",
    "RedisConfig",
    "Segment",
    "StoreConfig",
    "StoreIntegrationError",
    "TypedConfig",
    "config_class",
    "config_field",
    "config_fields",
    "masked_repr",
    "masked_secret",
    "parse_config",
    "parse_config_value",
    "redact",
    "secret_keys",
    "store_kinds",
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
class _AccessReason:
    """The policy statement behind an access decision; two schemas of the API share it."""

    effect: str  # "allow" or "deny"; kept a string so a new effect does not fail a response
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    role_name: str | None = None


@attrs.frozen(kw_only=True)
class AccessAllowedReason(_AccessReason):
    """Why an action is allowed (the API's ``AccessAllowedReason``)."""


@attrs.frozen(kw_only=True)
class AccessDeniedReason(_AccessReason):
    """Why an action is denied (the API's ``AccessDeniedReason``)."""


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
    config: Mapping[str, Any] | None = attrs.field(default=None, repr=masked_repr)
    access: Access | None = None

    def redis_config(self, *, password: str | None = None) -> "RedisConfig":
        """This integration's ``config`` as a ``RedisConfig``, to reuse it (a create elsewhere).

        The API never shows a stored password: it reads back as ``MASKED``, which becomes
        ``password=None`` here, unless ``password`` gives it. Keys this release does not
        know are left out. Raises ``ValueError`` when this is not a Redis integration, the
        config is absent (list items have none: read the integration by ID) or invalid.
        """
        config = self._typed(RedisConfig)
        return config if password is None else attrs.evolve(config, password=password)

    def dynamodb_config(self) -> "DynamoDBConfig":
        """This integration's ``config`` as a ``DynamoDBConfig``; see ``redis_config``."""
        return self._typed(DynamoDBConfig)

    def _typed(self, cls: "type[C]") -> "C":
        if str(self.integration_key) != cls.integration_key:
            message = f"integration {self.id!r} is a {self.integration_key} store, not {cls.integration_key}"
            raise ValueError(message)
        if self.config is None:
            message = (
                f"integration {self.id!r} has no config: list items leave it out, read it by ID"
            )
            raise ValueError(message)
        return parse_config(cls, self.config, ignore_unknown=True)


@attrs.frozen(kw_only=True)
class BigSegmentStoreIntegrationCollection:
    links: BigSegmentStoreIntegrationCollectionLinks
    items: tuple[BigSegmentStoreIntegration, ...]


# The reads beyond the store integrations (not beta): only the fields ldstore needs are
# typed; the rest of LaunchDarkly's much larger schemas is ignored when decoding.
@attrs.frozen(kw_only=True)
class Environment:
    """An environment (``getEnvironment``): ``id`` (``_id`` on the wire) is its
    client-side ID, the key prefix of a LaunchDarkly-managed persistent store.

    The environment's SDK key (``apiKey``) and mobile key are secrets: they are never
    decoded, kept, or shown, so this model has no field for them.
    """

    id: str
    key: str
    name: str


@attrs.frozen(kw_only=True)
class Segment:
    """A segment (``getSegment``; LaunchDarkly's ``UserSegment``, the fields ldstore needs).

    A big segment has ``unbounded`` true; a store holds its members under ``ref``
    (``<key>.g<generation>``), hashed by the key of the ``unbounded_context_kind``
    (``user`` when the API leaves it out).
    """

    key: str
    name: str
    generation: int
    version: int
    creation_date: datetime
    links: Mapping[str, Link]
    unbounded: bool = False  # left out for a standard segment
    unbounded_context_kind: str | None = None

    @property
    def ref(self) -> str:
        """The segment ref a big segment store holds this generation's members under."""
        return f"{self.key}.g{self.generation}"


@attrs.frozen(kw_only=True)
class BigSegmentMembership:
    """Whether a context is a big segment's target (``getSegmentMembershipForContext``;
    LaunchDarkly's ``BigSegmentTarget``): included, excluded, or neither (both false)."""

    user_key: str  # the context key, under the API's older name
    included: bool
    excluded: bool


StoreConfig: TypeAlias = RedisConfig | DynamoDBConfig | Mapping[str, Any]


@attrs.frozen
class IntegrationDeliveryConfigurationPost:
    """The body of a create: the store's config, and optionally its name, state and tags."""

    config: StoreConfig = attrs.field(repr=masked_repr)
    on: bool | None = None
    tags: Sequence[str] | None = None
    name: str | None = None
