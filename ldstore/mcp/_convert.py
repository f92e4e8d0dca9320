"""From tool arguments to ldstore's values, and from Results to MCP tool results."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

from mcp.types import CallToolResult, TextContent

from ldstore import text
from ldstore.errors import InputValidationError, LDStoreError, RateLimitedError
from ldstore.models import ConfigError, TypedConfig, config_class, parse_config
from ldstore.patch import ABSENT, PatchOperation
from ldstore.result import Err, Ok, Result
from ldstore.text import printable
from ldstore.wire import error_to_wire
from ldstore.workflows import DesiredIntegration

from ._shapes import DesiredItem, PatchOperationArg

__all__ = [
    "desired_integrations",
    "failure",
    "patch_operations",
    "redact",
    "success",
    "typed_config",
]


def _invalid(message: str, field: str) -> Err[InputValidationError]:
    return Err(InputValidationError(message=message, field=field))


def typed_config(
    store: str, config: Mapping[str, object], where: str
) -> Result[TypedConfig, InputValidationError]:
    """``config`` (the API's keys) as a validated ``RedisConfig`` or ``DynamoDBConfig``.

    ``Err(InputValidationError)`` naming the key (``where`` + ``.port``) when a key is
    unknown, missing or invalid: the models' own description of each setting decides
    (``ldstore.models.parse_config``), as for the CLI and the apply file.
    """
    cls = config_class(store)
    if cls is None:  # pragma: no cover - the input schema allows only known kinds
        return _invalid(f"{where}: unknown store kind {store!r}", where)
    try:
        return Ok(parse_config(cls, config))
    except ConfigError as error:
        field = where if error.key is None else f"{where}.{error.key}"
        text = str(error)
        # The models' messages start with the wire key: say where it sits.
        if error.key and text.startswith(error.key):
            text = text[len(error.key) :]
        return _invalid(f"{field}{text if text.startswith(' ') else ': ' + text}", field)


def desired_integrations(
    items: Sequence[DesiredItem],
) -> Result[list[DesiredIntegration], InputValidationError]:
    """The ``desired`` argument as ``DesiredIntegration`` values, each config validated."""
    desired: list[DesiredIntegration] = []
    for index, item in enumerate(items):
        where = f"desired[{index}]"
        config = typed_config(item.store, item.config, f"{where}.config")
        if isinstance(config, Err):
            return config
        try:
            desired.append(
                DesiredIntegration(
                    project_key=item.project,
                    environment_key=item.environment,
                    integration_key=item.store,
                    name=item.name,
                    config=config.value,
                    on=item.on,
                    tags=tuple(item.tags),
                    rotate_secrets=item.rotate_secrets,
                )
            )
        except (TypeError, ValueError) as error:  # pragma: no cover - the schema checks first
            return _invalid(f"{where}: {error}", where)
    return Ok(desired)


def patch_operations(
    operations: Sequence[PatchOperationArg], store: str
) -> Result[list[PatchOperation], InputValidationError]:
    """The ``patch`` argument as ``PatchOperation`` values, checked by ``ldstore.patch``.

    A Redis ``/config/port`` given as a number is refused: the API wants a string.
    """
    built: list[PatchOperation] = []
    for index, operation in enumerate(operations):
        where = f"patch[{index}]"
        value = operation.value if "value" in operation.model_fields_set else ABSENT
        if store == "redis" and operation.path == "/config/port" and isinstance(value, int):
            message = f'{where}.value: a Redis port is a string on the wire: "{value}", not {value}'
            return _invalid(message, f"{where}.value")
        try:
            built.append(
                PatchOperation(
                    op=operation.op, path=operation.path, value=value, from_=operation.from_
                )
            )
        except (TypeError, ValueError) as error:
            return _invalid(f"{where}: {error}", where)
    return Ok(built)


# Results.
#
# Every result carries its JSON in the text block too (the spec's SHOULD, for hosts that
# hand the model only text): the first line says what happened, the rest is the JSON.
# Error results carry no structuredContent at all: the TypeScript SDK (1.x), under most
# hosts, checks structuredContent against the tool's outputSchema even on isError
# results, and {"error": ...} fits no tool's output. Widening every output schema to
# admit the error shape would cost each tool an anyOf (tokens in every tools/list) and
# tell the model that a success may look like an error; leaving it off costs nothing,
# since the same JSON is in the text.


def redact(value: Any, secrets: Collection[str]) -> Any:
    """``value`` (JSON-ready data) with every form of every secret replaced, however deep.

    Keys too: a key is server data like any other.
    """
    if isinstance(value, str):
        return text.redact(value, secrets) if secrets else value
    if isinstance(value, Mapping):
        mapping = cast("Mapping[str, Any]", value)
        return {redact(key, secrets): redact(item, secrets) for key, item in mapping.items()}
    if isinstance(value, list | tuple):
        return [redact(item, secrets) for item in cast("Sequence[Any]", value)]
    return value


def _content(summary: str, document: Mapping[str, Any], secrets: Collection[str]) -> str:
    # The summary stays one line (printable escapes newlines and what a terminal would
    # obey); the JSON is exact and ASCII, so it hides nothing a display could reorder.
    line = printable(text.redact(summary, secrets) if secrets else summary)
    return f"{line}\n{json.dumps(document, separators=(',', ':'))}"


def success(
    structured: Mapping[str, Any], summary: str, secrets: Collection[str]
) -> CallToolResult:
    """A successful result: the API's JSON as ``structuredContent``, and in the text block
    after a one-line summary."""
    document = redact(structured, secrets)
    return CallToolResult(
        content=[TextContent(type="text", text=_content(summary, document, secrets))],
        structured_content=document,
    )


def failure(
    error: LDStoreError,
    secrets: Collection[str],
    *,
    extra: Mapping[str, Any] | None = None,
    summary: str | None = None,
) -> CallToolResult:
    """A failed result: ``isError``, and a text block holding one line and the JSON
    ``{"error": {...}}`` (plus ``extra``); no ``structuredContent`` (see above)."""
    line = summary or f"{type(error).__name__}: {' '.join(str(error).split())}"
    if isinstance(error, RateLimitedError) and error.retry_after is not None:
        line += f" (retry in {error.retry_after:g} s)"
    document = redact({"error": error_to_wire(error), **(extra or {})}, secrets)
    return CallToolResult(
        is_error=True,
        content=[TextContent(type="text", text=_content(line, document, secrets))],
    )
