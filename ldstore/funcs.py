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
_ByIdRequest = (
    GetBigSegmentStoreIntegrationRequest
    | PatchBigSegmentStoreIntegrationRequest
    | DeleteBigSegmentStoreIntegrationRequest
)


async def get_big_segment_store_integrations(
    core: Core, options: RequestOptions | None = None
) -> Result[BigSegmentStoreIntegrationCollection, LDStoreError]:
    """``Ok`` with every integration of the account (summaries: ``config`` is ``None``).

    ``Err``: ``UnauthorizedError``, ``ForbiddenError``, ``NotFoundError``,
    ``RateLimitedError`` (after retries), another ``APIError``, a ``NetworkError`` or
    ``ResponseValidationError``.
    """
    raw = await call(
        core, operation_id="getBigSegmentStoreIntegrations", method="GET", options=options
    )
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
    if (wrong := _wrong_request(request, CreateBigSegmentStoreIntegrationRequest)) is not None:
        return wrong
    keys = resource_keys(
        project_key=request.project_key,
        environment_key=request.environment_key,
        integration_key=request.integration_key,
    )
    if isinstance(keys, Err):
        return keys
    body = _encoded(request.integration_delivery_configuration_post)
    if isinstance(body, Err):
        return body
    raw = await call(
        core,
        operation_id="createBigSegmentStoreIntegration",
        method="POST",
        keys=keys.value,
        body=body.value,
        options=options,
    )
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
    if (wrong := _wrong_request(request, GetBigSegmentStoreIntegrationRequest)) is not None:
        return wrong
    keys = _by_id_keys(request)
    if isinstance(keys, Err):
        return keys
    raw = await call(
        core,
        operation_id="getBigSegmentStoreIntegration",
        method="GET",
        keys=keys.value,
        options=options,
    )
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
    if (wrong := _wrong_request(request, PatchBigSegmentStoreIntegrationRequest)) is not None:
        return wrong
    keys = _by_id_keys(request)
    if isinstance(keys, Err):
        return keys
    body = _encoded(request.request_body)
    if isinstance(body, Err):
        return body
    raw = await call(
        core,
        operation_id="patchBigSegmentStoreIntegration",
        method="PATCH",
        keys=keys.value,
        body=body.value,
        options=options,
    )
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
    if (wrong := _wrong_request(request, DeleteBigSegmentStoreIntegrationRequest)) is not None:
        return wrong
    keys = _by_id_keys(request)
    if isinstance(keys, Err):
        return keys
    raw = await call(
        core,
        operation_id="deleteBigSegmentStoreIntegration",
        method="DELETE",
        keys=keys.value,
        options=options,
    )
    if isinstance(raw, Err):
        return raw
    return Ok(None)


def _by_id_keys(request: _ByIdRequest) -> Result[tuple[str, ...], LDStoreError]:
    return resource_keys(
        project_key=request.project_key,
        environment_key=request.environment_key,
        integration_key=request.integration_key,
        integration_id=request.integration_id,
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
