"""The facade: keyword arguments -> request object -> func -> the value, or the error raised."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ldstore import funcs
from ldstore.core import ApiKey, Core, RequestOptions
from ldstore.models import (
    BigSegmentMembership,
    BigSegmentStoreIntegration,
    BigSegmentStoreIntegrationCollection,
    Environment,
    IntegrationDeliveryConfigurationPost,
    IntegrationKey,
    Segment,
)
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentMembershipRequest,
    GetBigSegmentStoreIntegrationRequest,
    GetEnvironmentRequest,
    GetSegmentRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchBody

__all__ = ["Client", "Environments", "PersistentStoreIntegrationsBeta", "Segments"]


class PersistentStoreIntegrationsBeta:
    """The five operations as methods that return the value or raise the ``LDStoreError``."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def get_big_segment_store_integrations(
        self, *, options: RequestOptions | None = None
    ) -> BigSegmentStoreIntegrationCollection:
        result = await funcs.get_big_segment_store_integrations(self.core, options)
        return result.unwrap()

    async def create_big_segment_store_integration(
        self,
        *,
        project_key: str,
        environment_key: str,
        integration_key: IntegrationKey | str,
        integration_delivery_configuration_post: IntegrationDeliveryConfigurationPost,
        options: RequestOptions | None = None,
    ) -> BigSegmentStoreIntegration:
        request = CreateBigSegmentStoreIntegrationRequest(
            project_key=project_key,
            environment_key=environment_key,
            integration_key=integration_key,
            integration_delivery_configuration_post=integration_delivery_configuration_post,
        )
        result = await funcs.create_big_segment_store_integration(self.core, request, options)
        return result.unwrap()

    async def get_big_segment_store_integration(
        self,
        *,
        project_key: str,
        environment_key: str,
        integration_key: IntegrationKey | str,
        integration_id: str,
        options: RequestOptions | None = None,
    ) -> BigSegmentStoreIntegration:
        request = GetBigSegmentStoreIntegrationRequest(
            project_key=project_key,
            environment_key=environment_key,
            integration_key=integration_key,
            integration_id=integration_id,
        )
        result = await funcs.get_big_segment_store_integration(self.core, request, options)
        return result.unwrap()

    async def patch_big_segment_store_integration(  # noqa: PLR0913 (the API's parameters)
        self,
        *,
        project_key: str,
        environment_key: str,
        integration_key: IntegrationKey | str,
        integration_id: str,
        request_body: PatchBody,
        options: RequestOptions | None = None,
    ) -> BigSegmentStoreIntegration:
        request = PatchBigSegmentStoreIntegrationRequest(
            project_key=project_key,
            environment_key=environment_key,
            integration_key=integration_key,
            integration_id=integration_id,
            request_body=request_body,
        )
        result = await funcs.patch_big_segment_store_integration(self.core, request, options)
        return result.unwrap()

    async def delete_big_segment_store_integration(
        self,
        *,
        project_key: str,
        environment_key: str,
        integration_key: IntegrationKey | str,
        integration_id: str,
        options: RequestOptions | None = None,
    ) -> None:
        request = DeleteBigSegmentStoreIntegrationRequest(
            project_key=project_key,
            environment_key=environment_key,
            integration_key=integration_key,
            integration_id=integration_id,
        )
        result = await funcs.delete_big_segment_store_integration(self.core, request, options)
        return result.unwrap()


class Environments:
    """``client.environments``: the environment read (LaunchDarkly's "Environments" tag)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def get_environment(
        self, *, project_key: str, environment_key: str, options: RequestOptions | None = None
    ) -> Environment:
        request = GetEnvironmentRequest(project_key=project_key, environment_key=environment_key)
        result = await funcs.get_environment(self.core, request, options)
        return result.unwrap()


class Segments:
    """``client.segments``: the segment reads (LaunchDarkly's "Segments" tag)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def get_segment(
        self,
        *,
        project_key: str,
        environment_key: str,
        segment_key: str,
        options: RequestOptions | None = None,
    ) -> Segment:
        request = GetSegmentRequest(
            project_key=project_key, environment_key=environment_key, segment_key=segment_key
        )
        result = await funcs.get_segment(self.core, request, options)
        return result.unwrap()

    async def get_big_segment_membership(
        self,
        *,
        project_key: str,
        environment_key: str,
        segment_key: str,
        context_key: str,
        options: RequestOptions | None = None,
    ) -> BigSegmentMembership:
        request = GetBigSegmentMembershipRequest(
            project_key=project_key,
            environment_key=environment_key,
            segment_key=segment_key,
            context_key=context_key,
        )
        result = await funcs.get_big_segment_membership(self.core, request, options)
        return result.unwrap()


class Client:
    """``Client(api_key=..., **core_options)`` or ``Client(core=core)``; an async context manager.

    The store integrations are under ``persistent_store_integrations_beta``; the
    environment and segment reads under ``environments`` and ``segments``.

    >>> async with Client(api_key=token) as client:
    ...     stores = await client.persistent_store_integrations_beta.get_big_segment_store_integrations()
    ...     segment = await client.segments.get_segment(
    ...         project_key="default", environment_key="production", segment_key="beta-users")
    """

    def __init__(
        self, api_key: ApiKey | None = None, *, core: Core | None = None, **core_options: Any
    ) -> None:
        if core is not None and (api_key is not None or core_options):
            msg = "pass either core= or api_key and Core options, not both"
            raise TypeError(msg)
        self._owns_core = core is None
        self.core = core if core is not None else Core(api_key, **core_options)
        self.persistent_store_integrations_beta = PersistentStoreIntegrationsBeta(self.core)
        self.environments = Environments(self.core)
        self.segments = Segments(self.core)

    def __repr__(self) -> str:
        return f"Client(core={self.core!r})"

    async def close(self) -> None:
        """Close the Core this Client created; a Core passed in is the caller's to close."""
        if self._owns_core:
            await self.core.close()

    async def __aenter__(self) -> Client:
        if self._owns_core:
            _ = await self.core.__aenter__()  # reopens a Core this Client closed before
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
