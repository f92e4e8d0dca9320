"""Core: configuration, the session's lifecycle, tokens, hooks and logging."""

import inspect
import logging
from types import FrameType

import aiohttp
import pytest
from sdk import FAST_RETRIES, core_for, seed

from ldstore import Core, Err, HookContext, Hooks, Ok, RequestOptions, RetryConfig
from ldstore.core import DEFAULT_TIMEOUT, HookRequest
from ldstore.errors import InputValidationError, UnauthorizedError
from ldstore.funcs import get_big_segment_store_integrations
from ldstore.testing import FakeLaunchDarkly, ServerError

SECRET = "api-0123456789-very-secret"


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without api_key, LD_ACCESS_TOKEN is read at construction; an empty one is absent."""
    monkeypatch.setenv("LD_ACCESS_TOKEN", SECRET)
    assert Core().api_key == SECRET

    monkeypatch.setenv("LD_ACCESS_TOKEN", "")
    with pytest.raises(ValueError, match="LD_ACCESS_TOKEN"):
        _ = Core()

    monkeypatch.delenv("LD_ACCESS_TOKEN")
    with pytest.raises(ValueError, match="no API key"):
        _ = Core()


def test_servers_and_base_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """commercial, federal and eu pick their hosts; server_url wins; a trailing slash is dropped."""
    monkeypatch.delenv("LD_BASE_URI", raising=False)

    assert Core("k").base_url == "https://app.launchdarkly.com"
    assert Core("k").server == "commercial"
    assert Core("k", server="federal").base_url == "https://app.launchdarkly.us"
    assert Core("k", server="eu").base_url == "https://app.eu.launchdarkly.com"
    assert (
        Core("k", server="federal", server_url="http://proxy:8080/ld/").base_url
        == "http://proxy:8080/ld"
    )
    with pytest.raises(ValueError, match="'commercial', 'federal', 'eu', not 'mars'"):
        _ = Core("k", server="mars")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "http://from-env:8765/prefix"),
        ({"server": "commercial"}, "https://app.launchdarkly.com"),
        ({"server": "eu"}, "https://app.eu.launchdarkly.com"),
        ({"server_url": "http://explicit/"}, "http://explicit"),
        ({"server": "federal", "server_url": "http://explicit"}, "http://explicit"),
    ],
)
def test_base_url_precedence_with_ld_base_uri(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, str], expected: str
) -> None:
    """server_url > an explicit server= > LD_BASE_URI > commercial; LD_BASE_URI read at construction."""
    monkeypatch.setenv("LD_BASE_URI", "http://from-env:8765/prefix/")

    core = Core("k", **kwargs)  # type: ignore[arg-type]  # a dict of str is fine at run time
    monkeypatch.setenv("LD_BASE_URI", "http://changed-later")

    assert core.base_url == expected


def test_an_empty_ld_base_uri_counts_as_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    """LD_BASE_URI="" is like no LD_BASE_URI: commercial."""
    monkeypatch.setenv("LD_BASE_URI", "")

    assert Core("k").base_url == "https://app.launchdarkly.com"


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8765",
        "ftp://host",
        "http://",
        "http://[bad",
        "http://h:port",
        "http://u:p@h",
        "http://h/?q=1",
        "http://h/a b",
    ],
)
def test_an_invalid_server_url_is_refused_at_construction(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """server_url (or LD_BASE_URI) must be http(s) with a host: ValueError naming the value."""
    with pytest.raises(ValueError, match="invalid server URL") as raised:
        _ = Core("k", server_url=url)
    assert repr(url)[1:-1] in str(raised.value)

    monkeypatch.setenv("LD_BASE_URI", url)
    with pytest.raises(ValueError, match="LD_BASE_URI"):
        _ = Core("k")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"api_key": "api-a\r\nX-Injected: 1"}, ValueError),
        ({"api_key": "api-\x00"}, ValueError),
        ({"api_key": 12345}, TypeError),
        ({"api_key": "k", "timeout": float("nan")}, ValueError),
        ({"api_key": "k", "timeout": float("inf")}, ValueError),
        ({"api_key": "k", "timeout": -1}, ValueError),
        ({"api_key": "k", "timeout": "5"}, TypeError),
        ({"api_key": "k", "max_in_flight": 1.5}, TypeError),
        ({"api_key": "k", "max_response_bytes": 0}, ValueError),
        ({"api_key": "k", "retry_config": {"max_attempts": 3}}, TypeError),
        ({"api_key": "k", "server_url": 8765}, TypeError),
    ],
)
def test_nonsense_construction_is_refused(
    kwargs: dict[str, object], error: type[Exception]
) -> None:
    """Bad keys, timeouts, caps and types fail at construction; the key is not in the message."""
    with pytest.raises(error) as raised:
        _ = Core(**kwargs)  # type: ignore[arg-type]  # deliberately wrong types

    assert "api-a" not in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_attempts": 0}, ValueError),
        ({"max_attempts": -1}, ValueError),
        ({"max_attempts": 2.5}, TypeError),
        ({"initial_interval": -0.1}, ValueError),
        ({"max_interval": float("inf")}, ValueError),
        ({"max_elapsed_time": float("nan")}, ValueError),
        ({"exponent": 0.5}, ValueError),
        ({"exponent": 11}, ValueError),
        ({"exponent": "2"}, TypeError),
        ({"max_elapsed_time": None, "max_attempts": None}, ValueError),
    ],
)
def test_nonsense_retry_configs_are_refused(
    kwargs: dict[str, object], error: type[Exception]
) -> None:
    """RetryConfig validates when built: no unlimited attempts by accident, no infinite waits."""
    with pytest.raises(error):
        _ = RetryConfig(**kwargs)  # type: ignore[arg-type]  # deliberately wrong values


def test_help_shows_the_real_defaults() -> None:
    """help(Core) shows RetryConfig(), None for hooks and logger, 30.0: no attrs NOTHING."""
    parameters = inspect.signature(Core).parameters

    assert parameters["retry_config"].default == RetryConfig()
    assert parameters["hooks"].default is None
    assert parameters["logger"].default is None
    assert parameters["server"].default is None
    assert parameters["timeout"].default == DEFAULT_TIMEOUT == 30.0
    assert "NOTHING" not in str(inspect.signature(Core))


@pytest.mark.parametrize("kwargs", [{"timeout": 0}, {"max_in_flight": 0}])
def test_nonsense_options_are_refused(kwargs: dict[str, float]) -> None:
    """A zero timeout or cap is a ValueError at construction."""
    with pytest.raises(ValueError, match="must be"):
        _ = Core("k", **kwargs)  # type: ignore[arg-type]  # a dict of floats is fine at run time


def test_the_token_never_shows_in_repr() -> None:
    """repr of a Core (and of a Client) leaves the API key out."""
    from ldstore import Client  # noqa: PLC0415

    assert SECRET not in repr(Core(SECRET))
    assert SECRET not in repr(Client(SECRET))


async def test_a_path_prefix_in_server_url_is_kept(fake: FakeLaunchDarkly) -> None:
    """server_url's path is a prefix of every request path."""
    async with Core(
        fake.token, server_url=f"{fake.url}/proxy/", retry_config=RetryConfig.none()
    ) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert fake.requests[-1].raw_path == "/proxy/api/v2/integration-capabilities/big-segment-store"


async def test_the_session_is_created_lazily_and_closed_on_exit(fake: FakeLaunchDarkly) -> None:
    """No session before the first call; the Core closes the one it made."""
    core = core_for(fake)
    before = core._session  # pyright: ignore[reportPrivateUsage]

    async with core:
        result = await get_big_segment_store_integrations(core)
        session = core._session  # pyright: ignore[reportPrivateUsage]

    assert before is None

    assert result.ok
    assert session is not None
    assert session.closed


async def test_a_callers_session_is_used_and_left_open(fake: FakeLaunchDarkly) -> None:
    """A session passed in carries the calls and is not closed by the Core."""
    async with aiohttp.ClientSession() as session:
        async with core_for(fake, session=session) as core:
            result = await get_big_segment_store_integrations(core)

        assert result.ok
        assert core.session() is session
        assert not session.closed


async def test_an_async_token_provider_is_awaited_every_attempt(fake: FakeLaunchDarkly) -> None:
    """A rotating-token provider runs before each attempt; its token is used, not cached."""
    _ = seed(fake)
    fake.schedule(ServerError(503), times=2)
    calls: list[int] = []

    async def provider() -> str:
        calls.append(1)
        return fake.token

    async with core_for(fake, api_key=provider, retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Ok)
    assert len(calls) == 3


async def test_hooks_see_each_attempt_and_can_add_headers(fake: FakeLaunchDarkly) -> None:
    """before_request (async) adds a header; after_error and after_success (sync) see attempts."""
    fake.schedule(ServerError(502))
    seen: list[tuple[str, str, int]] = []

    async def before(ctx: HookContext, request: HookRequest) -> dict[str, str]:
        assert "Authorization" not in request.headers
        seen.append(("before", ctx.operation_id, ctx.attempt))
        return {"X-Trace": f"attempt-{ctx.attempt}", "user-agent": "my-service/1.0"}

    hooks = Hooks(
        before_request=before,
        after_error=lambda ctx, error: seen.append(("error", type(error).__name__, ctx.attempt)),
        after_success=lambda ctx, response: seen.append(
            ("success", str(response.status), ctx.attempt)
        ),
    )

    async with core_for(fake, hooks=hooks, retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integrations(core)

    assert result.ok
    assert seen == [
        ("before", "getBigSegmentStoreIntegrations", 1),
        ("error", "APIError", 1),
        ("before", "getBigSegmentStoreIntegrations", 2),
        ("success", "200", 2),
    ]
    last = {name.lower(): value for name, value in fake.requests[-1].headers.items()}
    assert last["x-trace"] == "attempt-2"
    assert last["user-agent"] == "my-service/1.0"


async def test_a_hook_may_not_set_authorization(fake: FakeLaunchDarkly) -> None:
    """Authorization from before_request is refused like one in RequestOptions."""
    hooks = Hooks(before_request=lambda ctx, request: {"Authorization": "api-other"})

    async with core_for(fake, hooks=hooks) as core:
        result = await get_big_segment_store_integrations(core)

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)
    assert fake.requests == []


async def test_a_hooks_exception_propagates(fake: FakeLaunchDarkly) -> None:
    """An exception raised by a hook is the caller's bug: it propagates."""

    def explode(ctx: HookContext, request: HookRequest) -> None:
        message = "hook bug"
        raise RuntimeError(message)

    async with core_for(fake, hooks=Hooks(before_request=explode)) as core:
        with pytest.raises(RuntimeError, match="hook bug"):
            _ = await get_big_segment_store_integrations(core)


async def test_the_token_never_reaches_logs_or_errors(
    fake: FakeLaunchDarkly, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, with retries and a 401, the token appears in no log record or error text."""
    fake.schedule(ServerError(503))
    caplog.set_level(logging.DEBUG, logger="ldstore")

    async with core_for(fake, api_key=SECRET, retry_config=FAST_RETRIES) as core:
        result = await get_big_segment_store_integrations(core, RequestOptions(timeout=2.0))

    assert isinstance(result, Err)
    assert isinstance(result.error, UnauthorizedError)
    assert caplog.records, "ldstore logged nothing at DEBUG"
    assert any("retrying" in record.getMessage() for record in caplog.records)
    text = caplog.text + str(result.error) + repr(result.error) + repr(core)
    assert SECRET not in text
    assert SECRET not in str(dict(result.error.headers))


async def test_a_raising_hooks_traceback_holds_no_token(fake: FakeLaunchDarkly) -> None:
    """An after_success hook that raises: no frame of the traceback shows the token in its locals."""

    def explode(ctx: HookContext, response: object) -> None:
        message = "hook bug"
        raise RuntimeError(message)

    async with core_for(fake, hooks=Hooks(after_success=explode)) as core:
        with pytest.raises(RuntimeError, match="hook bug") as raised:
            _ = await get_big_segment_store_integrations(core)

    frames: list[FrameType] = []
    assert raised.value.__traceback__ is not None
    traceback = raised.value.__traceback__.tb_next  # past this test's own frame
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    assert len(frames) > 2
    for frame in frames:
        assert fake.token not in repr(frame.f_locals), frame.f_code.co_name
