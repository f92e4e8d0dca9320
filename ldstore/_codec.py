"""The one cattrs converter: wire names, timestamps, store configs and omission rules."""

import json
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs
from cattrs import BaseValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from ldstore.models import DynamoDBConfig, IntegrationKey, RedisConfig
from ldstore.patch import ABSENT, PatchOperation

__all__ = ["DecodeError", "converter", "decode", "encode", "wire_name"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_META = frozenset({"id", "links", "status", "access"})  # sent as "_id", "_links", ...
_VERBATIM = frozenset({"role_name"})  # the API's one snake_case field (AccessAllowedReason)

# Lenient: unknown keys are ignored, as the API adds fields over time. Keep it so.
# Detailed validation is off: it makes every decode slower to improve the rare failure's
# message, and the failure still names what was wrong.
converter = make_converter(detailed_validation=False)

# What a failed decode can raise with detailed validation off.
DecodeError = (BaseValidationError, ValueError, TypeError, KeyError, AttributeError, OverflowError)


def wire_name(attribute: str) -> str:
    """The JSON name of an attribute: camelCase, ``_`` before metadata, no trailing ``_``."""
    if attribute in _VERBATIM:
        return attribute
    if attribute in _META:
        return f"_{attribute}"
    head, *rest = attribute.rstrip("_").split("_")
    return head + "".join(word.title() for word in rest)


@converter.register_structure_hook  # simple types first: class hooks capture them
def _from_millis(value: object, _: type) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"a timestamp must be integer milliseconds, not {value!r}"
        raise TypeError(msg)
    return _EPOCH + timedelta(milliseconds=value)


@converter.register_unstructure_hook
def _to_millis(value: datetime) -> int:
    # Exact. int(value.timestamp() * 1000) is off by one for ~1% of inputs.
    return (value - _EPOCH) // timedelta(milliseconds=1)


def _integration_key(value: object, _: type) -> IntegrationKey | str:
    # A store kind added after this release decodes as a plain string rather than failing
    # the whole list it arrives in.
    if not isinstance(value, str):
        msg = f"integrationKey must be a string, not {value!r}"
        raise TypeError(msg)
    try:
        return IntegrationKey(value)
    except ValueError:
        return value


# A predicate hook: the preconf converter's union passthrough would keep a plain str.
converter.register_structure_hook_func(lambda t: t == IntegrationKey | str, _integration_key)


@converter.register_unstructure_hook
def _redis_config(config: RedisConfig) -> dict[str, Any]:
    # The manifest's keys and types: port travels as a string, tlsEnabled always.
    wire: dict[str, Any] = {"host": config.host, "port": str(config.port)}
    if config.username is not None:
        wire["username"] = config.username
    if config.password is not None:
        wire["password"] = config.password
    wire["tlsEnabled"] = config.tls_enabled
    return wire


@converter.register_unstructure_hook
def _dynamodb_config(config: DynamoDBConfig) -> dict[str, Any]:
    return {
        "tableName": config.table_name,
        "region": config.region,
        "roleArn": config.role_arn,
        "externalId": config.external_id,
    }


@converter.register_unstructure_hook
def _patch_operation(operation: PatchOperation) -> dict[str, Any]:
    # "value" is absent for remove, move and copy; null is a real value for replace.
    wire: dict[str, Any] = {"op": operation.op, "path": operation.path}
    if operation.value is not ABSENT:
        wire["value"] = converter.unstructure(operation.value)
    if operation.from_ is not None:
        wire["from"] = operation.from_
    return wire


def _renames(cls: type[Any]) -> dict[str, Any]:
    return {a.name: override(rename=wire_name(a.name)) for a in attrs.fields(cls)}


@converter.register_structure_hook_factory(attrs.has)
def _structure(cls: type[Any]) -> Any:
    return make_dict_structure_fn(cls, converter, **_renames(cls))


@converter.register_unstructure_hook_factory(attrs.has)
def _unstructure(cls: type[Any]) -> Any:
    # A None default means "not set": leave it off so the server's default applies.
    return make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True, **_renames(cls))


def encode(value: object) -> bytes:
    """The JSON body for a request value."""
    # NaN and Infinity are not JSON: refuse them rather than send what servers reject.
    return json.dumps(converter.unstructure(value), separators=(",", ":"), allow_nan=False).encode()


def decode(body: bytes, cls: type[T]) -> T:
    """The model for a response body; raises one of ``DecodeError`` when it does not fit."""
    return converter.structure(json.loads(body), cls)
