"""Request objects: one frozen attrs class per operation that takes parameters."""

import attrs

from ldstore.models import IntegrationDeliveryConfigurationPost, IntegrationKey
from ldstore.patch import PatchBody

__all__ = [
    "CreateBigSegmentStoreIntegrationRequest",
    "DeleteBigSegmentStoreIntegrationRequest",
    "GetBigSegmentMembershipRequest",
    "GetBigSegmentStoreIntegrationRequest",
    "GetEnvironmentRequest",
    "GetSegmentRequest",
    "PatchBigSegmentStoreIntegrationRequest",
]


@attrs.frozen
class CreateBigSegmentStoreIntegrationRequest:
    project_key: str
    environment_key: str
    integration_key: IntegrationKey | str
    integration_delivery_configuration_post: IntegrationDeliveryConfigurationPost


@attrs.frozen
class GetBigSegmentStoreIntegrationRequest:
    project_key: str
    environment_key: str
    integration_key: IntegrationKey | str
    integration_id: str


@attrs.frozen
class PatchBigSegmentStoreIntegrationRequest:
    """``request_body`` is a sequence of ``PatchOperation`` or a ``PatchWithComment``."""

    project_key: str
    environment_key: str
    integration_key: IntegrationKey | str
    integration_id: str
    request_body: PatchBody


@attrs.frozen
class DeleteBigSegmentStoreIntegrationRequest:
    project_key: str
    environment_key: str
    integration_key: IntegrationKey | str
    integration_id: str


@attrs.frozen
class GetEnvironmentRequest:
    project_key: str
    environment_key: str


@attrs.frozen
class GetSegmentRequest:
    project_key: str
    environment_key: str
    segment_key: str


@attrs.frozen
class GetBigSegmentMembershipRequest:
    """``context_key``: the key of a context of the segment's ``unbounded_context_kind``."""

    project_key: str
    environment_key: str
    segment_key: str
    context_key: str
