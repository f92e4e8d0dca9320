"""The five operations: request object -> HTTP exchange -> ``Ok(model)`` or ``Err(error)``.

None of them raises for what the network, the server or the input can do; only
cancellation (and hooks' or token providers' own exceptions) propagate.

>>> match await get_big_segment_store_integration(core, request):
...     case Ok(integration):
...         print(integration.name, integration.status.available)
...     case Err(NotFoundError()):
...         print("no such integration")
...     case Err(error):
...         print(f"failed: {error}")
"""

from __future__ import annotations

from typing import TypeVar

import attrs

from ldstore import _codec
from ldstore._transport import RawResponse, call, resource_keys
from ldstore.core import Core, RequestOptions
from ldstore.errors import InputValidationError, LDStoreError, ResponseValidationError
from ldstore.models import BigSegmentStoreIntegration, BigSegmentStoreIntegrationCollection
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentStoreIntegrationRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.result import Err, Ok, Result

__all__ = [
    "create_big_segment_store_integration",
    "delete_big_segment_store_integration",
    "get_big_segment_store_integration",
    "get_big_segment_store_integrations",
    "patch_big_segment_store_integration",
]

T = TypeVar("T")


async def get_big_segment_store_integrations(
    core: Core, options: RequestOptions | None = None
) -> Result[BigSegmentStoreIntegrationCollection, LDStoreError]:
    """``Ok`` with every integration of the account (summaries: ``config`` is ``None``).

    ``Err``: ``UnauthorizedError``, ``ForbiddenError``, ``NotFoundError``,
    ``RateLimitedError`` (after retries), another ``APIError``, a ``NetworkError`` or
    ``ResponseValidationError``.
    """
    raw = await _exchange(core, _LIST, None, options)
    return _decoded(raw, BigSegmentStoreIntegrationCollection)


async def create_big_segment_store_integration(
    core: Core,
    request: CreateBigSegmentStoreIntegrationRequest,
    options: RequestOptions | None = None,
) -> Result[BigSegmentStoreIntegration, LDStoreError]:
    """``Ok`` with the created integration (201).

    ``Err`` as for the list, plus ``InvalidRequestError`` (a bad config) and
    ``StatusConflictError`` (the name is taken). A create is not retried once it may
    have reached the server unless ``RetryConfig(retry_non_idempotent=True)``: a
    ``RequestTimeoutError``, ``ConnectionLostError`` or 5xx means "maybe created",
    so list before creating again.
    """
    raw = await _exchange(core, _CREATE, request, options)
    return _decoded(raw, BigSegmentStoreIntegration)


async def get_big_segment_store_integration(
    core: Core,
    request: GetBigSegmentStoreIntegrationRequest,
    options: RequestOptions | None = None,
) -> Result[BigSegmentStoreIntegration, LDStoreError]:
    """``Ok`` with the detailed integration, ``config`` included (secrets masked).

    ``Err``: ``NotFoundError`` for an unknown project, environment, store kind or ID,
    and the errors of the list call.
    """
    raw = await _exchange(core, _GET, request, options)
    return _decoded(raw, BigSegmentStoreIntegration)


async def patch_big_segment_store_integration(
    core: Core,
    request: PatchBigSegmentStoreIntegrationRequest,
    options: RequestOptions | None = None,
) -> Result[BigSegmentStoreIntegration, LDStoreError]:
    """``Ok`` with the updated integration; apply a JSON Patch (see ``ldstore.patch``).

    ``Err``: ``InvalidRequestError`` for a patch the server refuses,
    ``StatusConflictError`` when a ``test`` op fails (someone updated first: re-read,
    then decide), and the errors of the get call.
    """
    raw = await _exchange(core, _PATCH, request, options)
    return _decoded(raw, BigSegmentStoreIntegration)


async def delete_big_segment_store_integration(
    core: Core,
    request: DeleteBigSegmentStoreIntegrationRequest,
    options: RequestOptions | None = None,
) -> Result[None, LDStoreError]:
    """``Ok(None)`` once deleted (204).

    ``Err``: ``NotFoundError`` (already gone, or never there), ``StatusConflictError``,
    and the errors of the list call.
    """
    raw = await _exchange(core, _DELETE, request, options)
    return raw.map(lambda _: None)


@attrs.frozen
class _Operation:
    id: str  # the OpenAPI operationId
    method: str
    request_type: type[object] | None = None  # None: the operation takes no request
    body_field: str | None = None  # the request attribute sent as the JSON body


_LIST = _Operation("getBigSegmentStoreIntegrations", "GET")
_CREATE = _Operation(
    "createBigSegmentStoreIntegration",
    "POST",
    CreateBigSegmentStoreIntegrationRequest,
    "integration_delivery_configuration_post",
)
_GET = _Operation("getBigSegmentStoreIntegration", "GET", GetBigSegmentStoreIntegrationRequest)
_PATCH = _Operation(
    "patchBigSegmentStoreIntegration",
    "PATCH",
    PatchBigSegmentStoreIntegrationRequest,
    "request_body",
)
_DELETE = _Operation(
    "deleteBigSegmentStoreIntegration", "DELETE", DeleteBigSegmentStoreIntegrationRequest
)
# The path parameters, in URL order; each request object has the ones its path needs.
_PATH_FIELDS = ("project_key", "environment_key", "integration_key", "integration_id")


async def _exchange(
    core: Core, operation: _Operation, request: object, options: RequestOptions | None
) -> Result[RawResponse, LDStoreError]:
    """Check the request, encode its path and body, and send it: nothing invalid is sent."""
    keys: tuple[str, ...] = ()
    body: bytes | None = None
    if operation.request_type is not None:
        if (wrong := _wrong_request(request, operation.request_type)) is not None:
            return wrong
        checked = resource_keys(
            **{name: getattr(request, name) for name in _PATH_FIELDS if hasattr(request, name)}
        )
        if isinstance(checked, Err):
            return checked
        keys = checked.value
        if operation.body_field is not None:
            encoded = _encoded(getattr(request, operation.body_field))
            if isinstance(encoded, Err):
                return encoded
            body = encoded.value
    return await call(
        core,
        operation_id=operation.id,
        method=operation.method,
        keys=keys,
        body=body,
        options=options,
    )


def _encoded(value: object) -> Result[bytes, LDStoreError]:
    try:
        return Ok(_codec.encode(value))
    except (TypeError, ValueError) as error:
        return Err(InputValidationError(message=f"the request body cannot be encoded: {error}"))


def _decoded(raw: Result[RawResponse, LDStoreError], cls: type[T]) -> Result[T, LDStoreError]:
    if isinstance(raw, Err):
        return raw
    response = raw.value
    try:
        return Ok(_codec.decode(response.body, cls))
    except _codec.DecodeError as error:
        return Err(
            ResponseValidationError(
                message=f"HTTP {response.status} body is not a valid {cls.__name__}: {error!r}",
                status_code=response.status,
                body=response.body,
            )
        )


def _wrong_request(request: object, expected: type) -> Err[InputValidationError] | None:
    # Typed callers never get here; untyped ones get an Err rather than an AttributeError.
    if isinstance(request, expected):
        return None
    return Err(
        InputValidationError(
            message=f"expected a {expected.__name__}, not {type(request).__name__}",
            field="request",
        )
    )
