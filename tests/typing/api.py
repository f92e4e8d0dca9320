"""Never run: the type checkers check that users' typical code keeps type-checking."""

import asyncio

from ldstore import Client, Core, Err, Ok, RequestOptions, Result, RetryConfig, collect
from ldstore.errors import LDStoreError, NotFoundError, RateLimitedError
from ldstore.funcs import (
    create_big_segment_store_integration,
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.models import (
    BigSegmentStoreIntegration,
    IntegrationDeliveryConfigurationPost,
    IntegrationKey,
    RedisConfig,
)
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchWithComment, if_version, replace_name


async def describe(core: Core, request: GetBigSegmentStoreIntegrationRequest) -> str:
    match await get_big_segment_store_integration(core, request):
        case Ok(integration):
            return f"{integration.name}: {'on' if integration.on else 'off'}"
        case Err(RateLimitedError(retry_after=wait)):
            return f"busy, try again in {wait}s"
        case Err(error):
            return f"failed: {error}"


async def fetch_all(
    core: Core, requests: list[GetBigSegmentStoreIntegrationRequest]
) -> Result[list[BigSegmentStoreIntegration], LDStoreError]:
    results = await asyncio.gather(*(get_big_segment_store_integration(core, r) for r in requests))
    return collect(results)


async def every_operation(core: Core) -> None:
    options = RequestOptions(retry_config=RetryConfig.none(), timeout=5.0)
    listed = await get_big_segment_store_integrations(core, options)
    names: list[str] = [item.name for item in listed.unwrap().items]
    created = await create_big_segment_store_integration(
        core,
        CreateBigSegmentStoreIntegrationRequest(
            "default",
            "production",
            IntegrationKey.REDIS,
            IntegrationDeliveryConfigurationPost(
                RedisConfig("redis.internal"), on=True, name="Prod"
            ),
        ),
        options=options,
    )
    if isinstance(created, Err):
        return
    integration = created.value
    patched = await patch_big_segment_store_integration(
        core,
        PatchBigSegmentStoreIntegrationRequest(
            "default",
            "production",
            "redis",
            integration.id,
            PatchWithComment([if_version(integration.version), replace_name("Prod 2")], "rename"),
        ),
    )
    version: int | None = patched.map(lambda i: i.version).unwrap_or(None)
    deleted: Result[None, LDStoreError] = await delete_big_segment_store_integration(
        core,
        DeleteBigSegmentStoreIntegrationRequest("default", "production", "redis", integration.id),
    )
    print(names, version, deleted.ok)  # noqa: T201


async def configuration() -> None:
    from ldstore.core import DEFAULT_TIMEOUT  # noqa: PLC0415
    from ldstore.result import chain_async  # noqa: PLC0415

    async with Core(
        "api-123", server="eu", timeout=DEFAULT_TIMEOUT, max_response_bytes=8 * 1024 * 1024
    ) as core:
        request = GetBigSegmentStoreIntegrationRequest("default", "production", "redis", "abc")

        async def still_there(
            integration: BigSegmentStoreIntegration,
        ) -> Result[BigSegmentStoreIntegration, LDStoreError]:
            return await get_big_segment_store_integration(core, request)

        chained: Result[BigSegmentStoreIntegration, LDStoreError] = await chain_async(
            get_big_segment_store_integration(core, request), still_there
        )
        print(chained.ok, core.closed)  # noqa: T201


async def facade() -> None:
    async with Client(api_key="api-123", timeout=10.0) as client:
        api = client.persistent_store_integrations_beta
        try:
            integration = await api.get_big_segment_store_integration(
                project_key="default",
                environment_key="production",
                integration_key="redis",
                integration_id="abc",
            )
        except NotFoundError as error:
            print(error.status_code)  # noqa: T201
        else:
            print(integration.status.available)  # noqa: T201


async def workflows(core: Core, request: GetBigSegmentStoreIntegrationRequest) -> None:
    from ldstore.workflows import (  # noqa: PLC0415
        DesiredIntegration,
        NotAvailableError,
        apply,
        gather,
        plan,
        wait_until_available,
    )

    desired = [
        DesiredIntegration(
            project_key="default",
            environment_key="production",
            integration_key=IntegrationKey.REDIS,
            name="Cache",
            config=RedisConfig("redis.internal"),
            on=True,
        )
    ]
    planned = await plan(core, desired, prune=False)
    if isinstance(planned, Ok):
        report = await apply(core, planned.value)
        ok: bool = report.map(lambda r: r.ok).unwrap_or(default=False)
        print(ok)  # noqa: T201
    match await wait_until_available(core, request, timeout=60.0, poll_interval=1.0):
        case Ok(integration):
            print(integration.status.last_sync)  # noqa: T201
        case Err(NotAvailableError(reason=reason)):
            print(reason)  # noqa: T201
        case Err(error):
            print(error)  # noqa: T201
    results: list[Result[BigSegmentStoreIntegration, LDStoreError]] = await gather(
        *(get_big_segment_store_integration(core, request) for _ in range(3)), limit=2
    )
    print(len(results))  # noqa: T201


async def reads(core: Core) -> None:
    from ldstore.funcs import (  # noqa: PLC0415
        get_big_segment_membership,
        get_environment,
        get_segment,
    )
    from ldstore.models import BigSegmentMembership, Environment, Segment  # noqa: PLC0415
    from ldstore.operations import (  # noqa: PLC0415
        GetBigSegmentMembershipRequest,
        GetEnvironmentRequest,
        GetSegmentRequest,
    )

    environment: Result[Environment, LDStoreError] = await get_environment(
        core, GetEnvironmentRequest("default", "production")
    )
    prefix: str | None = environment.map(lambda e: e.id).unwrap_or(None)
    match await get_segment(core, GetSegmentRequest("default", "production", "beta-users")):
        case Ok(Segment(unbounded=True) as segment):
            print(prefix, segment.ref, segment.unbounded_context_kind)  # noqa: T201
        case Ok(segment):
            print(f"{segment.key} is a standard segment")  # noqa: T201
        case Err(NotFoundError()):
            print("no such segment")  # noqa: T201
        case Err(error):
            print(error)  # noqa: T201
    member: Result[BigSegmentMembership, LDStoreError] = await get_big_segment_membership(
        core,
        GetBigSegmentMembershipRequest("default", "production", "beta-users", "user-1"),
        RequestOptions(timeout=5.0),
    )
    print(member.map(lambda m: m.included and not m.excluded).unwrap_or(default=False))  # noqa: T201
    async with Client(core=core) as client:
        env = await client.environments.get_environment(
            project_key="default", environment_key="production"
        )
        seg = await client.segments.get_segment(
            project_key="default", environment_key="production", segment_key="beta-users"
        )
        target = await client.segments.get_big_segment_membership(
            project_key="default",
            environment_key="production",
            segment_key=seg.key,
            context_key="user-1",
        )
        print(env.id, target.user_key, target.included, target.excluded)  # noqa: T201
