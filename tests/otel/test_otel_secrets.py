"""No secret in telemetry: a token provider's token and a Redis password, echoed back by a
server in every place it can put them, appear in no span, event or metric, in any spelling."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from hostile import Handler, serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otel_support import recording
from sdk import FAST_RETRIES, create_request
from sdk import get_request as fake_get_request

from ldstore import Core, Err, Ok
from ldstore.errors import InvalidRequestError, UnauthorizedError
from ldstore.funcs import (
    create_big_segment_store_integration,
    get_big_segment_store_integration,
    get_big_segment_store_integrations,
)
from ldstore.models import RedisConfig
from ldstore.text import secret_forms

# Prefixes keep a short secret from matching a number or a name by chance ("1", "GET").
_TOKENS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=24)
_PASSWORDS = st.text(min_size=1, max_size=24)


def _echoing() -> Handler:
    """Every answer quotes the request's token and body: in the error's message, code and id,
    in headers, and in a 200's integration; the first GET by ID is a 429."""
    seen = {"get": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "")
        sent = (await request.read()).decode("utf-8", "replace")
        echo = {"X-Echo": token, "X-Body": json.dumps(sent)}
        quoted = {"message": f"{token} {sent}", "code": token, "id": sent}
        if request.method == "POST":
            return web.json_response(quoted, status=400, headers=echo)
        if request.path.count("/") > 6:  # a get by ID
            seen["get"] += 1
            if seen["get"] == 1:
                return web.json_response(quoted, status=429, headers={**echo, "Retry-After": "0"})
            return web.json_response(_integration(token, sent), headers=echo)
        return web.json_response(quoted, status=401, headers=echo)

    return handler


def _integration(token: str, sent: str) -> dict[str, object]:
    links = {"href": f"/{token}", "type": "application/json"}
    return {
        "_links": {"self": links, "parent": links, "project": links, "environment": links},
        "_id": "abc",
        "integrationKey": "redis",
        "projectKey": "default",
        "environmentKey": "production",
        "config": {"host": "h", "password": sent},
        "on": True,
        "tags": [token],
        "name": token,
        "version": 1,
        "_status": {"available": True, "potentiallyStale": False},
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(token=_TOKENS, password=_PASSWORDS)
def test_no_token_or_password_reaches_any_span_event_or_metric(token: str, password: str) -> None:
    """A create carrying a Redis password (answered 400), a get (429 then 200) and a list
    (401), every answer quoting the token and the body: none of either secret's spellings is
    in the serialized spans or metrics."""
    token, password = f"tok-{token}", f"pw-{password}"

    async def provider() -> str:
        return token

    async def scenario() -> str:
        with recording() as telemetry:
            async with (
                serve(_echoing()) as server,
                Core(
                    provider,
                    server_url=server.url,
                    hooks=telemetry.hooks(),
                    retry_config=FAST_RETRIES,
                    timeout=5,
                ) as core,
            ):
                config = RedisConfig("redis.internal", password=password)
                created = await create_big_segment_store_integration(
                    core, create_request(config=config)
                )
                got = await get_big_segment_store_integration(core, fake_get_request("abc"))
                listed = await get_big_segment_store_integrations(core)

            assert isinstance(created, Err)
            assert isinstance(created.error, InvalidRequestError)
            assert isinstance(got, Ok)
            assert isinstance(listed, Err)
            assert isinstance(listed.error, UnauthorizedError)
            assert len(server.hits) == 4
            assert json.loads(server.hits[0].body)["config"]["password"] == password  # sent
            assert len(telemetry.calls()) == 3
            return telemetry.everything()

    recorded = asyncio.run(scenario())

    for secret in (token, password):
        leaked = [form for form in secret_forms(secret) if form in recorded]
        assert leaked == [], f"{secret!r} appears as {leaked!r}"
