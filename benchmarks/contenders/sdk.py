"""ldstore as the contender: ``ldstore.funcs`` on a ``Core``, and the ``Client`` facade."""

from __future__ import annotations

from benchmarks.contenders import Contender, Target
from ldstore import Client, Core, Err, _json, funcs
from ldstore.models import (
    BigSegmentStoreIntegrationCollection,
    IntegrationDeliveryConfigurationPost,
    RedisConfig,
)
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
)
from ldstore.wire import from_wire

__all__ = ["LdstoreClient", "LdstoreFuncs"]


def _decode_list(body: bytes) -> int:
    # What funcs do with a response body: ldstore's JSON parser (the speed extra's C parser
    # when installed; ldstore.wire has no bytes-level entry point), then the one converter.
    return len(from_wire(_json.loads(body), BigSegmentStoreIntegrationCollection).items)


class LdstoreFuncs(Contender):
    """``ldstore.funcs`` on a ``Core`` with its defaults (retries, limiter on)."""

    name = "ldstore-funcs"

    def __init__(self, url: str, token: str) -> None:
        self.core = Core(token, server_url=url)

    async def get(self, target: Target) -> object:
        request = GetBigSegmentStoreIntegrationRequest(
            project_key=target.project_key,
            environment_key=target.environment_key,
            integration_key=target.integration_key,
            integration_id=target.integration_id,
        )
        result = await funcs.get_big_segment_store_integration(self.core, request)
        if isinstance(result, Err):
            raise result.error
        return result.value

    async def list_all(self) -> int:
        result = await funcs.get_big_segment_store_integrations(self.core)
        if isinstance(result, Err):
            raise result.error
        return len(result.value.items)

    def decode_list(self, body: bytes) -> int:
        return _decode_list(body)

    async def create(self, project_key: str, environment_key: str, name: str) -> str:
        request = CreateBigSegmentStoreIntegrationRequest(
            project_key=project_key,
            environment_key=environment_key,
            integration_key="redis",
            integration_delivery_configuration_post=IntegrationDeliveryConfigurationPost(
                config=RedisConfig(host="redis.bench.internal"), name=name, tags=("bench",)
            ),
        )
        result = await funcs.create_big_segment_store_integration(self.core, request)
        if isinstance(result, Err):
            raise result.error
        return result.value.id

    async def delete(self, project_key: str, environment_key: str, integration_id: str) -> None:
        request = DeleteBigSegmentStoreIntegrationRequest(
            project_key=project_key,
            environment_key=environment_key,
            integration_key="redis",
            integration_id=integration_id,
        )
        result = await funcs.delete_big_segment_store_integration(self.core, request)
        if isinstance(result, Err):
            raise result.error

    async def aclose(self) -> None:
        await self.core.close()


class LdstoreClient(Contender):
    """The ``Client`` facade: keyword arguments in, the value out or the error raised."""

    name = "ldstore-client"

    def __init__(self, url: str, token: str) -> None:
        self.client = Client(token, server_url=url)
        self.api = self.client.persistent_store_integrations_beta

    async def get(self, target: Target) -> object:
        return await self.api.get_big_segment_store_integration(
            project_key=target.project_key,
            environment_key=target.environment_key,
            integration_key=target.integration_key,
            integration_id=target.integration_id,
        )

    async def list_all(self) -> int:
        collection = await self.api.get_big_segment_store_integrations()
        return len(collection.items)

    def decode_list(self, body: bytes) -> int:
        return _decode_list(body)

    async def create(self, project_key: str, environment_key: str, name: str) -> str:
        created = await self.api.create_big_segment_store_integration(
            project_key=project_key,
            environment_key=environment_key,
            integration_key="redis",
            integration_delivery_configuration_post=IntegrationDeliveryConfigurationPost(
                config=RedisConfig(host="redis.bench.internal"), name=name, tags=("bench",)
            ),
        )
        return created.id

    async def delete(self, project_key: str, environment_key: str, integration_id: str) -> None:
        await self.api.delete_big_segment_store_integration(
            project_key=project_key,
            environment_key=environment_key,
            integration_key="redis",
            integration_id=integration_id,
        )

    async def aclose(self) -> None:
        await self.client.close()
