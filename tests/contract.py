"""The OpenAPI subset as a checker: does an exchange match what the spec documents?"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from ldstore.testing import RecordedRequest, openapi_document

SDK_USER_AGENT = "ldstore/"

_URI = "urn:ldstore:bigsegmentstore-openapi"
_SCHEMAS = f"{_URI}#/components/schemas/"
# The environment and segment routes the fake also serves: a second shipped subset.
_SEGMENTS_URI = "urn:ldstore:segments-openapi"
_SEGMENTS_SCHEMAS = f"{_SEGMENTS_URI}#/components/schemas/"


@cache
def _spec() -> dict[str, Any]:
    spec = openapi_document()  # the copy shipped in the package, not one beside the repo
    schemas = spec["components"]["schemas"]
    # The reference page: list items are summaries without `config`, although the
    # schema marks it required. Items of the collection get a copy that does not.
    summary = copy.deepcopy(schemas["BigSegmentStoreIntegration"])
    summary["required"].remove("config")
    schemas["BigSegmentStoreIntegrationSummary"] = summary
    collection_items = schemas["BigSegmentStoreIntegrationCollection"]["properties"]["items"]
    collection_items["items"] = {"$ref": "#/components/schemas/BigSegmentStoreIntegrationSummary"}
    # The reference page documents a comment envelope for PATCH; the subset only
    # describes the bare JSON Patch array.
    schemas["JSONPatchWithComment"] = {
        "type": "object",
        "required": ["patch"],
        "properties": {
            "comment": {"type": "string"},
            "patch": {"$ref": "#/components/schemas/JSONPatch"},
        },
        "additionalProperties": False,
    }
    return spec


@cache
def _segments_spec() -> dict[str, Any]:
    return openapi_document("segments")


@cache
def _registry() -> Registry[Any]:
    # OpenAPI 3.0 schemas are close to draft 7 (a $ref's siblings are ignored).
    resource: Resource[Any] = Resource.from_contents(_spec(), default_specification=DRAFT7)
    segments: Resource[Any] = Resource.from_contents(_segments_spec(), default_specification=DRAFT7)
    registry: Registry[Any] = (
        Registry[Any]().with_resource(_URI, resource).with_resource(_SEGMENTS_URI, segments)
    )
    return registry


def _find_operation(operation_id: str) -> tuple[str, Mapping[str, Any]]:
    """The operation and the schema base of the subset that describes it."""
    for base, spec in ((_SCHEMAS, _spec()), (_SEGMENTS_SCHEMAS, _segments_spec())):
        for path_item in spec["paths"].values():
            for operation in path_item.values():
                if operation.get("operationId") == operation_id:
                    found: Mapping[str, Any] = operation
                    return base, found
    message = f"{operation_id!r} is not an operationId of the OpenAPI subsets"
    raise AssertionError(message)


def _operation(operation_id: str) -> Mapping[str, Any]:
    return _find_operation(operation_id)[1]


def _decode(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        message = f"{what} is not JSON ({exc}): {body[:200]!r}"
        raise AssertionError(message) from exc


def _check(instance: Any, schema_name: str, what: str, base: str = _SCHEMAS) -> None:
    validator = jsonschema.Draft7Validator({"$ref": base + schema_name}, registry=_registry())
    # typeshed's legacy overload of iter_errors has an unannotated parameter
    errors = validator.iter_errors(instance)  # pyright: ignore[reportUnknownMemberType]
    problems = [f"at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    if problems:
        message = f"{what} does not match {schema_name}: " + "; ".join(sorted(problems))
        raise AssertionError(message)


def _schema_name(content: Mapping[str, Any]) -> str:
    ref: str = content["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def documented_statuses(operation_id: str) -> set[int]:
    """The statuses the spec documents for an operation."""
    return {int(status) for status in _operation(operation_id)["responses"]}


def validate_response(operation_id: str, status: int, body: bytes) -> None:
    """Raise AssertionError unless `status` is documented for the operation and `body` fits it."""
    base, operation = _find_operation(operation_id)
    responses: Mapping[str, Any] = operation["responses"]
    response = responses.get(str(status))
    what = f"{operation_id} {status} response"
    if response is None:
        message = f"{operation_id} does not document status {status} (only {', '.join(responses)})"
        raise AssertionError(message)
    content = response.get("content")
    if content is None:
        if body:
            message = f"{what} must have no body, got {body[:200]!r}"
            raise AssertionError(message)
        return
    _check(_decode(body, what), _schema_name(content), what, base)


def validate_request(operation_id: str, body: bytes) -> None:
    """Raise AssertionError unless `body` is what the operation takes (nothing, if no body)."""
    base, operation = _find_operation(operation_id)
    request_body = operation.get("requestBody")
    what = f"{operation_id} request body"
    if request_body is None:
        if body:
            message = f"{what} must be empty, got {body[:200]!r}"
            raise AssertionError(message)
        return
    instance = _decode(body, what)
    schema_name = _schema_name(request_body["content"])
    if schema_name == "JSONPatch" and isinstance(instance, dict):
        schema_name = "JSONPatchWithComment"
    _check(instance, schema_name, what, base)


def validate_exchanges(requests: Iterable[RecordedRequest]) -> None:
    """Check every exchange the spec describes; requests only where the SDK sent them.

    Deliberately broken answers (an injected fault) and paths or methods outside the
    API (404/405 without an operation) are left out. The fake's own tests send invalid
    bodies on purpose, so only requests whose User-Agent names ldstore are checked. A
    HEAD answer has no body: only its status is checked against the GET it stands for.
    """
    for request in requests:
        if request.fault is not None or request.operation_id is None or request.status is None:
            continue
        if request.method == "HEAD":
            if request.status not in documented_statuses(request.operation_id):
                message = f"HEAD {request.operation_id} answered an undocumented {request.status}"
                raise AssertionError(message)
            continue
        validate_response(request.operation_id, request.status, request.response_body)
        if request.headers.get("User-Agent", "").startswith(SDK_USER_AGENT):
            validate_request(request.operation_id, request.body)
