"""The fake LaunchDarkly API as an aiohttp application: routing, checks, log and faults."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web
from multidict import CIMultiDictProxy

from ldstore.testing._config import MASKED_SECRET, masked_body
from ldstore.testing._encoding import MAX_BODY, Body, read_body
from ldstore.testing._faults import (
    DropConnection,
    Fault,
    FaultSchedule,
    Hang,
    Latency,
    MalformedJSON,
    RateLimited,
    ServerError,
    When,
)
from ldstore.testing._options import DEFAULT_ENVIRONMENTS
from ldstore.testing._ratelimit import RateLimit, RateLimiter
from ldstore.testing._routes import (
    CREATE,
    DELETE,
    DELETE_SEGMENT,
    GET,
    GET_ENVIRONMENT,
    GET_MEMBERSHIP,
    GET_SEGMENT,
    LIST,
    PATCH,
    POST_SEGMENT,
    UPDATE_CONTEXT_TARGETS,
    UPDATE_USER_TARGETS,
    Route,
    parse_route,
)
from ldstore.testing._segments import DEFAULT_CONTEXT_KIND, Segments, client_side_id
from ldstore.testing._state import Store
from ldstore.testing._sync import DEFAULT_SYNC_INTERVAL, Syncer
from ldstore.testing._wire import JSON_TYPE, Problem, Reply, json_reply, rate_limited

# What a cut-short answer ends with when there is no real answer to cut.
_TRUNCATED = b'{"items":[{"_links":{"self":{"href":"/api/v2/integration-capa'


@attrs.frozen
class RecordedRequest:
    """One exchange as the fake saw it; the access token and stored secrets are masked.

    `body` has secret values (the Redis `password`, a patch's value for it) replaced by
    MASKED_SECRET; the exact bytes received are in `raw_body`, which `repr` leaves out.
    """

    method: str
    """The method as sent (POST for a request tunnelled with X-HTTP-Method-Override)."""
    raw_path: str
    """The path exactly as received, still percent-encoded (no query string)."""
    path_params: dict[str, str]
    """Decoded path parameters by their OpenAPI names (`projectKey`, ...)."""
    operation_id: str | None
    headers: dict[str, str]
    body: bytes
    """The request body with secrets masked (written out again as JSON if any was)."""
    status: int | None
    """The status answered; None when the connection was dropped or left hanging."""
    response_body: bytes
    response_headers: dict[str, str]
    fault: str | None
    """The class name of the injected fault, if one was."""
    time: float
    """When the request arrived (seconds since the epoch)."""
    raw_body: bytes = attrs.field(
        default=attrs.Factory(lambda record: record.body, takes_self=True), repr=False
    )
    """The request body exactly as received, secrets included; not shown by `repr`."""
    truncated: bool = False
    """True when a bounded log cut `body` or `response_body` short and dropped `raw_body`."""


# POST tunnelling for clients and proxies that allow only GET and POST (reference page).
_METHOD_OVERRIDE = "X-HTTP-Method-Override"
_OVERRIDABLE = frozenset({"PATCH", "DELETE", "PUT"})

_log = logging.getLogger("ldstore.testing")

MAX_LOGGED_BODY_DEFAULT = 16 * 1024
MAX_LOGGED_REQUESTS_DEFAULT = 1000
"""The request log's bounds for `ldstore fake-server` (in-process, the log is unbounded)."""


def _method(request: web.Request) -> str:
    """The method a request stands for: a POST's X-HTTP-Method-Override, if it names one."""
    override = request.headers.get(_METHOD_OVERRIDE, "").strip().upper()
    if request.method == "POST" and override in _OVERRIDABLE:
        return override
    return request.method


def _masked_headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    return {
        name: MASKED_SECRET if name.lower() == "authorization" else value
        for name, value in headers.items()
    }


class FakeLaunchDarkly:
    """An embedded fake of LaunchDarkly's persistent store integrations (beta) API.

    It also serves the environment and segment routes (big segments and their members).

    An async context manager serving on `host:port` (0 picks a free port)::

        async with FakeLaunchDarkly() as fake:
            # point a client at fake.url with Authorization: fake.token
            ...

    It stores plain wire JSON and checks requests as the reference page says the
    real service does. `requests` logs every exchange (all of them by default; with
    `max_logged_requests` only the latest ones, and with `max_logged_body` bodies longer
    than that are cut and the raw body dropped, as `ldstore fake-server` does);
    `schedule()` injects faults.
    The state it keeps changes only through the API and the seeding methods.

    `rate_limit` is account-wide, as LaunchDarkly's global limit is: `token` and every
    one of `tokens` (more access tokens of the same account) spend one budget. A limit's
    429 carries only the `X-Ratelimit-*` headers; the `RateLimited` fault is the
    IP-based limit's 429, the one with `Retry-After`.

    With `sync=True` it also plays LaunchDarkly's syncer: every `sync_interval` seconds
    it writes each `on` integration's big segments into the real Redis its config names,
    or the DynamoDB table at `dynamodb_endpoint`, and `_status` says what happened.
    """

    def __init__(  # noqa: PLR0913 - every knob is keyword-only and has a default
        self,
        token: str = "api-fake-token",  # noqa: S107 - a fake token for a fake server
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sync_delay: float = 0.2,
        rate_limit: RateLimit | None = None,
        route_rate_limits: Mapping[str, RateLimit] | None = None,
        latency: float = 0.0,
        list_includes_config: bool = False,
        environments: Mapping[str, Sequence[str]] | None = None,
        max_logged_requests: int | None = None,
        max_logged_body: int | None = None,
        sync: bool = False,
        sync_interval: float = DEFAULT_SYNC_INTERVAL,
        dynamodb_endpoint: str | None = None,
        tokens: Sequence[str] = (),
    ) -> None:
        if isinstance(tokens, str):
            message = f"tokens must be a sequence of tokens, not one string: {MASKED_SECRET}"
            raise TypeError(message)
        self.token = token
        # More tokens of the same account: accepted like `token`, and like LaunchDarkly's
        # they share the account's rate limits (one budget for all).
        self._tokens = frozenset((token, *tokens))
        self.requests: list[RecordedRequest] = []
        if max_logged_requests is not None and max_logged_requests < 0:
            message = f"max_logged_requests must be 0 or more, got {max_logged_requests}"
            raise ValueError(message)
        if max_logged_body is not None and max_logged_body < 0:
            message = f"max_logged_body must be 0 or more, got {max_logged_body}"
            raise ValueError(message)
        self._max_logged_requests = max_logged_requests
        self._max_logged_body = max_logged_body
        self._host = host
        self._port = port
        self._latency = latency
        self._store = Store(
            DEFAULT_ENVIRONMENTS if environments is None else environments,
            sync_delay=sync_delay,
            list_includes_config=list_includes_config,
        )
        self._segments = Segments(self._store)
        self._syncer: Syncer | None = None
        if sync:
            self._syncer = Syncer(
                self._store,
                self._segments,
                interval=sync_interval,
                dynamodb_endpoint=dynamodb_endpoint,
            )
            syncer = self._syncer
            self._store.sync_status = lambda integration_id, on: syncer.status(
                integration_id, on=on
            )
        self._limiter = RateLimiter(rate_limit, route_rate_limits or {})
        self._faults = FaultSchedule()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self.app = web.Application(client_max_size=MAX_BODY)
        # One catch-all route: paths are parsed from the raw, still encoded path. The
        # pattern also matches a decoded newline (%0A), which `.*` would not.
        _ = self.app.router.add_route("*", r"/{tail:[\s\S]*}", self._handle)
        self.app.on_shutdown.append(self._on_shutdown)
        # Startup and cleanup hooks: syncing runs however the app is served.
        self.app.on_startup.append(self._start_sync)
        self.app.on_cleanup.append(self._stop_sync)

    def __repr__(self) -> str:
        return f"<FakeLaunchDarkly url={self._url!r}>"

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:8080` (no trailing slash), once started."""
        if self._url is None:
            message = "the fake is not serving; use `async with FakeLaunchDarkly() as fake`"
            raise RuntimeError(message)
        return self._url

    @property
    def max_logged_requests(self) -> int | None:
        """How many exchanges `requests` keeps (the latest); None: all of them."""
        return self._max_logged_requests

    @property
    def max_logged_body(self) -> int | None:
        """The longest body `requests` keeps; None: no limit."""
        return self._max_logged_body

    async def __aenter__(self) -> FakeLaunchDarkly:
        # Hung handlers wait for this; teardown must not wait out a shutdown timeout.
        # The handler decodes Content-Encoding itself, after the token check (_encoding.py).
        runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=0.5, auto_decompress=False
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port: int = runner.addresses[0][1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _on_shutdown(self, _: web.Application) -> None:
        self._closing.set()

    async def _start_sync(self, _: web.Application) -> None:
        if self._syncer is not None:
            self._syncer.start()

    async def _stop_sync(self, _: web.Application) -> None:
        if self._syncer is not None:
            await self._syncer.stop()

    # Data.

    @property
    def environments(self) -> dict[str, list[str]]:
        """Known projects and their environments (a copy)."""
        return self._store.environments

    def add_environment(self, project_key: str, environment_key: str) -> None:
        """Make `project_key` (if new) and `environment_key` in it known to the fake."""
        self._store.add_environment(project_key, environment_key)

    def seed_integration(  # noqa: PLR0913 - the fields of an integration
        self,
        project_key: str,
        environment_key: str,
        integration_key: str,
        *,
        name: str,
        config: Mapping[str, Any],
        on: bool = False,
        tags: Iterable[str] = (),
        version: int = 1,
    ) -> dict[str, Any]:
        """Store an integration directly and return it as wire JSON, unmasked.

        Seeding skips the API's checks, so a test can plant what a future server might
        send (an unknown store kind, say); an unknown project or environment is added.
        """
        return self._store.seed(
            project_key,
            environment_key,
            integration_key,
            name=name,
            config=config,
            on=on,
            tags=tags,
            version=version,
        )

    @property
    def integrations(self) -> list[dict[str, Any]]:
        """Every stored integration as wire JSON, unmasked, in creation order (copies)."""
        return self._store.stored()

    def get_integration(self, integration_id: str) -> dict[str, Any] | None:
        """One stored integration as wire JSON, unmasked, or None."""
        return self._store.stored_one(integration_id)

    def set_status(  # noqa: PLR0913 - the fields of a status
        self,
        integration_id: str,
        *,
        available: bool | None = None,
        potentially_stale: bool | None = None,
        last_sync: int | None = None,
        last_error: int | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Pin `_status` (timestamps in epoch ms, errors as wire JSON) for this integration.

        Unset fields keep their current value; the automatic sync status stops applying.
        Raises KeyError for an unknown ID.
        """
        changes: dict[str, Any] = {
            "available": available,
            "potentiallyStale": potentially_stale,
            "lastSync": last_sync,
            "lastError": last_error,
            "errors": None if errors is None else [dict(error) for error in errors],
        }
        self._store.pin_status(
            integration_id, {key: value for key, value in changes.items() if value is not None}
        )

    def client_side_id(self, project_key: str, environment_key: str) -> str:
        """The environment's client-side ID (its `_id`), the key prefix of its stores.

        Derived from the two keys: the same in every fake, across restarts too.
        """
        return client_side_id(project_key, environment_key)

    def add_big_segment(  # noqa: PLR0913 - the fields of a big segment
        self,
        project_key: str,
        environment_key: str,
        segment_key: str,
        *,
        included: Iterable[str] = (),
        excluded: Iterable[str] = (),
        name: str | None = None,
        context_kind: str = DEFAULT_CONTEXT_KIND,
    ) -> dict[str, Any]:
        """Create a big segment with these members, as the API would; return it as wire JSON.

        Like a POST, its generation is one more than the key's last one. An unknown
        project or environment is added; a segment that exists raises ValueError.
        """
        self._store.add_environment(project_key, environment_key)
        if self.get_segment(project_key, environment_key, segment_key) is not None:
            message = f"segment {segment_key!r} exists in {project_key}/{environment_key}"
            raise ValueError(message)
        segment = self._segments.create(
            project_key,
            environment_key,
            segment_key,
            name=name or segment_key,
            unbounded=True,
            context_kind=context_kind,
        )
        segment.update(include=included, exclude=excluded)
        return segment.render()

    def update_big_segment(  # noqa: PLR0913 - what a context-targets update holds
        self,
        project_key: str,
        environment_key: str,
        segment_key: str,
        *,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        uninclude: Iterable[str] = (),
        unexclude: Iterable[str] = (),
    ) -> None:
        """Change a big segment's members as a context-targets update does (removals first).

        Raises KeyError for an unknown segment, ValueError for a standard one.
        """
        try:
            segment = self._segments.find(project_key, environment_key, segment_key)
        except Problem as problem:
            raise KeyError(segment_key) from problem
        if not segment.unbounded:
            message = f"segment {segment_key!r} is not a big segment"
            raise ValueError(message)
        segment.update(include=include, exclude=exclude, uninclude=uninclude, unexclude=unexclude)

    def get_segment(
        self, project_key: str, environment_key: str, segment_key: str
    ) -> dict[str, Any] | None:
        """One segment as wire JSON, or None."""
        try:
            return self._segments.get(project_key, environment_key, segment_key)
        except Problem:
            return None

    def delete_segment(self, project_key: str, environment_key: str, segment_key: str) -> None:
        """Delete a segment (KeyError if unknown); re-creating it gives the next generation."""
        try:
            self._segments.delete(project_key, environment_key, segment_key)
        except Problem as problem:
            raise KeyError(segment_key) from problem

    def reset(self) -> None:
        """Forget integrations, segments, pinned statuses, the log, faults and rate-limit counts.

        Segment generations are remembered: a re-created segment still gets the next one.
        """
        self._store.reset()
        self._segments.reset()
        self.requests.clear()
        self._faults.clear()
        self._limiter.reset()

    def schedule(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        every: int | None = None,
        operation: str | None = None,
        when: When = "before",
    ) -> None:
        """Inject `fault` into upcoming requests.

        `times` matching requests get it (None: no end); with `every=n` only every n-th
        matching request does. `operation` limits it to one operationId. With
        `when="after"` the request is handled first (a create does create) and the fault
        replaces the answer: the request reached the server, the answer was lost.
        """
        self._faults.add(fault, times=times, every=every, operation=operation, when=when)

    # Serving.

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        # A body the fake cannot take is answered after the token and beta checks.
        body = await read_body(request)
        route = parse_route(_method(request), request.rel_url.raw_path)
        raw = body.raw
        decoded = body.decoded if isinstance(body.decoded, bytes) else raw
        pending = RecordedRequest(
            method=request.method,
            raw_path=request.rel_url.raw_path,
            path_params=route.params,
            operation_id=route.operation_id,
            headers=_masked_headers(request.headers),
            body=masked_body(decoded),
            status=None,
            response_body=b"",
            response_headers={},
            fault=None,
            time=time.time(),
            raw_body=raw,
        )
        if self._latency:
            await asyncio.sleep(self._latency)

        def answer() -> Reply:
            return self._answer(request, route, body)

        fault = self._faults.take("before", route.operation_id)
        if fault is not None:
            return await self._serve_fault(fault, None, request, pending, answer)
        reply = answer()
        fault = self._faults.take("after", route.operation_id)
        if fault is not None:
            return await self._serve_fault(fault, reply, request, pending, answer)
        self._record(pending, reply)
        return reply.to_response()

    def _record(self, pending: RecordedRequest, reply: Reply) -> None:
        # aiohttp sends a HEAD answer's headers only; the log shows what was sent.
        sent = b"" if pending.method == "HEAD" else reply.body
        self._log(
            attrs.evolve(
                pending,
                status=reply.status,
                response_body=sent,
                response_headers=dict(reply.headers),
            )
        )

    def _log(self, record: RecordedRequest) -> None:
        """Append to `requests`, within the bounds given (oldest entries go first)."""
        cap = self._max_logged_body
        if cap is not None and (
            len(record.raw_body) > cap or len(record.body) > cap or len(record.response_body) > cap
        ):
            record = attrs.evolve(
                record,
                body=record.body[:cap],
                response_body=record.response_body[:cap],
                raw_body=b"",
                truncated=True,
            )
        self.requests.append(record)
        limit = self._max_logged_requests
        if limit is not None and len(self.requests) > limit:
            del self.requests[: len(self.requests) - limit]

    def _answer(self, request: web.Request, route: Route, body: Body) -> Reply:
        """Check in the API's order: token (401), beta header (403), rate limits, route.

        Every path goes through the same order, even one outside the API, and every
        answer is JSON. `body` is None when it was larger than the fake reads. Only
        the beta routes (and paths outside the API) need `LD-API-Version: beta`.
        """
        if request.headers.get("Authorization") not in self._tokens:
            return Problem(401, "unauthorized", "Invalid access token").reply()
        if route.beta and request.headers.get("LD-API-Version") != "beta":
            message = "Forbidden. This beta resource requires the header LD-API-Version: beta"
            return Problem(403, "forbidden", message).reply()
        verdict = self._limiter.check(route.operation_id)
        if verdict.limited:
            reply = rate_limited().reply()
        elif isinstance(body.decoded, Problem):
            reply = body.decoded.reply()
        else:
            try:
                reply = self._dispatch(route, body.decoded, request.content_type)
            except Problem as problem:
                reply = problem.reply()
            except Exception:  # noqa: BLE001 - a bug in the fake still answers JSON
                _log.exception("the fake failed on %s %s", request.method, route.operation_id)
                message = "the fake LaunchDarkly API failed; see the ldstore.testing log"
                reply = Problem(500, "internal_error", message).reply()
        return reply.with_headers(verdict.headers)

    def _dispatch(self, route: Route, body: bytes, content_type: str) -> Reply:
        store = self._store
        p = route.params
        operation = route.operation_id
        if operation == LIST:
            return json_reply(200, store.list_integrations())
        keys = (p.get("projectKey", ""), p.get("environmentKey", ""), p.get("integrationKey", ""))
        integration_id = p.get("integrationId", "")
        if operation == CREATE:
            return json_reply(201, store.create(*keys, body=body, content_type=content_type))
        if operation == GET:
            return json_reply(200, store.get(*keys, integration_id))
        if operation == PATCH:
            return json_reply(
                200, store.patch(*keys, integration_id, body=body, content_type=content_type)
            )
        if operation == DELETE:
            store.delete(*keys, integration_id)
            return Reply(204)
        return self._dispatch_segments(route, body, content_type)

    def _dispatch_segments(self, route: Route, body: bytes, content_type: str) -> Reply:
        segments = self._segments
        p = route.params
        operation = route.operation_id
        scope = (p.get("projectKey", ""), p.get("environmentKey", ""))
        segment_key = p.get("segmentKey", "")
        if operation == GET_ENVIRONMENT:
            return json_reply(200, segments.environment(*scope))
        if operation == POST_SEGMENT:
            created = segments.create_from_body(*scope, body=body, content_type=content_type)
            return json_reply(201, created)
        if operation == GET_SEGMENT:
            return json_reply(200, segments.get(*scope, segment_key))
        if operation == DELETE_SEGMENT:
            segments.delete(*scope, segment_key)
            return Reply(204)
        if operation in (UPDATE_CONTEXT_TARGETS, UPDATE_USER_TARGETS):
            segments.update_targets(*scope, segment_key, body=body, content_type=content_type)
            return Reply(204)
        if operation == GET_MEMBERSHIP:
            return json_reply(
                200, segments.membership(*scope, segment_key, p.get("contextKey", ""))
            )
        if route.allowed:
            allowed = ", ".join(route.allowed)
            message = f"Method not allowed; use {allowed}"
            raise Problem(405, "method_not_allowed", message, {"Allow": allowed})
        raise Problem(404, "not_found", "Invalid resource identifier")

    async def _serve_fault(
        self,
        fault: Fault,
        reply: Reply | None,
        request: web.Request,
        pending: RecordedRequest,
        answer_now: Callable[[], Reply],
    ) -> web.StreamResponse:
        pending = attrs.evolve(pending, fault=type(fault).__name__)
        match fault:
            case ServerError(status, text, content_type):
                answer = Reply(status, text.encode(), {"Content-Type": content_type})
            case MalformedJSON():
                whole = reply.body if reply is not None and reply.body else _TRUNCATED * 2
                answer = Reply(200, whole[: len(whole) // 2], {"Content-Type": JSON_TYPE})
            case RateLimited(retry_after, reset_in):
                headers = {"Retry-After": f"{retry_after:g}"}
                if reset_in is not None:
                    headers["X-Ratelimit-Reset"] = str(round((time.time() + reset_in) * 1000))
                answer = rate_limited().reply().with_headers(headers)
            case Latency(seconds):
                await asyncio.sleep(seconds)
                answer = reply if reply is not None else answer_now()
            case DropConnection():
                return await self._drop(reply, request, pending)
            case Hang():
                self._log(pending)
                _ = await self._closing.wait()
                _close(request)
                return web.Response()
        self._record(pending, answer)
        return answer.to_response()

    async def _drop(
        self, reply: Reply | None, request: web.Request, pending: RecordedRequest
    ) -> web.StreamResponse:
        """Promise the whole body in Content-Length, send half of it and hang up."""
        if reply is not None and not reply.body:
            # Nothing to cut short (a 204): the answer is lost before its status line.
            _close(request)
            self._log(pending)
            return web.Response()
        whole = _TRUNCATED * 2 if reply is None else reply.body
        sent = whole[: len(whole) // 2]
        response = web.StreamResponse(status=200 if reply is None else reply.status)
        response.content_type = JSON_TYPE
        response.content_length = len(whole)
        _ = await response.prepare(request)
        await response.write(sent)
        _close(request)
        self._log(attrs.evolve(pending, response_body=sent))
        # aiohttp's write_eof now meets a closed transport, which it expects.
        return response


def _close(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()


def make_app(fake: FakeLaunchDarkly | None = None) -> web.Application:
    """The aiohttp application of `fake` (a new default one if omitted).

    For serving with another runner, e.g. pytest-aiohttp's `aiohttp_server`. Pass it
    `auto_decompress=False` (`aiohttp_server(make_app(), auto_decompress=False)`), as the
    fake's own runner does: then the fake reads `Content-Encoding` itself, after the token
    check, and answers JSON for any encoding (aiohttp's own decoder answers plain text or
    drops the connection).
    """
    return (fake or FakeLaunchDarkly()).app
