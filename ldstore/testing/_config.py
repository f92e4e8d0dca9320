"""What a store's `config` may hold, from the integrations' public manifests (reference page)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
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
    return (
        isinstance(value, str) and bool(_DIGITS.fullmatch(value)) and 1 <= int(value) <= _MAX_PORT
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
