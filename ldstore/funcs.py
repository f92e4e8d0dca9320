"""The operations: request object -> HTTP exchange -> ``Ok(model)`` or ``Err(error)``.

The five store-integration operations, and the reads a syncer, a doctor and a canary
need (``get_environment``, ``get_segment``, ``get_big_segment_membership``).

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

import asyncio

# asyncio.to_thread (a long body's decoding) imports this on first use; a first use in a
# process short of file descriptors would raise OSError out of a func: loaded now.
import concurrent.futures.thread  # noqa: F401  # pyright: ignore[reportUnusedImport]
import json
import operator
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import quote

import attrs

from ldstore import _codec, _codec_gen, _json
from ldstore._transport import Answer, RawResponse, call
from ldstore.core import Core, RequestOptions
from ldstore.errors import (
    InputValidationError,
    LDStoreError,
    ResponseValidationError,
    mask_written,
    redacted,
)
from ldstore.models import (
    BigSegmentMembership,
    BigSegmentStoreIntegration,
    BigSegmentStoreIntegrationCollection,
    Environment,
    Segment,
    masked_secret,
)
from ldstore.operations import (
    CreateBigSegmentStoreIntegrationRequest,
    DeleteBigSegmentStoreIntegrationRequest,
    GetBigSegmentMembershipRequest,
    GetBigSegmentStoreIntegrationRequest,
    GetEnvironmentRequest,
    GetSegmentRequest,
    PatchBigSegmentStoreIntegrationRequest,
)
from ldstore.patch import PatchOperation, PatchWithComment, masked_write
from ldstore.result import Err, Ok, Result
from ldstore.text import REDACTED, redact

__all__ = [
    "create_big_segment_store_integration",
    "delete_big_segment_store_integration",
    "get_big_segment_membership",
    "get_big_segment_store_integration",
    "get_big_segment_store_integrations",
    "get_environment",
    "get_segment",
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
    sent = _exchange(core, _LIST, None, options)
    raw = sent if isinstance(sent, Err) else await sent
    if type(raw) is RawResponse and len(raw.body) > OFF_LOOP_BYTES:
        return await _decoded_off_loop(raw, BigSegmentStoreIntegrationCollection)
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
    so list before creating again. A config whose secret is the API's mask (``MASKED``)
    is an ``InputValidationError`` naming it: the mask is not a password.
    """
    refused = _writes_mask(request)
    if refused is not None:
        return refused
    sent = _exchange(core, _CREATE, request, options)
    raw = sent if isinstance(sent, Err) else await sent
    if type(raw) is RawResponse and len(raw.body) > OFF_LOOP_BYTES:
        return await _decoded_off_loop(raw, BigSegmentStoreIntegration)
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
    sent = _exchange(core, _GET, request, options)
    raw = sent if isinstance(sent, Err) else await sent
    if type(raw) is RawResponse and len(raw.body) > OFF_LOOP_BYTES:
        return await _decoded_off_loop(raw, BigSegmentStoreIntegration)
    return _decoded(raw, BigSegmentStoreIntegration)


async def patch_big_segment_store_integration(
    core: Core,
    request: PatchBigSegmentStoreIntegrationRequest,
    options: RequestOptions | None = None,
) -> Result[BigSegmentStoreIntegration, LDStoreError]:
    """``Ok`` with the updated integration; apply a JSON Patch (see ``ldstore.patch``).

    ``Err``: ``InvalidRequestError`` for a patch the server refuses,
    ``StatusConflictError`` when a ``test`` op fails (someone updated first: re-read,
    then decide), and the errors of the get call. A patch without a ``test`` op is not
    retried once it may have reached the server (a 5xx, a timeout, a connection lost
    after sending) unless ``RetryConfig(retry_non_idempotent=True)``: a repeated
    ``add /tags/-`` would apply twice. A guarded patch (``patch.if_version``) is.
    A patch that writes the API's mask (``MASKED``) as a secret is an
    ``InputValidationError`` naming it, and nothing is sent: the mask is how the API
    shows a stored secret, not its value.
    """
    refused = _writes_mask(request)
    if refused is not None:
        return refused
    sent = _exchange(core, _PATCH, request, options)
    raw = sent if isinstance(sent, Err) else await sent
    if type(raw) is RawResponse and len(raw.body) > OFF_LOOP_BYTES:
        return await _decoded_off_loop(raw, BigSegmentStoreIntegration)
    return _decoded(raw, BigSegmentStoreIntegration)


async def delete_big_segment_store_integration(
    core: Core,
    request: DeleteBigSegmentStoreIntegrationRequest,
    options: RequestOptions | None = None,
) -> Result[None, LDStoreError]:
    """``Ok(None)`` once deleted (204).

    ``Err``: ``NotFoundError`` (already gone, or never there; when a retry meets it after
    an attempt whose answer was lost, its message says the integration may already have
    been deleted by that earlier attempt), ``StatusConflictError``, and the errors of the
    list call.
    """
    sent = _exchange(core, _DELETE, request, options)
    raw = sent if isinstance(sent, Err) else await sent
    return raw if isinstance(raw, Err) else Ok(None)


async def get_environment(
    core: Core, request: GetEnvironmentRequest, options: RequestOptions | None = None
) -> Result[Environment, LDStoreError]:
    """``Ok`` with the environment: its client-side ID (``id``), ``key`` and ``name``.

    The environment's SDK and mobile keys are never decoded or kept, not even in the body
    of a ``ResponseValidationError``. ``Err``: ``NotFoundError`` for an unknown project or
    environment, and the errors of the list call.
    """
    sent = _exchange(core, _GET_ENVIRONMENT, request, options)
    raw = sent if isinstance(sent, Err) else await sent
    return _read(raw, Environment)


async def get_segment(
    core: Core, request: GetSegmentRequest, options: RequestOptions | None = None
) -> Result[Segment, LDStoreError]:
    """``Ok`` with the segment (``unbounded`` true for a big segment, its ``generation``).

    ``Err``: ``NotFoundError`` for an unknown project, environment or segment, and the
    errors of the list call.
    """
    sent = _exchange(core, _GET_SEGMENT, request, options)
    raw = sent if isinstance(sent, Err) else await sent
    return _read(raw, Segment)


async def get_big_segment_membership(
    core: Core, request: GetBigSegmentMembershipRequest, options: RequestOptions | None = None
) -> Result[BigSegmentMembership, LDStoreError]:
    """``Ok`` with whether the context is included in or excluded from the big segment
    (both false: neither), as LaunchDarkly records it.

    ``Err``: ``InvalidRequestError`` for a standard segment, ``NotFoundError`` for an
    unknown project, environment or segment, and the errors of the list call. An empty
    ``context_key`` is an ``InputValidationError``: nothing is sent.
    """
    sent = _exchange(core, _GET_MEMBERSHIP, request, options)
    raw = sent if isinstance(sent, Err) else await sent
    return _read(raw, BigSegmentMembership)


RESOURCE = "/api/v2/integration-capabilities/big-segment-store"


# The path parameters, in URL order; each request object has the ones its path needs.
_PATH_FIELDS = (
    "project_key",
    "environment_key",
    "integration_key",
    "integration_id",
    "segment_key",
    "context_key",
)


@attrs.frozen
class _Operation:
    id: str  # the OpenAPI operationId
    method: str
    request_type: type[object] | None = None  # None: the operation takes no request
    body_field: str | None = None  # the request attribute sent as the JSON body
    template: str | None = None  # the path, a {} per key; None: RESOURCE/key/key/...
    beta: bool = True  # sent with LD-API-Version: beta (the store integrations are)
    # The request's path keys in URL order, read in one C call.
    keys: Callable[[object], tuple[str, ...]] | None = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: _keys_getter(self.request_type), takes_self=True),
    )


def _keys_getter(
    request_type: type[object] | None,
) -> Callable[[object], tuple[str, ...]] | None:
    if request_type is None:
        return None
    names = [name for name in _PATH_FIELDS if name in attrs.fields_dict(request_type)]  # type: ignore[arg-type]  # an attrs class
    # Every path has at least two keys, and attrgetter of several names returns a tuple.
    return cast("Callable[[object], tuple[str, ...]]", operator.attrgetter(*names))


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
# LaunchDarkly's operationIds for these routes (its "Environments" and "Segments" tags).
_GET_ENVIRONMENT = _Operation(
    "getEnvironment",
    "GET",
    GetEnvironmentRequest,
    template="/api/v2/projects/{}/environments/{}",
    beta=False,
)
_GET_SEGMENT = _Operation(
    "getSegment", "GET", GetSegmentRequest, template="/api/v2/segments/{}/{}/{}", beta=False
)
_GET_MEMBERSHIP = _Operation(
    "getSegmentMembershipForContext",
    "GET",
    GetBigSegmentMembershipRequest,
    template="/api/v2/segments/{}/{}/{}/contexts/{}",
    beta=False,
)
# quote(key, safe="") leaves exactly these characters alone; most keys are made of them,
# and skip the call.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")
_REFUSED_KEYS = frozenset({"", ".", ".."})


def _exchange(
    core: Core, operation: _Operation, request: object, options: RequestOptions | None
) -> Err[LDStoreError] | Coroutine[Any, Any, Answer]:
    """Check the request and build its path and body: the Err for an invalid one (nothing
    is sent), else the sending, for the caller to await (a coroutine fewer per call)."""
    path = RESOURCE
    body: bytes | None = None
    idempotent = operation.method != "POST"
    if operation.request_type is not None:
        plain = _plain_path(operation, request)
        if plain is not None:
            path = plain
        else:  # anything unusual: the whole check, with its precise Err
            if (wrong := _wrong_request(request, operation.request_type)) is not None:
                return wrong
            built = _path(request, operation.template)
            if isinstance(built, Err):
                return built
            path = built.value
        if operation.body_field is not None:
            value = getattr(request, operation.body_field)
            encoded = _encoded(value)
            if isinstance(encoded, Err):
                return encoded
            body = encoded.value
            if operation.method == "PATCH":
                idempotent = _guarded(value)
    return call(
        core,
        operation_id=operation.id,
        method=operation.method,
        path=path,
        body=body,
        options=options,
        idempotent=idempotent,
        beta=operation.beta,
    )


def _plain_path(operation: _Operation, request: object) -> str | None:
    """The path ``_path`` builds, for the usual request: of the operation's own type, with
    keys that need no quoting and none refused; None for anything else, which ``_path``
    then decides key by key."""
    if type(request) is not operation.request_type or operation.keys is None:
        return None
    keys = operation.keys(request)  # str as typed; a caller's other types: TypeError below
    try:
        run_together = "".join(keys)
    except TypeError:  # a key that is not a str
        return None
    # ASCII letters and digits only (most keys, every ID): a few C calls, no regex.
    # ``run_together`` is a plain str whatever the keys' types; bytes.isalnum is ASCII's
    # and half the cost of str.isalnum. all(): no key is "".
    if not (run_together.isascii() and run_together.encode().isalnum() and all(keys)):
        for key in keys:
            if key in _REFUSED_KEYS or not _UNRESERVED.fullmatch(key):
                return None  # to quote or refused: _path's to decide
    if operation.template is not None:
        return operation.template.format(*keys)
    return _RESOURCE_SLASH + "/".join(keys)


_RESOURCE_SLASH = RESOURCE + "/"


def _path(request: object, template: str | None = None) -> Result[str, LDStoreError]:
    """The request's finished path: its keys in URL order, each percent-encoded whole, in
    ``template`` (a ``{}`` per key; None: after ``RESOURCE``).

    Any character is allowed (it is percent-encoded); an empty key, ``.`` or ``..``
    would change which URL is called, so it is refused before anything is sent, as is
    a key that is not a string or cannot be encoded (a lone surrogate).
    """
    keys: list[str] = []
    for name in _PATH_FIELDS:
        if not hasattr(request, name):
            continue
        key = getattr(request, name)
        if not isinstance(key, str):
            return _invalid(f"{name} must be a string, not {type(key).__name__}", name)
        if key in _REFUSED_KEYS:
            return _invalid(f"{name} must not be {key!r}", name)
        if not _UNRESERVED.fullmatch(key):
            try:
                key = quote(key, safe="")
            except UnicodeEncodeError:  # a lone surrogate: no URL can carry it
                return _invalid(f"{name} cannot be encoded as UTF-8", name)
        keys.append(key)
    if template is not None:
        return Ok(template.format(*keys))
    return Ok("/".join((RESOURCE, *keys)))


def _guarded(body: object) -> bool:
    """Whether a patch carries a ``test`` op, which makes sending it twice harmless."""
    operations = body.patch if isinstance(body, PatchWithComment) else body
    return isinstance(operations, Sequence) and any(
        isinstance(operation, PatchOperation) and operation.op == "test"
        for operation in operations  # pyright: ignore[reportUnknownVariableType]
    )


def _invalid(message: str, field: str) -> Err[InputValidationError]:
    return Err(InputValidationError(message=message, field=field))


def _encoded(value: object) -> Result[bytes, LDStoreError]:
    try:
        return Ok(_codec.encode(value))
    except RecursionError:
        return Err(
            InputValidationError(
                message="the request body cannot be encoded: it is circular or nested too deep"
            )
        )
    except (TypeError, ValueError) as error:
        return Err(InputValidationError(message=f"the request body cannot be encoded: {error}"))


def _decoded(raw: Answer, cls: type[T]) -> Result[T, LDStoreError]:
    if isinstance(raw, Err):
        return raw
    response = raw
    field: str | None = None
    try:
        value = _codec.decode(response.body, cls)
    except RecursionError:
        problem = "it is nested deeper than can be decoded"
    except MemoryError:  # the process is short of memory: an answer, not a crash
        problem = "decoding it ran out of memory"
    except (_codec.WrongShapeError, _codec.TooManyValuesError) as error:
        field = getattr(error, "field", None)
        problem = str(error)
    except _codec.DecodeError as error:
        problem = repr(error)
    else:
        ok: Ok[T] = _new_ok()  # Ok(value), built as the codec builds models: see _new_ok
        ok.value = value  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]  # a builder, not yet frozen
        ok.__class__ = Ok
        return ok
    if len(problem) > _MAX_PROBLEM:
        problem = f"{problem[:_MAX_PROBLEM]}..."
    invalid = ResponseValidationError(
        message=f"HTTP {response.status} body is not a valid {cls.__name__}: {problem}",
        status_code=response.status,
        body=response.body,
        field=field,
    )
    return Err(redacted(invalid, response.secret))


# A body longer than this is decoded in a thread: a list of thousands of integrations
# takes tens of milliseconds to decode, and other coroutines should not wait for it. (The
# parse itself holds the GIL; _codec.MAX_VALUES bounds it.)
OFF_LOOP_BYTES = 256 * 1024


async def _decoded_off_loop(raw: RawResponse, cls: type[T]) -> Result[T, LDStoreError]:
    try:
        return await asyncio.to_thread(_decoded, raw, cls)
    except RuntimeError:  # no thread can be started (the process is short of them): here
        return _decoded(raw, cls)


_MAX_PROBLEM = 500  # characters of a decode error kept in the message
# Every successful call returns an Ok: built as the generated decoders build the models
# (``_codec_gen.builder``, which refuses a class whose __init__ does more than assign),
# it costs half of attrs' frozen __init__ and is the same Ok.
# tests/test_fast_path.py (test_an_ok_built_by_its_builder_is_an_ok) fails if that stops
# holding.
_new_ok: Callable[[], Any] = _codec_gen.builder(Ok)


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


def _read(raw: Answer, cls: type[T]) -> Result[T, LDStoreError]:
    """``_decoded`` (whose strict rules refuse ``"false"`` for a boolean: a read such as a
    membership must not answer what the server did not say), and for an environment that
    did not decode, its SDK and mobile keys kept out of the error."""
    decoded = _decoded(raw, cls)
    if isinstance(decoded, Err) and cls is Environment and not isinstance(raw, Err):
        return Err(_without_environment_keys(decoded.error, raw.secret))
    return decoded


_MAX_TYPE_DEPTH = 8  # deeper than any environment body: left out when masking


# The environment's secrets, which its body carries next to the fields ldstore reads.
_ENVIRONMENT_SECRETS = frozenset({"apiKey", "mobileKey"})


def _without_environment_keys(error: LDStoreError, token: str) -> LDStoreError:
    """``error`` (a response that did not decode as an ``Environment``) without the SDK
    and mobile keys its body may carry: a JSON body is written again with them masked
    (whatever escapes spelled them), any other body is left out (they cannot be found)."""
    error = redacted(error, token)
    if not isinstance(error, ResponseValidationError):
        return error
    try:
        data = _json.loads(error.body)
    except (ValueError, RecursionError):
        return attrs.evolve(error, body=b"", message=f"{error.message} (body withheld)")
    secrets: list[str] = []
    masked = _masked(data, secrets, 0)
    if not secrets:
        return error
    return attrs.evolve(
        error,
        body=json.dumps(masked, ensure_ascii=False).encode(),
        message=redact(error.message, secrets),
    )


def _masked(data: object, secrets: list[str], depth: int) -> object:
    """``data`` with every string under an ``apiKey`` or ``mobileKey`` key masked; the
    masked values are added to ``secrets``. Deeper than any environment: left out."""
    if depth > _MAX_TYPE_DEPTH:
        return None
    if isinstance(data, dict):
        masked: dict[str, object] = {}
        for key, value in cast("Mapping[str, object]", data).items():
            if key in _ENVIRONMENT_SECRETS and isinstance(value, str):
                secrets.append(value)
                masked[key] = REDACTED
            else:
                masked[key] = _masked(value, secrets, depth + 1)
        return masked
    if isinstance(data, list):
        return [_masked(item, secrets, depth + 1) for item in cast("list[object]", data)]
    return data


def _writes_mask(request: object) -> Err[InputValidationError] | None:
    """The ``Err`` for a create or patch that would write the API's mask as a secret; None
    for any other request (a wrong type is ``_exchange``'s to refuse)."""
    where: str | None = None
    if isinstance(request, CreateBigSegmentStoreIntegrationRequest):
        post = request.integration_delivery_configuration_post
        found = masked_secret(getattr(post, "config", None))
        where = None if found is None else f"config.{found}"
    elif isinstance(request, PatchBigSegmentStoreIntegrationRequest):
        where = masked_write(request.request_body)
    return None if where is None else Err(mask_written(where))
