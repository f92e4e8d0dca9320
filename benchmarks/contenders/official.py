"""The official client (``launchdarkly-api`` on PyPI), the one module that imports it.

Facts this module works with, reported with the results rather than hidden:

- ``ApiClient`` sends ``LD-API-Version: 20240415`` as a default header, and default
  headers overwrite per-call ``_headers``: a beta call works only after
  ``api_client.set_default_header("LD-API-Version", "beta")`` (see ``beta_header_check``).
- Its models reject list items without ``config``, which is how the real API shapes a
  list; the list workload needs the fake's ``--list-includes-config`` (the harness
  runs the real-shaped list once, as the ``real-shape-list`` check).
- It is synchronous (urllib3): concurrency is a thread pool over one connection pool.
"""

# launchdarkly-api ships no type information, and the test extra (where the type checkers
# run) does not install it: its names are Unknown to pyright here, by design. mypy has
# ignore_missing_imports for it in pyproject.toml.
# pyright: reportMissingImports=false, reportUnknownMemberType=false
# pyright: reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from typing import Any, cast

import launchdarkly_api
from launchdarkly_api.api.persistent_store_integrations_beta_api import (
    PersistentStoreIntegrationsBetaApi,
)

from benchmarks.contenders import Contender, Target

__all__ = ["OfficialClient", "beta_header_check", "version"]

_COLLECTION = "BigSegmentStoreIntegrationCollection"
POOL_SIZE = 64


def version() -> str:
    return str(cast("object", launchdarkly_api.__version__))


def _api(url: str, token: str, *, beta_default: bool = True) -> tuple[Any, Any]:
    # Any: the generated client's annotations are not precise enough for strict checking.
    configuration: Any = launchdarkly_api.Configuration(host=url, api_key={"ApiKey": token})
    configuration.connection_pool_maxsize = POOL_SIZE
    client: Any = launchdarkly_api.ApiClient(configuration)
    if beta_default:
        # Per-call _headers cannot do this: the default header overwrites them.
        client.set_default_header("LD-API-Version", "beta")
    api: Any = PersistentStoreIntegrationsBetaApi(client)
    return client, api


class OfficialClient(Contender):
    """``PersistentStoreIntegrationsBetaApi`` with the beta header set as a default header.

    Its calls block: in the sequential workloads the event loop simply waits on them;
    ``get_many`` runs them on a pool of threads instead.
    """

    name = "launchdarkly-api"

    def __init__(self, url: str, token: str) -> None:
        self.client, self.api = _api(url, token)

    def _get(self, target: Target) -> object:
        return cast(
            "object",
            self.api.get_big_segment_store_integration(
                target.project_key,
                target.environment_key,
                target.integration_key,
                target.integration_id,
            ),
        )

    async def get(self, target: Target) -> object:
        return self._get(target)

    async def get_many(self, targets: Sequence[Target], concurrency: int) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
            for _ in pool.map(self._get, targets):
                pass

    async def list_all(self) -> int:
        collection = self.api.get_big_segment_store_integrations()
        return len(cast("list[object]", collection.items))

    def decode_list(self, body: bytes) -> int:
        # What response_deserialize does with a 200 body: text, then JSON, then models.
        collection = self.client.deserialize(body.decode("utf-8"), _COLLECTION, "application/json")
        return len(cast("list[object]", collection.items))

    async def create(self, project_key: str, environment_key: str, name: str) -> str:
        post = launchdarkly_api.IntegrationDeliveryConfigurationPost(
            config={"host": "redis.bench.internal", "port": "6379", "tlsEnabled": False},
            name=name,
            tags=["bench"],
        )
        created = self.api.create_big_segment_store_integration(
            project_key, environment_key, "redis", post
        )
        return str(cast("object", created.id))

    async def delete(self, project_key: str, environment_key: str, integration_id: str) -> None:
        self.api.delete_big_segment_store_integration(
            project_key, environment_key, "redis", integration_id
        )

    async def aclose(self) -> None:
        self.client.rest_client.pool_manager.clear()


def beta_header_check(url: str, token: str, target: Target) -> dict[str, object]:
    """A get with ``_headers={"LD-API-Version": "beta"}`` and no default header set."""
    client, api = _api(url, token, beta_default=False)
    try:
        _ = api.get_big_segment_store_integration(*target, _headers={"LD-API-Version": "beta"})
    except launchdarkly_api.ApiException as error:
        status: object = getattr(error, "status", None)
        return {"ok": False, "status": status, "error": type(error).__name__}
    finally:
        client.rest_client.pool_manager.clear()
    return {"ok": True, "status": 200, "error": None}
