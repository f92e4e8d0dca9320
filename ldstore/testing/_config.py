"""What a store's `config` may hold, from the integrations' public manifests (reference page)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import attrs

from ldstore.testing._wire import invalid

MASKED_SECRET = "********"  # noqa: S105 - a mask, not a password
"""What the API shows instead of a stored secret (the Redis `password`)."""

DYNAMODB_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "sa-east-1",
)

_DIGITS = re.compile(r"[0-9]+")
_MAX_PORT = 65535


def _is_string(value: object) -> bool:
    return isinstance(value, str)


def _is_filled_string(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _is_boolean(value: object) -> bool:
    return isinstance(value, bool)


def _is_port(value: object) -> bool:
    # The manifest types the port as a string; a JSON number is refused.
    # The length check comes first: int() of thousands of digits is slow, then refused.
    return (
        isinstance(value, str)
        and len(value) <= len(str(_MAX_PORT))
        and bool(_DIGITS.fullmatch(value))
        and 1 <= int(value) <= _MAX_PORT
    )


def _is_region(value: object) -> bool:
    return value in DYNAMODB_REGIONS


@attrs.frozen
class _Setting:
    required: bool
    check: Callable[[object], bool]
    expected: str
    secret: bool = False


_TEXT = _Setting(required=True, check=_is_filled_string, expected="a non-empty string")

_STORES: Mapping[str, Mapping[str, _Setting]] = {
    "redis": {
        "host": _TEXT,
        "port": _Setting(
            required=False,
            check=_is_port,
            expected='a string of digits from 1 to 65535, e.g. "6379"',
        ),
        "username": _Setting(required=False, check=_is_string, expected="a string"),
        "password": _Setting(required=False, check=_is_string, expected="a string", secret=True),
        "tlsEnabled": _Setting(required=False, check=_is_boolean, expected="a boolean"),
    },
    "dynamodb": {
        "tableName": _TEXT,
        "region": _Setting(
            required=True, check=_is_region, expected="one of " + ", ".join(DYNAMODB_REGIONS)
        ),
        "roleArn": _TEXT,
        "externalId": _TEXT,
    },
}

INTEGRATION_KEYS = frozenset(_STORES)

SECRET_KEYS = frozenset(
    key for settings in _STORES.values() for key, setting in settings.items() if setting.secret
)
"""The names of every secret config key, whatever the store (for masking logs)."""


def reaches_secret(parts: tuple[str, ...], secrets: Iterable[tuple[str, ...]]) -> bool:
    """Whether JSON Pointer `parts` lie on the path to a secret or below one (root: always)."""
    return any(parts[: len(secret)] == secret[: len(parts)] for secret in secrets)


def secret_paths(integration_key: str) -> list[tuple[str, ...]]:
    """The JSON Pointer parts of the secrets in an integration, e.g. ("config", "password")."""
    settings = _STORES.get(integration_key, {})
    return [("config", key) for key, setting in settings.items() if setting.secret]


def check_config(integration_key: str, config: object) -> None:
    """Raise a 400 naming the first field of `config` that the store does not accept."""
    if not isinstance(config, dict):
        message = "config must be an object"
        raise invalid(message)
    config = cast("dict[str, Any]", config)
    settings = _STORES[integration_key]
    for key in config:
        if key not in settings:
            known = ", ".join(settings)
            message = f"config.{key} is not a {integration_key} setting (known: {known})"
            raise invalid(message)
    for key, setting in settings.items():
        if key not in config:
            if setting.required:
                message = f"config.{key} is required"
                raise invalid(message)
        elif not setting.check(config[key]):
            message = f"config.{key} must be {setting.expected}"
            raise invalid(message)


def masked(integration_key: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `config` as the API shows it: non-empty secrets replaced by MASKED_SECRET."""
    settings = _STORES.get(integration_key, {})
    shown = copy.deepcopy(dict(config))
    for key, setting in settings.items():
        if setting.secret and shown.get(key):
            shown[key] = MASKED_SECRET
    return shown


# For bodies that are not JSON: `"password": "..."` and `"value": "..."` members, the
# string possibly cut short. A best effort; JSON bodies are masked exactly.
_SECRET_MEMBER = re.compile(
    rb'("(?:'
    + b"|".join(re.escape(key.encode()) for key in sorted({*SECRET_KEYS, "value"}))
    + rb')"\s*:\s*)"(?:[^"\\]|\\.)*"?'
)


def masked_body(body: bytes) -> bytes:
    """A request body as the request log shows it: secret values replaced by MASKED_SECRET.

    Masked are members named like a secret (`password`) anywhere, and the `value` of a
    JSON Patch operation whose path ends in one. A body with nothing to mask is kept
    byte for byte; a masked one is written out again as compact JSON.
    """
    if not body:
        return body
    try:
        document: object = json.loads(body)
        if not _mask_document(document):
            return body
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, too deep, or not Unicode
        return _SECRET_MEMBER.sub(rb'\1"' + MASKED_SECRET.encode() + rb'"', body)


def _is_shown(value: object) -> bool:
    return value not in ("", None)


def _mask_document(document: object) -> bool:
    """Mask secrets in place (iteratively: the body may be deep); True if any was."""
    changed = False
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(cast("list[object]", value))
            continue
        if not isinstance(value, dict):
            continue
        members = cast("dict[str, object]", value)
        path = members.get("path")
        # A JSON Patch operation on a path that reaches a secret: a scalar value is one
        # (or a guess at one); inside an object, the secret's own member is masked below.
        value_of_op = members.get("value")
        if (
            isinstance(path, str)
            and _reaches_secret(path)
            and _is_shown(value_of_op)
            and not isinstance(value_of_op, (dict, list))
        ):
            members["value"] = MASKED_SECRET
            changed = True
        for key, member in members.items():
            if key in SECRET_KEYS and _is_shown(member):
                members[key] = MASKED_SECRET
                changed = True
            else:
                stack.append(member)
    return changed


def _reaches_secret(pointer: str) -> bool:
    parts = tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:])
    return reaches_secret(parts, [("config", key) for key in SECRET_KEYS])
