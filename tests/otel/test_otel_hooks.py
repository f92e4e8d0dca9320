"""ldstore.otel's hooks beside a caller's own (combine), the limiter's other reasons, the
global providers, and the key and URL readers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Iterator
from typing import TypeVar

import pytest
from aiohttp import web
from hostile import answer, core_at, get_request, integration, script, serve
from otel_support import Telemetry, recording
from test_otel_traces import waits

from ldstore import Err, HookContext, Hooks, Ok
from ldstore.core import CallWrapper, HookRequest, LimiterWait
from ldstore.errors import InputValidationError, RateLimitedError
from ldstore.funcs import get_big_segment_store_integration
from ldstore.otel import (
    _keys,  # pyright: ignore[reportPrivateUsage]  # unit-tested
    _without_credentials,  # pyright: ignore[reportPrivateUsage]  # unit-tested
    combine,
    hooks,
)

T = TypeVar("T")


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    with recording() as telemetry:
        yield telemetry


async def test_combined_hooks_all_run_and_merge_their_headers(telemetry: Telemetry) -> None:
    """The caller's sync and async hooks run beside ldstore.otel's: headers from both
    before_request hooks reach the server (the later one wins a clash), both around_call
    wrappers run outermost-first, and the spans are still made."""
    seen: list[str] = []

    def first(_: HookContext, __: HookRequest) -> dict[str, str]:
        return {"X-One": "1", "X-Both": "first"}

    async def second(_: HookContext, __: HookRequest) -> dict[str, str]:
        return {"X-Two": "2", "x-both": "second"}

    async def succeeded(context: HookContext, _: object) -> None:
        seen.append(f"success {context.attempt}")

    def wrapper(name: str) -> CallWrapper:
        async def wrapped(operation_id: str, _: HookRequest, answer: Awaitable[T], /) -> T:
            seen.append(f"{name} in {operation_id}")
            result = await answer
            seen.append(f"{name} out")
            return result

        return wrapped

    mine = Hooks(before_request=first, around_call=wrapper("outer"))
    theirs = Hooks(
        before_request=second,
        after_success=succeeded,
        around_call=wrapper("inner"),
    )
    hooks = combine(mine, telemetry.hooks(), theirs)

    async with (
        serve(answer(200, integration())) as server,
        core_at(server.url, hooks=hooks) as core,
    ):
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Ok)
    [hit] = server.hits
    sent = {name.lower(): value for name, value in hit.headers.items()}
    assert sent["x-one"] == "1"
    assert sent["x-two"] == "2"
    assert sent["x-both"] == "second"
    assert seen == [
        "outer in getBigSegmentStoreIntegration",
        "inner in getBigSegmentStoreIntegration",
        "success 1",
        "inner out",
        "outer out",
    ]
    [call] = telemetry.calls()
    assert len(telemetry.children(call)) == 1


async def test_a_combined_hooks_bad_headers_are_refused_as_before(telemetry: Telemetry) -> None:
    """A caller's before_request returning something that is not a mapping still gets the
    transport's InputValidationError, combined or not; nothing is sent."""

    def wrong(_: HookContext, __: HookRequest) -> object:
        return ["X-Not", "a mapping"]

    hooks = combine(telemetry.hooks(), Hooks(before_request=wrong))

    async with (
        serve(answer(200, integration())) as server,
        core_at(server.url, hooks=hooks) as core,
    ):
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert server.hits == []


async def test_combine_passes_limiter_waits_to_every_hook(telemetry: Telemetry) -> None:
    """A 429 with Retry-After 0.3 pauses the Core: the next call is held with the reason
    limiter.paused, seen by ldstore.otel and by the caller's on_limiter_wait alike."""
    mine: list[LimiterWait] = []
    hooks = combine(telemetry.hooks(), Hooks(on_limiter_wait=lambda _, wait: mine.append(wait)))
    handler = script(answer(429, {}, {"Retry-After": "0.3"}), answer(200, integration()))

    async with serve(handler) as server, core_at(server.url, hooks=hooks) as core:
        limited = await get_big_segment_store_integration(core, get_request())
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(limited, Err)
    assert isinstance(limited.error, RateLimitedError)
    assert isinstance(result, Ok)
    [wait] = mine
    assert wait.reason == "paused"
    assert wait.admitted
    assert 0.15 <= wait.seconds < 0.3 + 2
    _, held_call = telemetry.calls()
    assert [w["ldstore.wait.reason"] for w in waits(held_call)] == ["limiter.paused"]


async def test_a_call_waiting_for_anothers_probe_says_so(telemetry: Telemetry) -> None:
    """Two calls at once while the budget is unknown: one probes, the other waits for its
    answer, with the reason limiter.probing."""

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.json_response(integration())

    async with serve(slow) as server, core_at(server.url, hooks=telemetry.hooks()) as core:
        results = await asyncio.gather(
            get_big_segment_store_integration(core, get_request()),
            get_big_segment_store_integration(core, get_request()),
        )

    assert all(isinstance(result, Ok) for result in results)
    held = [w["ldstore.wait.reason"] for call in telemetry.calls() for w in waits(call)]
    assert held == ["limiter.probing"]


async def test_attempt_hooks_without_their_around_call_do_nothing(telemetry: Telemetry) -> None:
    """ldstore.otel's attempt hooks given without its around_call (a hand-made Hooks) make
    no span and do not fail the call."""
    full = telemetry.hooks()
    partial = Hooks(
        before_request=full.before_request,
        after_success=full.after_success,
        after_error=full.after_error,
        on_limiter_wait=full.on_limiter_wait,
    )

    handler = script(answer(404, {}), answer(200, integration()))

    async with serve(handler) as server, core_at(server.url, hooks=partial) as core:
        missing = await get_big_segment_store_integration(core, get_request())
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(missing, Err)
    assert isinstance(result, Ok)
    assert telemetry.finished() == ()


async def test_the_global_providers_serve_by_default() -> None:
    """hooks() with no providers uses the global ones (no-op until an SDK is set): calls
    work as without it."""
    async with (
        serve(answer(200, integration())) as server,
        core_at(server.url, hooks=hooks()) as core,
    ):
        result = await get_big_segment_store_integration(core, get_request())

    assert isinstance(result, Ok)


def test_keys_are_named_per_route_and_decoded() -> None:
    """The keys of the store, segment and environment routes, percent-decoded, behind any
    base path (never a membership's context key); other paths have none."""
    store = "/prefix/api/v2/integration-capabilities/big-segment-store/my%2Fproj/prod/redis/1"
    segment = "/api/v2/segments/p/e/seg/contexts/a-person"
    environment = "/api/v2/projects/p/environments/e"

    assert _keys(store) == {
        "launchdarkly.project.key": "my/proj",
        "launchdarkly.environment.key": "prod",
        "ldstore.integration.kind": "redis",
    }
    assert _keys(segment) == {
        "launchdarkly.project.key": "p",
        "launchdarkly.environment.key": "e",
        "launchdarkly.segment.key": "seg",
    }
    assert _keys(environment) == {
        "launchdarkly.project.key": "p",
        "launchdarkly.environment.key": "e",
    }
    assert _keys("/api/v2/flags") == {}


def test_url_full_never_carries_credentials() -> None:
    """Should a URL with user info reach the hooks, url.full leaves it out."""
    assert _without_credentials("https://user:pw@example.com/a") == "https://example.com/a"
    assert _without_credentials("https://example.com/a") == "https://example.com/a"


def test_without_the_extra_the_import_error_says_what_to_install() -> None:
    """With OpenTelemetry absent, ``import ldstore.otel`` names the extra to install, and
    ldstore's functions never import OpenTelemetry themselves."""
    program = (
        "import sys\n"
        "import ldstore.funcs, ldstore.client\n"
        "assert not any(name.startswith('opentelemetry') for name in sys.modules)\n"
        "sys.modules['opentelemetry'] = None\n"
        "try:\n"
        "    import ldstore.otel\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )

    done = subprocess.run(  # noqa: S603 (this interpreter, a fixed program)
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )

    assert "pip install 'ldstore[otel]'" in done.stdout
