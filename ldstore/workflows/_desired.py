"""DesiredIntegration and load_desired(): the integrations a file says should exist."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import attrs

from ldstore.configs import non_empty
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.models import (
    MASKED,
    ConfigError,
    DynamoDBConfig,
    IntegrationKey,
    RedisConfig,
    StoreConfig,
    config_class,
    config_fields,
    masked_repr,
    parse_config,
    secret_keys,
    store_kinds,
)
from ldstore.result import Err, Ok, Result
from ldstore.tomlfile import toml_loads
from ldstore.wire import to_wire

__all__ = ["MASKED", "SECRET_KEYS", "DesiredIntegration", "load_desired", "wire_config"]

SECRET_KEYS: Mapping[str, frozenset[str]] = {kind: secret_keys(kind) for kind in store_kinds()}
"""Write-only config keys by store kind (the Redis ``password``), from the models' ``secret`` marks."""


def _config_kind(
    instance: DesiredIntegration, _: attrs.Attribute[StoreConfig], config: StoreConfig
) -> None:
    kind = kind_of(instance.integration_key)
    value = cast("object", config)  # checked at run time: untyped callers get a clear error
    if isinstance(value, RedisConfig | DynamoDBConfig) and value.integration_key != kind:
        msg = f"a {type(value).__name__} needs integration_key {value.integration_key!r}, not {kind!r}"
        raise ValueError(msg)
    if not isinstance(value, RedisConfig | DynamoDBConfig | Mapping):
        msg = f"config must be a RedisConfig, DynamoDBConfig or mapping, not {type(value).__name__}"
        raise TypeError(msg)


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        msg = f"tags must be a list of strings, not {type(value).__name__}"
        raise TypeError(msg)
    tags = tuple(cast("list[object] | tuple[object, ...]", value))
    if not all(isinstance(tag, str) for tag in tags):
        msg = "tags must be a list of strings"
        raise TypeError(msg)
    return cast("tuple[str, ...]", tags)


@attrs.frozen(kw_only=True)
class DesiredIntegration:
    """One integration as it should be; identified by project, environment, store and name.

    ``config`` holds every setting; secrets in it (the Redis ``password``) are sent on
    create, and on update only with ``rotate_secrets=True``: the API never shows them
    back, so they cannot be compared. Raises ``ValueError``/``TypeError`` when invalid.
    """

    project_key: str = attrs.field(validator=non_empty)
    environment_key: str = attrs.field(validator=non_empty)
    integration_key: IntegrationKey | str = attrs.field(validator=non_empty)
    name: str = attrs.field(validator=non_empty)
    config: StoreConfig = attrs.field(validator=_config_kind, repr=masked_repr)
    on: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    rotate_secrets: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    @property
    def scope(self) -> tuple[str, str, str]:
        """(project, environment, store kind): where ``prune`` may delete."""
        return (self.project_key, self.environment_key, kind_of(self.integration_key))

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """(project, environment, store kind, name): how it is matched to what exists."""
        return (*self.scope, self.name)


def kind_of(integration_key: IntegrationKey | str) -> str:
    """The store kind as the wire spells it."""
    return integration_key.value if isinstance(integration_key, IntegrationKey) else integration_key


def wire_config(config: StoreConfig) -> dict[str, Any]:
    """A config as the ``config`` JSON object sent to the API."""
    return cast("dict[str, Any]", to_wire(config))


def load_desired(path: str | os.PathLike[str]) -> Result[list[DesiredIntegration], LDStoreError]:
    """Read desired integrations from a ``.toml`` or ``.json`` file.

    TOML: one ``[[integration]]`` table per integration, its settings in
    ``[integration.config]`` under the API's wire names::

        [[integration]]
        project = "default"
        environment = "production"
        store = "redis"                 # or "dynamodb"
        name = "Production Redis"
        on = true                       # default false
        tags = ["team:platform"]        # default []
        rotate_secrets = false          # send secrets on update too; default false

        [integration.config]
        host = "redis.internal"
        port = 6380                     # a number or a string of digits
        tlsEnabled = true
        password = { env = "REDIS_PASSWORD" }   # any value: read from the environment

    JSON: the same shape, ``{"integration": [{..., "config": {...}}]}``, or just the list.
    ``store`` must be a kind ldstore knows (``redis``, ``dynamodb``; case-sensitive), so
    a plan made from the file promises nothing the API will refuse for that reason. The
    config is checked as ``RedisConfig``/``DynamoDBConfig`` through
    ``ldstore.models.parse_config``: wire keys, values as the API gives them (a port may
    be a string of digits). A secret equal to ``MASKED`` (as the API shows it) means "keep
    the stored secret": an update never sends it, and a create with it is refused.

    ``Err(InputValidationError)``: the file cannot be read or parsed, or an item is
    invalid; the message names the item (index and name) and the field, as does
    ``field`` (``integration[1].config.port``). Two items with the same project,
    environment, store and name are refused. On Python 3.10, TOML needs ``tomli``.
    """
    file = Path(path)
    document = _read(file)
    if isinstance(document, Err):
        return document
    items = _items(document.value)
    if items is None:
        return _invalid(f"{file}: expected [[integration]] tables (or a JSON list)", "integration")
    desired: list[DesiredIntegration] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for index, raw in enumerate(items):
        item = _item(raw, f"integration[{index}]")
        if isinstance(item, Err):
            return _invalid(f"{file}: {item.error.message}", item.error.field)
        first = seen.setdefault(item.value.identity, index)
        if first != index:
            message = f"{file}: integration[{index}] ({item.value.name}) repeats integration[{first}]: same project, environment, store and name"
            return _invalid(message, f"integration[{index}].name")
        desired.append(item.value)
    return Ok(desired)


def _read(file: Path) -> Result[object, InputValidationError]:
    parse = _parser(file)
    if isinstance(parse, Err):
        return parse
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return _invalid(f"cannot read {file}: {error}", "path")
    try:
        return Ok(parse.value(text))
    except ValueError as error:  # json.JSONDecodeError and TOMLDecodeError are ValueErrors
        return _invalid(f"{file} is not valid {file.suffix[1:].upper()}: {error}", "path")
    except RecursionError:  # the parsers recurse once per level of nesting
        return _invalid(f"{file} nests too deeply to be an apply file", "path")


def _invalid(message: str, field: str | None) -> Err[InputValidationError]:
    return Err(InputValidationError(message=message, field=field))


def _parser(file: Path) -> Result[Callable[[str], object], InputValidationError]:
    suffix = file.suffix.lower()
    if suffix == ".json":
        return Ok(json.loads)
    if suffix != ".toml":
        return _invalid(f"{file}: use a .toml or .json file", "path")
    loads = toml_loads()
    if loads is None:
        message = (
            f"{file}: reading TOML on Python 3.10 needs tomli (pip install tomli); or use JSON"
        )
        return _invalid(message, "path")
    return Ok(loads)


def _items(document: object) -> list[object] | None:
    if isinstance(document, dict):
        document = cast("dict[str, object]", document).get("integration", [])
    if isinstance(document, list):
        return cast("list[object]", document)
    return None


def _item(raw: object, where: str) -> Result[DesiredIntegration, InputValidationError]:
    if not isinstance(raw, dict):
        return _invalid(f"{where} must be a table (an object)", where)
    fields = cast("dict[str, object]", raw)
    name = fields.get("name")
    label = f"{where} ({name})" if isinstance(name, str) and name.strip() else where
    for field in fields:
        if field not in _ITEM_CHECKS:
            known = ", ".join(_ITEM_CHECKS)
            message = f"{label}: unknown field {field!r} (known: {known})"
            return _invalid(message, f"{where}.{field}")
    for field, (check, expected) in _ITEM_CHECKS.items():
        if field not in fields:
            if field in _OPTIONAL:
                continue
            return _invalid(f"{label}: {field} is required", f"{where}.{field}")
        if not check(fields[field]):
            got = type(fields[field]).__name__
            message = f"{label}: {field} must be {expected}, not {got}"
            return _invalid(message, f"{where}.{field}")
    store = cast("str", fields["store"])
    config = _config(store, cast("dict[str, object]", fields["config"]), label, where)
    if isinstance(config, Err):
        return config
    return Ok(
        DesiredIntegration(
            project_key=cast("str", fields["project"]),
            environment_key=cast("str", fields["environment"]),
            integration_key=IntegrationKey(store),
            name=cast("str", name),
            config=config.value,
            on=cast("bool", fields.get("on", False)),
            tags=cast("tuple[str, ...]", fields.get("tags", ())),
            rotate_secrets=cast("bool", fields.get("rotate_secrets", False)),
        )
    )


def _is_filled(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_tags(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(tag, str) for tag in cast("list[object]", value)
    )


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_table(value: object) -> bool:
    return isinstance(value, dict)


_TEXT = "a non-empty string"
_ITEM_CHECKS: Mapping[str, tuple[Callable[[object], bool], str]] = {
    "project": (_is_filled, _TEXT),
    "environment": (_is_filled, _TEXT),
    "store": (_is_filled, _TEXT),
    "name": (_is_filled, _TEXT),
    "on": (_is_bool, "true or false"),
    "tags": (_is_tags, "a list of strings"),
    "rotate_secrets": (_is_bool, "true or false"),
    "config": (_is_table, "a table (an object)"),
}
_OPTIONAL = frozenset({"on", "tags", "rotate_secrets"})


def _config(
    store: str, raw: Mapping[str, object], label: str, where: str
) -> Result[StoreConfig, InputValidationError]:
    """The item's config, checked by the model of its store kind (which must be known)."""
    cls = config_class(store)
    if cls is None:
        known = ", ".join(store_kinds())
        message = f"{label}: store {store!r} is not a kind ldstore knows (known: {known})"
        return _invalid(message, f"{where}.store")
    config: dict[str, Any] = {}
    for key, value in raw.items():
        resolved = _from_environment(value, f"{label}: config.{key}")
        if isinstance(resolved, Err):
            return _invalid(resolved.error.message, f"{where}.config.{key}")
        config[key] = resolved.value
    # The mask read back from the API means "keep the stored secret": kept as written, so
    # that a plan never sends it and refuses a create (there is nothing to keep).
    masked = {
        field.name: MASKED
        for field in config_fields(cls)
        if field.secret and config.get(field.wire) == MASKED
    }
    try:
        parsed = parse_config(cls, config)
        if masked:
            kept: dict[str, Any] = {**attrs.asdict(parsed, recurse=False), **masked}
            parsed = cls(**kept)
        return Ok(parsed)
    except ConfigError as error:
        return _invalid(f"{label}: config.{error}", f"{where}.config.{error.key}")


def _from_environment(value: object, what: str) -> Result[object, InputValidationError]:
    """``{env = "NAME"}`` reads the value from the environment (keeps secrets out of files)."""
    if not isinstance(value, dict):
        return Ok(value)
    reference = cast("dict[str, object]", value)
    variable = reference.get("env")
    if set(reference) != {"env"} or not isinstance(variable, str):
        return _invalid(f'{what} must be a value or {{env = "NAME"}}', None)
    found = os.environ.get(variable)
    if found is None:
        return _invalid(f"{what}: environment variable {variable} is not set", None)
    return Ok(found)
