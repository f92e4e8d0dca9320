"""The per-call fast paths (issue 14) do less when nothing needs it, never something else."""

import gc
import json
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sdk import FAST_RETRIES, core_for, get_request, seed

from ldstore import Err, Hooks, Ok, _codec, _codec_gen, funcs, models
from ldstore._transport import RawResponse
from ldstore.core import HookContext
from ldstore.funcs import (
    delete_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
)
from ldstore.operations import DeleteBigSegmentStoreIntegrationRequest
from ldstore.testing import DropConnection, FakeLaunchDarkly, ServerError

keys = st.text(max_size=8) | st.sampled_from(
    ["", ".", "..", "a/b", "x", "é", "\ud800", "~a_b.c-", "my-project", "A9"]
)


@settings(max_examples=300, deadline=None)
@given(keys, keys, keys, keys)
def test_the_one_pass_path_is_the_key_by_key_path(p: str, e: str, k: str, i: str) -> None:
    """For any keys the one-pass check gives _path's path, or leaves the request to _path."""
    request = get_request(i, project=p, environment=e)
    request = type(request)(p, e, k, i)

    plain = funcs._plain_path(funcs._GET, request)  # pyright: ignore[reportPrivateUsage]
    full = funcs._path(request)  # pyright: ignore[reportPrivateUsage]

    if plain is not None:
        assert isinstance(full, Ok)
        assert plain == full.value
    if all(key and key.isascii() and key.isalnum() for key in (p, e, k, i)):
        assert plain is not None  # the usual keys do take the one-pass check


def test_unusual_requests_take_the_full_check() -> None:
    """A non-str key or a subclass of the request type is not decided by the one-pass check."""
    request = get_request("id")
    wrong = type(request)(1, "e", "redis", "id")  # type: ignore[arg-type]  # an untyped caller

    class Sub(type(request)):  # type: ignore[misc]  # a subclass is accepted, checked in full
        pass

    assert funcs._plain_path(funcs._GET, wrong) is None  # pyright: ignore[reportPrivateUsage]
    assert funcs._plain_path(funcs._GET, Sub("p", "e", "redis", "id")) is None  # pyright: ignore[reportPrivateUsage]
    assert funcs._plain_path(funcs._GET, request) is not None  # pyright: ignore[reportPrivateUsage]


def _listing(count: int) -> list[dict[str, Any]]:
    link = {"href": "/api/v2/x", "type": "application/json"}
    return [
        {
            "_links": {"self": link, "parent": link, "project": link, "environment": link},
            "_id": f"id-{n}",
            "integrationKey": "redis",
            "projectKey": "p",
            "environmentKey": "e",
            "on": True,
            "tags": [],
            "name": f"store-{n}",
            "version": 1,
            "_status": {"available": True},
            "_access": {"denied": [], "allowed": []},
        }
        for n in range(count)
    ]


def test_a_long_list_decodes_without_gc_runs() -> None:
    """Decoding 2000 integrations runs no cyclic GC collection (CPython's GC paused), and
    the GC is on again afterwards; a short list leaves the GC alone."""
    items = _listing(2000)
    runs: list[str] = []

    def count(phase: str, _: object) -> None:
        runs.append(phase)

    hook = _codec.converter.get_structure_hook(tuple[models.BigSegmentStoreIntegration, ...])
    gc.callbacks.append(count)
    try:
        decoded = hook(items, tuple)
        during = len(runs)
        many = [hook(_listing(10), tuple) for _ in range(300)]
    finally:
        gc.callbacks.remove(count)

    assert len(decoded) == 2000
    assert during == 0
    assert len(many) == 300
    assert runs  # short lists allocate as usual, and the GC runs for them
    assert gc.isenabled()


def test_a_paused_gc_stays_paused_and_a_failure_turns_it_back_on() -> None:
    """The decoder restores the GC only when it paused it, also when the decode fails."""
    hook = _codec.converter.get_structure_hook(tuple[models.BigSegmentStoreIntegration, ...])
    gc.disable()
    try:
        _ = hook(_listing(100), tuple)
        assert not gc.isenabled()
    finally:
        gc.enable()
    broken = [*_listing(100), {"name": "no id"}]
    with pytest.raises(_codec.DecodeError):
        _ = hook(broken, tuple)
    assert gc.isenabled()


def test_a_raw_response_repr_shows_neither_body_nor_token() -> None:
    """The transport's response tuple keeps the token and body out of its repr."""
    raw = RawResponse(200, None, b"secret-body", "api-secret")  # type: ignore[arg-type]  # headers unused

    assert repr(raw) == "RawResponse(status=200)"


async def test_a_failed_first_attempt_is_retried_with_hooks_counting_it(
    fake: FakeLaunchDarkly,
) -> None:
    """Without before/error hooks the first attempt goes alone; after its 503 the retry is
    attempt 2, as the after_success hook sees."""
    integration_id = seed(fake)
    fake.schedule(ServerError(503))
    seen: list[HookContext] = []

    def success(context: HookContext, _: object) -> None:
        seen.append(context)

    hooks = Hooks(after_success=success)
    async with core_for(fake, retry_config=FAST_RETRIES, hooks=hooks) as core:
        result = await get_big_segment_store_integration(core, get_request(integration_id))

    assert isinstance(result, Ok)
    assert [r.status for r in fake.requests] == [503, 200]
    assert seen == [HookContext(operation_id="getBigSegmentStoreIntegration", attempt=2)]


async def test_a_first_success_runs_after_success_with_attempt_one(fake: FakeLaunchDarkly) -> None:
    """The fast first attempt still runs an after_success hook, with attempt 1."""
    seen: list[HookContext] = []
    hooks = Hooks(after_success=lambda context, _: seen.append(context))
    async with core_for(fake, hooks=hooks) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    assert seen == [HookContext(operation_id="getBigSegmentStoreIntegrations", attempt=1)]


async def test_a_lost_first_delete_still_notes_it_may_be_deleted(fake: FakeLaunchDarkly) -> None:
    """A DELETE whose fast first attempt lost its answer, then 404, says it may be gone."""
    fake.schedule(DropConnection())
    request = DeleteBigSegmentStoreIntegrationRequest("p", "e", "redis", "missing")
    async with core_for(fake, retry_config=FAST_RETRIES) as core:
        result = await delete_big_segment_store_integration(core, request)

    assert isinstance(result, Err)
    assert "may already have been deleted" in result.error.message
    assert len(fake.requests) == 2


def test_an_ok_built_by_its_builder_is_an_ok() -> None:
    """funcs build an Ok as the decoders build models: that needs an Ok whose __init__
    only assigns, and gives an Ok equal to, and matching like, Ok(value)."""
    filled: Any = _codec_gen.builder(Ok)()
    filled.value = 5
    filled.__class__ = Ok
    built = cast("Ok[int]", filled)

    assert type(built) is Ok
    assert built == Ok(5)
    assert hash(built) == hash(Ok(5))
    assert built.value == 5
    assert repr(built) == repr(Ok(5))
    match built:
        case Ok(value):
            assert value == 5
    with pytest.raises(TypeError):
        _ = _codec_gen.builder(models.RedisConfig)  # validators: not only assignments


async def test_a_changed_api_key_is_sent_not_the_cached_one(fake: FakeLaunchDarkly) -> None:
    """The headers kept for a plain-string key follow a change of core.api_key at once."""
    async with core_for(fake) as core:
        first = await get_big_segment_store_integrations(core)
        core.api_key = "another-key"
        second = await get_big_segment_store_integrations(core)
        core.api_key = fake.token
        third = await get_big_segment_store_integrations(core)

    assert isinstance(first, Ok)
    assert isinstance(second, Err)
    assert [r.status for r in fake.requests] == [200, 401, 200]
    assert isinstance(third, Ok)
    assert "another-key" not in repr(core)
    assert fake.token not in repr(core)


async def test_a_token_providers_value_is_never_kept(fake: FakeLaunchDarkly) -> None:
    """A provider is asked on every attempt and its value is not cached on the Core."""
    asked: list[int] = []

    async def provider() -> str:
        asked.append(1)
        return fake.token

    async with core_for(fake, api_key=provider) as core:
        for _ in range(3):
            assert isinstance(await get_big_segment_store_integrations(core), Ok)
        assert core._sent_headers is None  # pyright: ignore[reportPrivateUsage]

    assert len(asked) == 3


def test_a_long_body_is_parsed_without_gc_runs() -> None:
    """A body of GC_PAUSE_BYTES or more is parsed and decoded with the cyclic GC paused (it
    rescanned the parse's surviving containers, 2-3 times the parse's cost), and the GC is
    on again afterwards, also when the decode fails."""
    # Ten items (too few for the list's own pause) and a long member nobody reads.
    wire: dict[str, Any] = {
        "_links": {"self": {}},
        "items": _listing(10),
        "padding": [[0]] * 40_000,
    }
    body = json.dumps(wire).encode()
    assert len(body) >= _codec.GC_PAUSE_BYTES
    runs: list[str] = []

    def count(phase: str, _: object) -> None:
        runs.append(phase)

    gc.callbacks.append(count)
    try:
        decoded = _codec.decode(body, models.BigSegmentStoreIntegrationCollection)
        during = len(runs)
        with pytest.raises(_codec.WrongShapeError):
            _ = _codec.decode(body.replace(b'"items"', b'"itemz"'), type(decoded))
    finally:
        gc.callbacks.remove(count)

    assert len(decoded.items) == 10
    assert during == 0
    assert gc.isenabled()
