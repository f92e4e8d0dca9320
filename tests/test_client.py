"""The facade: keyword arguments in, the value out, or the error raised."""

import pytest
from sdk import ENVIRONMENT, PROJECT, core_for, seed

from ldstore import Client, RetryConfig
from ldstore.errors import NotFoundError, StatusConflictError
from ldstore.models import IntegrationDeliveryConfigurationPost, RedisConfig
from ldstore.patch import if_version, set_on
from ldstore.testing import FakeLaunchDarkly


async def test_the_facade_runs_all_five_operations(fake: FakeLaunchDarkly) -> None:
    """create, list, get, patch and delete return plain values."""
    async with Client(fake.token, server_url=fake.url, retry_config=RetryConfig.none()) as client:
        api = client.persistent_store_integrations_beta
        created = await api.create_big_segment_store_integration(
            project_key=PROJECT,
            environment_key=ENVIRONMENT,
            integration_key="redis",
            integration_delivery_configuration_post=IntegrationDeliveryConfigurationPost(
                RedisConfig("redis.internal"), name="Facade"
            ),
        )
        listed = await api.get_big_segment_store_integrations()
        fetched = await api.get_big_segment_store_integration(
            project_key=PROJECT,
            environment_key=ENVIRONMENT,
            integration_key="redis",
            integration_id=created.id,
        )
        patched = await api.patch_big_segment_store_integration(
            project_key=PROJECT,
            environment_key=ENVIRONMENT,
            integration_key="redis",
            integration_id=created.id,
            request_body=[if_version(created.version), set_on(True)],
        )
        await api.delete_big_segment_store_integration(
            project_key=PROJECT,
            environment_key=ENVIRONMENT,
            integration_key="redis",
            integration_id=created.id,
        )

    assert [item.name for item in listed.items] == ["Facade"]
    assert fetched.config == {"host": "redis.internal", "port": "6379", "tlsEnabled": False}
    assert patched.on is True
    assert fake.integrations == []


async def test_the_facade_raises_the_error_value(fake: FakeLaunchDarkly) -> None:
    """An Err becomes the raised LDStoreError itself, status and all."""
    integration_id = seed(fake, version=2)

    async with core_for(fake) as core, Client(core=core) as client:
        api = client.persistent_store_integrations_beta
        with pytest.raises(NotFoundError) as missing:
            _ = await api.get_big_segment_store_integration(
                project_key=PROJECT,
                environment_key=ENVIRONMENT,
                integration_key="redis",
                integration_id="nope",
            )
        with pytest.raises(StatusConflictError):
            _ = await api.patch_big_segment_store_integration(
                project_key=PROJECT,
                environment_key=ENVIRONMENT,
                integration_key="redis",
                integration_id=integration_id,
                request_body=[if_version(1), set_on(True)],
            )

    assert missing.value.status_code == 404


async def test_a_client_leaves_a_core_it_was_given_open(fake: FakeLaunchDarkly) -> None:
    """Client(core=core) does not close the caller's Core; Client(api_key=...) closes its own."""
    _ = seed(fake)
    core = core_for(fake)

    async with Client(core=core) as client:
        _ = await client.persistent_store_integrations_beta.get_big_segment_store_integrations()
    session = core._session  # pyright: ignore[reportPrivateUsage]
    still_open = session is not None and not session.closed
    await core.close()

    assert still_open
    with pytest.raises(TypeError, match="either core"):
        _ = Client("api-x", core=core)


async def test_a_client_reopens_its_core_on_a_new_async_with(fake: FakeLaunchDarkly) -> None:
    """A Client closed by one `async with` works again in the next: its Core is reopened."""
    client = Client(api_key=fake.token, server_url=fake.url, retry_config=RetryConfig.none())
    api = client.persistent_store_integrations_beta

    async with client:
        first = await api.get_big_segment_store_integrations()
    async with client:
        second = await api.get_big_segment_store_integrations()

    assert first.items == second.items == ()
    assert client.core.closed
