"""export(): the integrations that exist, as an apply file (TOML, JSON) or as Terraform.

An exported apply file plans to zero changes against the account it came from: names,
``on``, tags and every non-secret config key as the API shows them, and each secret as
an environment reference (``password = { env = "REDIS_PASSWORD_..." }``) whose name is
derived from the integration, so the same account exports the same file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import attrs

from ldstore.configs import MASKED, config_class, secret_keys
from ldstore.core import Core
from ldstore.errors import InputValidationError, LDStoreError
from ldstore.funcs import get_big_segment_store_integration, get_big_segment_store_integrations
from ldstore.models import BigSegmentStoreIntegration
from ldstore.operations import GetBigSegmentStoreIntegrationRequest
from ldstore.result import Err, Ok, Result
from ldstore.text import printable
from ldstore.workflows._desired import kind_of
from ldstore.workflows._fanout import gather

__all__ = [
    "Export",
    "ExportedIntegration",
    "export",
    "render_json",
    "render_terraform",
    "render_toml",
    "terraform_variables",
]


@attrs.frozen(kw_only=True)
class ExportedIntegration:
    """One integration as read by ID (its ``config`` included, secrets masked), and the
    environment variable named for each of its secrets (wire key -> variable)."""

    integration: BigSegmentStoreIntegration
    variables: Mapping[str, str]

    def config(self) -> dict[str, Any]:
        """The config as an apply file holds it: each secret an ``{"env": NAME}`` reference."""
        # null is "not set" (the API's default applies): left out, as TOML has no null.
        config = self.integration.config or {}
        shown: dict[str, Any] = {key: value for key, value in config.items() if value is not None}
        for key, variable in self.variables.items():
            shown[key] = {"env": variable}
        return shown


@attrs.frozen(kw_only=True)
class Export:
    """What ``export`` read, in a stable order (project, environment, kind, name, id);
    ``skipped``: integrations of a store kind this release cannot write an apply file for."""

    items: tuple[ExportedIntegration, ...]
    skipped: tuple[BigSegmentStoreIntegration, ...] = ()

    @property
    def variables(self) -> tuple[tuple[str, ExportedIntegration], ...]:
        """Every environment variable the file references, with its integration."""
        return tuple(
            (variable, item) for item in self.items for variable in item.variables.values()
        )


async def export(  # noqa: PLR0913 (the filters, each keyword-only)
    core: Core,
    *,
    project_key: str | None = None,
    environment_key: str | None = None,
    integration_key: str | None = None,
    tags: Iterable[str] = (),
    concurrency: int = 8,
) -> Result[Export, LDStoreError]:
    """``Ok(Export)`` of every integration the filters select (a tag filter: all must be
    there); each is read by ID for its config. Reads only.

    ``Err``: any error of listing or reading (an export needs all of them), or
    ``InputValidationError`` for ``concurrency < 1``.
    """
    if concurrency < 1:
        message = f"concurrency must be at least 1, not {concurrency!r}"
        return Err(InputValidationError(message=message, field="concurrency"))
    listed = await get_big_segment_store_integrations(core)
    if isinstance(listed, Err):
        return listed
    wanted_tags = set(tags)
    selected = sorted(
        (
            item
            for item in listed.value.items
            if (project_key is None or item.project_key == project_key)
            and (environment_key is None or item.environment_key == environment_key)
            and (integration_key is None or kind_of(item.integration_key) == integration_key)
            and wanted_tags <= set(item.tags)
        ),
        key=_order,
    )
    known = [item for item in selected if config_class(kind_of(item.integration_key))]
    skipped = tuple(item for item in selected if not config_class(kind_of(item.integration_key)))
    details = await gather(
        *(get_big_segment_store_integration(core, _get(item)) for item in known),
        limit=concurrency,
    )
    read: list[BigSegmentStoreIntegration] = []
    for result in details:
        if isinstance(result, Err):
            return result
        read.append(result.value)
    return Ok(Export(items=_named(read), skipped=skipped))


def _order(item: BigSegmentStoreIntegration) -> tuple[str, ...]:
    return (
        item.project_key,
        item.environment_key,
        kind_of(item.integration_key),
        item.name,
        item.id,
    )


def _get(item: BigSegmentStoreIntegration) -> GetBigSegmentStoreIntegrationRequest:
    return GetBigSegmentStoreIntegrationRequest(
        item.project_key, item.environment_key, item.integration_key, item.id
    )


def _named(integrations: Sequence[BigSegmentStoreIntegration]) -> tuple[ExportedIntegration, ...]:
    """Each integration with a variable name per secret: ``KIND_KEY_PROJECT_ENV_NAME``
    in ASCII capitals; a name another integration took first gets its ID appended."""
    taken: set[str] = set()
    exported: list[ExportedIntegration] = []
    for integration in integrations:
        kind = kind_of(integration.integration_key)
        secrets = secret_keys(kind)
        variables: dict[str, str] = {}
        for key, value in (integration.config or {}).items():
            if value is None or (key not in secrets and value != MASKED):
                continue
            base = _env_name(kind, key, integration)
            variable = base if base not in taken else f"{base}_{_upper(integration.id)}"
            taken.add(variable)
            variables[key] = variable
        exported.append(ExportedIntegration(integration=integration, variables=variables))
    return tuple(exported)


def _upper(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def _env_name(kind: str, key: str, integration: BigSegmentStoreIntegration) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)  # tlsEnabled -> tls_Enabled
    parts = [kind, words, integration.project_key, integration.environment_key, integration.name]
    return "_".join(filter(None, (_upper(part) for part in parts)))


# The apply file: what load_desired reads back.


def _item(item: ExportedIntegration) -> dict[str, Any]:
    integration = item.integration
    return {
        "project": integration.project_key,
        "environment": integration.environment_key,
        "store": kind_of(integration.integration_key),
        "name": integration.name,
        "on": integration.on,
        "tags": list(integration.tags),
        "config": item.config(),
    }


def render_json(exported: Export) -> str:
    """The apply file as JSON: ``{"integration": [...]}``, one object per integration."""
    document = {"integration": [_item(item) for item in exported.items]}
    text = json.dumps(document, indent=2, ensure_ascii=False)
    try:
        _ = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it
        text = json.dumps(document, indent=2)
    return text + "\n"


def render_toml(exported: Export) -> Result[str, InputValidationError]:
    """The apply file as TOML, a comment naming each integration's ID above its table.

    ``Err`` when a value cannot be written in TOML (a lone surrogate, which only JSON's
    escapes can carry: use JSON).
    """
    lines = [
        f"# ldstore export: {len(exported.items)} integration(s). Secrets are environment",
        "# references: set each variable before `ldstore plan` or `ldstore apply`.",
    ]
    for item in exported.items:
        wire = _item(item)
        try:
            table = [
                f"{key} = {_toml_value(wire[key])}"
                for key in ("project", "environment", "store", "name", "on", "tags")
            ]
            config = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in wire["config"].items()]
        except ValueError as error:
            message = f"integration {item.integration.id} cannot be written as TOML: {error}; use --format json"
            return Err(InputValidationError(message=message, field="format"))
        lines += ["", f"# id: {printable(item.integration.id)}", "[[integration]]", *table]
        lines += ["", "[integration.config]", *config]
    return Ok("\n".join(lines) + "\n")


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)  # TOML integers and floats, as JSON writes them
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        items = cast("list[object]", value)
        return "[" + ", ".join(_toml_value(v) for v in items) + "]"
    if isinstance(value, Mapping):
        members = cast("Mapping[object, object]", value).items()
        return (
            "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in members) + " }"
        )
    message = f"a {type(value).__name__} has no TOML form"  # null: the API sends none
    raise ValueError(message)


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's (\" \\ \b \t \n \f \r \uXXXX); TOML also forbids DEL.
    if any("\ud800" <= char <= "\udfff" for char in text):
        message = f"{printable(text)!r} holds a lone surrogate"
        raise ValueError(message)
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


# Terraform: LaunchDarkly's provider's launchdarkly_big_segment_store_integration.

_RESOURCE = "launchdarkly_big_segment_store_integration"


def render_terraform(exported: Export) -> Result[str, InputValidationError]:
    """Per integration, an ``import`` block (ID ``project/environment/kind/id``) and a
    resource with ASCII labels derived from its name, unique; config via ``jsonencode``,
    each secret a ``var.`` reference declared as a sensitive variable.

    ``Err`` when a value cannot be written in HCL (a lone surrogate).
    """
    blocks: list[str] = []
    for item, label in zip(exported.items, _labels(exported), strict=True):
        integration = item.integration
        try:
            blocks.append(_terraform_blocks(item, label))
        except ValueError as error:
            message = f"integration {integration.id} cannot be written as HCL: {error}"
            return Err(InputValidationError(message=message, field="format"))
    header = f"# ldstore export: {len(exported.items)} integration(s) for LaunchDarkly's Terraform provider.\n"
    return Ok(header + "".join(blocks))


def _terraform_blocks(item: ExportedIntegration, label: str) -> str:
    integration = item.integration
    kind = kind_of(integration.integration_key)
    address = f"{_RESOURCE}.{label}"
    import_id = f"{integration.project_key}/{integration.environment_key}/{kind}/{integration.id}"
    variables = _terraform_variables(item, label)
    config = [
        f"    {_hcl_string(key)} = "
        + (f"var.{variables[key]}" if key in variables else _hcl_value(value))
        for key, value in (integration.config or {}).items()
        if value is not None
    ]
    tags = ", ".join(_hcl_string(tag) for tag in integration.tags)
    lines = [
        "",
        f"# {printable(kind)} {printable(integration.project_key)}/{printable(integration.environment_key)} (id {printable(integration.id)})",
        "import {",
        f"  to = {address}",
        f"  id = {_hcl_string(import_id)}",
        "}",
        "",
        f'resource "{_RESOURCE}" "{label}" {{',
        f"  project_key     = {_hcl_string(integration.project_key)}",
        f"  environment_key = {_hcl_string(integration.environment_key)}",
        f"  integration_key = {_hcl_string(kind)}",
        f"  name            = {_hcl_string(integration.name)}",
        f"  on              = {'true' if integration.on else 'false'}",
        f"  tags            = [{tags}]",
        "  config = jsonencode({",
        *config,
        "  })",
        "}",
    ]
    for variable in variables.values():
        lines += [
            "",
            f'variable "{variable}" {{',
            "  type      = string",
            "  sensitive = true",
            "}",
        ]
    return "\n".join(lines) + "\n"


def terraform_variables(exported: Export) -> tuple[tuple[str, ExportedIntegration], ...]:
    """The sensitive variables ``render_terraform`` declares, with their integrations."""
    return tuple(
        (variable, item)
        for item, label in zip(exported.items, _labels(exported), strict=True)
        for variable in _terraform_variables(item, label).values()
    )


def _terraform_variables(item: ExportedIntegration, label: str) -> dict[str, str]:
    return {key: f"{label}_{_snake(key)}" for key in item.variables}


def _labels(exported: Export) -> list[str]:
    taken: set[str] = set()
    return [_label(item.integration, taken) for item in exported.items]


def _snake(key: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()


def _label(integration: BigSegmentStoreIntegration, taken: set[str]) -> str:
    """An HCL identifier from the kind and name, lower-case ASCII, unique in ``taken``."""
    words = re.sub(r"[^a-z0-9]+", "_", integration.name.lower()).strip("_")
    base = f"{kind_of(integration.integration_key)}_{words}".strip("_")
    base = re.sub(r"[^a-z0-9_]+", "_", base) or "integration"
    if not base[0].isalpha():
        base = f"i_{base}"
    label, number = base, 2
    while label in taken:
        label, number = f"{base}_{number}", number + 1
    taken.add(label)
    return label


def _hcl_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return _hcl_string(value)
    if isinstance(value, list):
        items = cast("list[object]", value)
        return "[" + ", ".join(_hcl_value(v) for v in items) + "]"
    if isinstance(value, Mapping):
        members = cast("Mapping[object, object]", value).items()
        return (
            "{ " + ", ".join(f"{_hcl_string(str(k))} = {_hcl_value(v)}" for k, v in members) + " }"
        )
    message = f"a {type(value).__name__} has no HCL form"
    raise ValueError(message)


_HCL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _hcl_string(text: str) -> str:
    """A quoted HCL string (HCL files are UTF-8): quotes, backslashes and control
    characters escaped, and ``${``/``%{`` doubled so that no name is read as a template."""
    out: list[str] = []
    for index, char in enumerate(text):
        code = ord(char)
        if char in _HCL_ESCAPES:
            out.append(_HCL_ESCAPES[char])
        elif char in "$%" and text[index + 1 : index + 2] == "{":
            out.append(char * 2)
        elif code < 0x20 or 0x7F <= code <= 0x9F:  # noqa: PLR2004 (C0, DEL and C1 controls)
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:  # noqa: PLR2004 (no UTF-8 form)
            message = f"{printable(text)!r} holds a lone surrogate"
            raise ValueError(message)
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
