"""The API's JSON shape of ldstore's values, for code outside the SDK (CLI, agents, tools).

The one converter lives in ``ldstore._codec``; this module is its public face, so that the
command line, the MCP server and the benchmarks print exactly what the API sends. It also
holds the one machine-readable shape of an error, a plan and an apply's outcomes, which
``ldstore --output json`` and ``ldstore mcp`` both report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ldstore import _codec
from ldstore.configs import redact
from ldstore.errors import (
    APIError,
    InputValidationError,
    LDStoreError,
    RateLimitedError,
    ResponseValidationError,
)
from ldstore.result import Err, Ok

if TYPE_CHECKING:  # the workflows import the funcs: keep this module light for its users
    from ldstore.patch import PatchOperation
    from ldstore.workflows import ApplyReport, Plan, PlanItem

__all__ = [
    "PLAN_FORMAT_VERSION",
    "error_to_wire",
    "from_wire",
    "outcomes_to_wire",
    "plan_document",
    "plan_to_wire",
    "to_wire",
]

T = TypeVar("T")


def to_wire(value: object) -> Any:
    """``value`` (a model, request body or patch) as JSON-ready data, with the API's names."""
    return _codec.converter.unstructure(value)


def from_wire(data: object, cls: type[T]) -> T:
    """A model from JSON-ready data in the API's shape; raises ``ValueError``/``TypeError``
    (or cattrs' errors) when it does not fit."""
    return _codec.converter.structure(data, cls)


def error_to_wire(error: LDStoreError) -> dict[str, Any]:
    """``{"kind", "status", "code", "message", "id", "retry_after", "field"}`` for machines.

    ``kind`` is the ldstore error class, so a caller can tell a 404 from a 429 from bad
    input; the rest is ``None`` where it does not apply.
    """
    api = error if isinstance(error, APIError) else None
    return {
        "kind": type(error).__name__,
        "status": None if api is None else api.status_code,
        "code": None if api is None else api.code,
        "message": error.message,
        "id": None if api is None else api.id,
        "retry_after": error.retry_after if isinstance(error, RateLimitedError) else None,
        "field": error.field
        if isinstance(error, InputValidationError | ResponseValidationError)
        else None,
    }


def plan_to_wire(plan: Plan) -> list[dict[str, Any]]:
    """A plan's items as JSON: action, scope, name, ``_id``, changes and the patch (secrets
    masked: a rotated secret is sent, never shown)."""
    return [_step(item) for item in plan.items]


PLAN_FORMAT_VERSION = "1"
"""The version of ``plan_document``'s shape; a change that breaks its readers bumps it."""

_PLAN_ACTIONS = {"create": "create", "update": "update", "delete": "delete", "unchanged": "no-op"}


def plan_document(plan: Plan) -> dict[str, Any]:
    """The documented, stable plan (``ldstore plan --output json``), secrets masked::

        {"format_version": "1", "changes": [{"action", "project", "environment", "kind",
          "id", "name", "before", "after", "patch"}, ...]}

    One change per plan item, in the plan's order. ``action`` is ``create``, ``update``,
    ``delete`` or ``no-op``; ``id`` is ``None`` for a create; ``before`` is the
    integration as it is (``name``, ``on``, ``tags``, ``config``; ``None`` for a create),
    ``after`` as it will be (``None`` for a delete); ``patch`` is the JSON Patch an update
    sends (``[]`` otherwise). A secret is ``"********"`` in ``before``, ``after`` and
    ``patch`` alike.
    """
    changes: list[dict[str, Any]] = []
    for item in plan.items:
        before = None
        if item.current is not None:
            current = item.current
            before = {
                "name": current.name,
                "on": current.on,
                "tags": list(current.tags),
                "config": redact(dict(current.config)) if current.config is not None else None,
            }
        after = None
        if item.desired is not None and item.action != "delete":
            desired = item.desired
            after = {
                "name": desired.name,
                "on": desired.on,
                "tags": list(desired.tags),
                "config": redact(to_wire(desired.config)),
            }
        changes.append(
            {
                "action": _PLAN_ACTIONS[item.action],
                "project": item.project_key,
                "environment": item.environment_key,
                "kind": str(item.integration_key),
                "id": item.integration_id,
                "name": item.name,
                "before": before,
                "after": after,
                "patch": [_operation(operation) for operation in item.patch],
            }
        )
    return {"format_version": PLAN_FORMAT_VERSION, "changes": changes}


def outcomes_to_wire(report: ApplyReport) -> list[dict[str, Any]]:
    """Each applied item as JSON: the plan item's scope, ``ok``, and the integration (API
    shape) or the error (``error_to_wire``)."""
    outcomes: list[dict[str, Any]] = []
    for outcome in report.items:
        entry = _scope(outcome.item)
        match outcome.result:
            case Ok(value):
                entry.update(ok=True, integration=None if value is None else to_wire(value))
                entry["error"] = None
                if value is not None:
                    entry["_id"] = value.id  # a create's new ID
            case Err(error):
                entry.update(ok=False, integration=None, error=error_to_wire(error))
        outcomes.append(entry)
    return outcomes


def _scope(item: PlanItem) -> dict[str, Any]:
    return {
        "action": item.action,
        "projectKey": item.project_key,
        "environmentKey": item.environment_key,
        "integrationKey": str(item.integration_key),
        "name": item.name,
        "_id": item.integration_id,
    }


def _step(item: PlanItem) -> dict[str, Any]:
    return {
        **_scope(item),
        "changes": list(item.changes),
        "patch": [_operation(operation) for operation in item.patch],
    }


def _operation(operation: PatchOperation) -> Any:
    return to_wire(operation.redacted())
