"""Caller input that used to make funcs raise: each case is an Err(InputValidationError) and
nothing reaches the server (the fake's request log stays empty), or a ValueError/TypeError
when the object is built. Plus the Core's lifecycle after close() and across event loops."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sdk import core_for, create_request, get_request, patch_request, seed

from ldstore import Core, Err, Hooks, Ok, RequestOptions, RetryConfig
from ldstore.core import HookContext, HookRequest
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.funcs import (
    RESOURCE,
    _path,  # pyright: ignore[reportPrivateUsage]
    create_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
    patch_big_segment_store_integration,
)
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.patch import PatchOperation
from ldstore.result import Result
from ldstore.testing import FakeLaunchDarkly

SECRET = "api-input-secret-0123456789"


def _refused(result: Result[Any, LDStoreError], field: str | None = None) -> InputValidationError:
    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    if field is not None:
        assert result.error.field == field
    return result.error


async def test_a_key_with_a_lone_surrogate_is_refused(fake: FakeLaunchDarkly) -> None:
    """A project key holding "\\ud800" (no UTF-8 for it): Err naming the field, 0 requests."""
    request = GetBigSegmentStoreIntegrationRequest("pro\ud800ject", "production", "redis", "x")

    async with core_for(fake) as core:
        result = await get_big_segment_store_integration(core, request)

    _ = _refused(result, "project_key")
    assert fake.requests == []


def _no_utf8(key: str) -> bool:
    try:
        _ = key.encode()
    except UnicodeEncodeError:
        return True
    return False


_KEY_CHARACTER = st.characters(exclude_categories=[]) | st.sampled_from(["\ud800", "/", "%", "."])


@given(st.lists(st.text(_KEY_CHARACTER, max_size=6), min_size=4, max_size=4))
def test_any_key_gives_one_segment_or_an_input_error(keys: list[str]) -> None:
    """For any four keys: Ok(path) whose segments decode back to the keys, or
    Err(InputValidationError) for "", ".", "..", or text with no UTF-8 form."""
    request = GetBigSegmentStoreIntegrationRequest(*keys)

    result = _path(request)

    match result:
        case Ok(path):
            assert path.startswith(RESOURCE + "/")
            segments = path.removeprefix(RESOURCE + "/").split("/")
            assert [unquote(segment) for segment in segments] == keys
        case Err(error):
            assert isinstance(error, InputValidationError)
            assert any(key in {"", ".", ".."} or _no_utf8(key) for key in keys)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Trace": "a\r\nX-Injected: 1"},
        {"X-Trace": "a\nb"},
        {"X-Trace": "nul\x00"},
        {"Bad Name": "v"},
        {"X-Bad:": "v"},
        {"X-Number": 5},
        {5: "v"},
    ],
    ids=["crlf", "lf", "nul", "space-in-name", "colon-in-name", "int-value", "int-name"],
)
async def test_unsendable_headers_in_options_are_refused(
    fake: FakeLaunchDarkly, headers: dict[Any, Any]
) -> None:
    """RequestOptions.headers that would split a header line or are not strings: Err, 0 requests."""
    async with core_for(fake) as core:
        result = await get_big_segment_store_integrations(core, RequestOptions(headers=headers))

    _ = _refused(result, "headers")
    assert fake.requests == []


@pytest.mark.parametrize(
    "returned", [{"X-Trace": "a\r\nb"}, ["X-Trace", "v"], {"Authorization": "x"}]
)
async def test_unsendable_headers_from_a_hook_are_refused(
    fake: FakeLaunchDarkly, returned: object
) -> None:
    """A before_request hook returning CR/LF, a non-mapping or Authorization: Err, 0 requests."""

    def before(ctx: HookContext, request: HookRequest) -> object:
        return returned

    async with core_for(fake, hooks=Hooks(before_request=before)) as core:
        result = await get_big_segment_store_integrations(core)

    _ = _refused(result, "headers")
    assert fake.requests == []


@pytest.mark.parametrize("token", [None, 12345, "", "api-a\r\nX-Injected: 1", b"api-bytes"])
async def test_a_token_provider_returning_garbage_is_refused(
    fake: FakeLaunchDarkly, token: object
) -> None:
    """A provider returning None, an int, "", CR/LF or bytes: Err on api_key, 0 requests, the
    value not echoed."""

    async def provider() -> str:
        return token  # type: ignore[return-value]  # pyright: ignore[reportReturnType]  # deliberately wrong

    async with core_for(fake, api_key=provider) as core:
        result = await get_big_segment_store_integrations(core)

    error = _refused(result, "api_key")
    assert "X-Injected" not in str(error)
    assert fake.requests == []


async def test_circular_and_too_deep_bodies_are_refused(fake: FakeLaunchDarkly) -> None:
    """A circular dict config and a 5000-deep patch value: Err(InputValidationError), 0 requests."""
    circular: dict[str, Any] = {"host": "h"}
    circular["self"] = circular
    deep: Any = 1
    for _ in range(5000):
        deep = {"a": deep}
    integration_id = seed(fake)
    fake.requests.clear()

    async with core_for(fake) as core:
        created = await create_big_segment_store_integration(core, create_request(config=circular))
        patched = await patch_big_segment_store_integration(
            core, patch_request(integration_id, [PatchOperation("replace", "/name", deep)])
        )

    for result in (created, patched):
        assert "circular or nested too deep" in str(_refused(result))
    assert fake.requests == []


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 5},
        RequestOptions(timeout=0),
        RequestOptions(timeout=-1),
        RequestOptions(timeout=float("nan")),
        RequestOptions(timeout=float("inf")),
        RequestOptions(timeout="5"),  # type: ignore[arg-type]  # deliberately wrong
        RequestOptions(server_url="http://[bad"),
        RequestOptions(server_url="127.0.0.1:8765"),
        RequestOptions(retry_config={"max_attempts": 1}),  # type: ignore[arg-type]  # deliberately wrong
        RequestOptions(headers=[("X-Trace", "v")]),  # type: ignore[arg-type]  # deliberately wrong
    ],
    ids=[
        "dict",
        "zero",
        "negative",
        "nan",
        "inf",
        "str",
        "bad-url",
        "no-scheme",
        "retry-dict",
        "header-list",
    ],
)
async def test_nonsense_options_are_input_errors(fake: FakeLaunchDarkly, options: Any) -> None:
    """A dict as options, a timeout that is not finite positive seconds, a bad server_url: Err, 0 requests."""
    async with core_for(fake) as core:
        result = await get_big_segment_store_integrations(core, options)

    _ = _refused(result)
    assert fake.requests == []


async def test_a_closed_core_refuses_calls_until_reopened(fake: FakeLaunchDarkly) -> None:
    """After close(): Err saying the Core is closed, no session opened, 0 requests; `async with`
    reopens it and calls work again."""
    _ = seed(fake)
    core = core_for(fake)
    async with core:
        assert (await get_big_segment_store_integrations(core)).ok
    sent = len(fake.requests)

    refused = await get_big_segment_store_integrations(core)

    assert "closed" in str(_refused(refused, "core"))
    assert core._session is None  # pyright: ignore[reportPrivateUsage]
    assert len(fake.requests) == sent
    async with core:
        again = await get_big_segment_store_integrations(core)
    assert isinstance(again, Ok)


def test_a_core_serves_two_event_loops() -> None:
    """One Core, two asyncio.run() each with `async with core`: both calls Ok, no
    'Event loop is closed', no unclosed-session warning."""

    async def once(core: Core) -> bool:
        async with FakeLaunchDarkly() as fake:
            core.server_url = fake.url
            core.base_url = fake.url
            core.api_key = fake.token
            async with core:
                result = await get_big_segment_store_integrations(core)
            return result.ok

    core = Core("placeholder", server_url="http://127.0.0.1:1", retry_config=RetryConfig.none())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert asyncio.run(once(core))
        assert asyncio.run(once(core))


# The first loop's session is never closed by its owner: aiohttp warns about that leak when
# it is collected, as it should. That warning is the caller's, not what this test checks.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_core_left_open_in_a_finished_loop_opens_a_new_session() -> None:
    """Used in one asyncio.run() without closing, then in another: a new session bound to the
    running loop serves the call (Ok), instead of RuntimeError: Event loop is closed."""

    async def call(core: Core, fake: FakeLaunchDarkly) -> bool:
        core.base_url, core.api_key = fake.url, fake.token
        result = await get_big_segment_store_integrations(core)
        return result.ok

    async def first(core: Core) -> tuple[bool, Any]:
        async with FakeLaunchDarkly() as fake:
            ok = await call(core, fake)
        return ok, core._session  # pyright: ignore[reportPrivateUsage]

    async def second(core: Core) -> bool:
        async with FakeLaunchDarkly() as fake, core:
            return await call(core, fake)

    core = Core("placeholder", server_url="http://127.0.0.1:1", retry_config=RetryConfig.none())
    ok, stale = asyncio.run(first(core))
    assert ok
    assert asyncio.run(second(core))
    assert core._session is not stale  # pyright: ignore[reportPrivateUsage]
    del stale
    _ = gc.collect()


async def test_input_errors_never_contain_the_token(fake: FakeLaunchDarkly) -> None:
    """Every input error above is built without the Core's token in its text."""
    async with core_for(fake, api_key=SECRET) as core:
        results = [
            await get_big_segment_store_integrations(core, RequestOptions(headers={"X": "a\nb"})),
            await get_big_segment_store_integrations(core, RequestOptions(timeout=0)),
            await get_big_segment_store_integration(core, get_request("..")),
        ]

    for result in results:
        assert SECRET not in str(_refused(result)) + repr(result)
