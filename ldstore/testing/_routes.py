"""Which URL is which operation: the API's paths, read from the raw request path."""

from __future__ import annotations

from urllib.parse import quote, unquote

import attrs

BASE_PATH = "/api/v2/integration-capabilities/big-segment-store"

# The persistent store integrations (beta).
LIST = "getBigSegmentStoreIntegrations"
CREATE = "createBigSegmentStoreIntegration"
GET = "getBigSegmentStoreIntegration"
PATCH = "patchBigSegmentStoreIntegration"
DELETE = "deleteBigSegmentStoreIntegration"
# Environments and segments (not beta: no LD-API-Version header needed).
GET_ENVIRONMENT = "getEnvironment"
POST_SEGMENT = "postSegment"
GET_SEGMENT = "getSegment"
DELETE_SEGMENT = "deleteSegment"
UPDATE_CONTEXT_TARGETS = "updateBigSegmentContextTargets"
UPDATE_USER_TARGETS = "updateBigSegmentTargets"
GET_MEMBERSHIP = "getSegmentMembershipForContext"

STORE_OPERATION_IDS = frozenset({LIST, CREATE, GET, PATCH, DELETE})
SEGMENT_OPERATION_IDS = frozenset(
    {
        GET_ENVIRONMENT,
        POST_SEGMENT,
        GET_SEGMENT,
        DELETE_SEGMENT,
        UPDATE_CONTEXT_TARGETS,
        UPDATE_USER_TARGETS,
        GET_MEMBERSHIP,
    }
)
OPERATION_IDS = STORE_OPERATION_IDS | SEGMENT_OPERATION_IDS


@attrs.frozen
class _Template:
    """A path as literal parts and `{parameter}` parts, and its operations by method."""

    parts: tuple[str, ...]
    methods: dict[str, str]
    beta: bool
    may_be_empty: frozenset[str] = frozenset()
    """Parameters that an empty segment still routes to (the handler answers 400)."""


def _template(
    path: str, methods: dict[str, str], *, beta: bool, may_be_empty: frozenset[str] = frozenset()
) -> _Template:
    # HEAD goes wherever GET does (the answer without its body).
    with_head: dict[str, str] = {}
    for method, operation_id in methods.items():
        with_head[method] = operation_id
        if method == "GET":
            with_head["HEAD"] = operation_id
    return _Template(tuple(path.strip("/").split("/")), with_head, beta, may_be_empty)


_STORE = BASE_PATH + "/{projectKey}/{environmentKey}/{integrationKey}"
_SEGMENTS = "/api/v2/segments/{projectKey}/{environmentKey}"
_SEGMENT = _SEGMENTS + "/{segmentKey}"
_TEMPLATES = (
    _template(BASE_PATH, {"GET": LIST}, beta=True),
    _template(_STORE, {"POST": CREATE}, beta=True),
    _template(
        _STORE + "/{integrationId}", {"GET": GET, "PATCH": PATCH, "DELETE": DELETE}, beta=True
    ),
    _template(
        "/api/v2/projects/{projectKey}/environments/{environmentKey}",
        {"GET": GET_ENVIRONMENT},
        beta=False,
    ),
    _template(_SEGMENTS, {"POST": POST_SEGMENT}, beta=False),
    _template(_SEGMENT, {"GET": GET_SEGMENT, "DELETE": DELETE_SEGMENT}, beta=False),
    _template(_SEGMENT + "/contexts", {"POST": UPDATE_CONTEXT_TARGETS}, beta=False),
    _template(_SEGMENT + "/users", {"POST": UPDATE_USER_TARGETS}, beta=False),
    _template(
        _SEGMENT + "/contexts/{contextKey}",
        {"GET": GET_MEMBERSHIP},
        beta=False,
        may_be_empty=frozenset({"contextKey"}),
    ),
)


@attrs.frozen
class Route:
    """Where a request goes.

    `operation_id` is None for an unknown path (`allowed` is empty: 404) or a known
    path called with another method (`allowed` lists the methods: 405). `beta` says
    whether the path needs `LD-API-Version: beta`: the store routes and unknown paths do.
    """

    operation_id: str | None
    params: dict[str, str]
    allowed: tuple[str, ...]
    beta: bool = True


_NOWHERE = Route(None, {}, ())


def _match(template: _Template, segments: list[str]) -> dict[str, str] | None:
    if len(segments) != len(template.parts):
        return None
    params: dict[str, str] = {}
    for part, segment in zip(template.parts, segments, strict=True):
        if part.startswith("{"):
            name = part[1:-1]
            if segment == "" and name not in template.may_be_empty:
                return None
            params[name] = unquote(segment)
        elif part != segment:  # literal parts are compared still encoded, as sent
            return None
    return params


def parse_route(method: str, raw_path: str) -> Route:
    """Split the still percent-encoded path on `/` before decoding each segment.

    Decoding first would let a key containing an encoded `/` move the request to
    another route, which is exactly what clients must be able to rely on not happening.
    An empty segment (`.../redis/`, `default//production`) names nothing: 404, whatever
    the method; only an empty context key reaches its route (which answers 400).
    """
    if not raw_path.startswith("/"):
        return _NOWHERE
    segments = raw_path[1:].split("/")
    for template in _TEMPLATES:
        params = _match(template, segments)
        if params is not None:
            return Route(
                template.methods.get(method), params, tuple(template.methods), template.beta
            )
    return _NOWHERE


def _segment(key: str) -> str:
    return quote(key, safe="")


def integration_path(
    project_key: str, environment_key: str, integration_key: str, integration_id: str
) -> str:
    """The href of one integration, each key percent-encoded."""
    keys = (project_key, environment_key, integration_key, integration_id)
    return "/".join((BASE_PATH, *map(_segment, keys)))


def project_path(project_key: str) -> str:
    """The href of a project."""
    return f"/api/v2/projects/{_segment(project_key)}"


def environment_path(project_key: str, environment_key: str) -> str:
    """The href of an environment."""
    return f"{project_path(project_key)}/environments/{_segment(environment_key)}"


def segments_path(project_key: str, environment_key: str) -> str:
    """The href of an environment's segments."""
    return f"/api/v2/segments/{_segment(project_key)}/{_segment(environment_key)}"


def segment_path(project_key: str, environment_key: str, segment_key: str) -> str:
    """The href of one segment."""
    return f"{segments_path(project_key, environment_key)}/{_segment(segment_key)}"
