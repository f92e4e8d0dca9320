"""Which URL is which operation: the API's paths, read from the raw request path."""

from __future__ import annotations

from urllib.parse import quote, unquote

import attrs

BASE_PATH = "/api/v2/integration-capabilities/big-segment-store"

LIST = "getBigSegmentStoreIntegrations"
CREATE = "createBigSegmentStoreIntegration"
GET = "getBigSegmentStoreIntegration"
PATCH = "patchBigSegmentStoreIntegration"
DELETE = "deleteBigSegmentStoreIntegration"
OPERATION_IDS = frozenset({LIST, CREATE, GET, PATCH, DELETE})

# The routes by number of path parameters after BASE_PATH, then by method. HEAD goes
# wherever GET does (the answer without its body).
_ROUTES: dict[int, dict[str, str]] = {
    0: {"GET": LIST, "HEAD": LIST},
    3: {"POST": CREATE},
    4: {"GET": GET, "HEAD": GET, "PATCH": PATCH, "DELETE": DELETE},
}
_PARAMETERS = ("projectKey", "environmentKey", "integrationKey", "integrationId")


@attrs.frozen
class Route:
    """Where a request goes.

    `operation_id` is None for an unknown path (`allowed` is empty: 404) or a known
    path called with another method (`allowed` lists the methods: 405).
    """

    operation_id: str | None
    params: dict[str, str]
    allowed: tuple[str, ...]


def parse_route(method: str, raw_path: str) -> Route:
    """Split the still percent-encoded path on `/` before decoding each segment.

    Decoding first would let a key containing an encoded `/` move the request to
    another route, which is exactly what clients must be able to rely on not happening.
    An empty segment (`.../redis/`, `default//production`) names nothing: 404, whatever
    the method.
    """
    if raw_path == BASE_PATH:
        segments: list[str] = []
    elif raw_path.startswith(BASE_PATH + "/"):
        segments = [unquote(part) for part in raw_path[len(BASE_PATH) + 1 :].split("/")]
    else:
        return Route(None, {}, ())
    methods = _ROUTES.get(len(segments))
    if methods is None or "" in segments:
        return Route(None, {}, ())
    return Route(
        methods.get(method), dict(zip(_PARAMETERS, segments, strict=False)), tuple(methods)
    )


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
