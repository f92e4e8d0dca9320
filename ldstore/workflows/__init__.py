"""Steps beyond one call, composed from the funcs and returning Results like them.

- ``wait_until_available``: poll an integration until LaunchDarkly has synced its store.
- ``load_desired``, ``plan``, ``apply``: declare the integrations that should exist,
  see what would change, and make it so (idempotent; secrets are never sent back).
- ``export``, ``render_toml``/``render_json``/``render_terraform``: what exists, as an
  apply file that plans to zero changes (secrets as environment references), or as
  Terraform.
- ``gather``: run many calls concurrently, their Results in order. Every call on one
  ``Core`` shares its limiter (``max_in_flight`` and the rate-limit window).

>>> desired = load_desired("stores.toml").unwrap()
>>> match await apply(core, desired):
...     case Ok(report) if report.ok:
...         print("applied")
...     case Ok(report):
...         for outcome in report.failed:
...             print(outcome.item, outcome.result.error)
...     case Err(error):
...         print(f"could not plan: {error}")
"""

from ldstore.workflows._desired import MASKED, SECRET_KEYS, DesiredIntegration, load_desired
from ldstore.workflows._export import (
    Export,
    ExportedIntegration,
    export,
    render_json,
    render_terraform,
    render_toml,
    terraform_variables,
)
from ldstore.workflows._fanout import gather
from ldstore.workflows._plan import Action, ApplyReport, ItemOutcome, Plan, PlanItem, apply, plan
from ldstore.workflows._wait import (
    NotAvailableError,
    NotAvailableReason,
    is_ready,
    wait_until_available,
)

__all__ = [
    "MASKED",
    "SECRET_KEYS",
    "Action",
    "ApplyReport",
    "DesiredIntegration",
    "Export",
    "ExportedIntegration",
    "ItemOutcome",
    "NotAvailableError",
    "NotAvailableReason",
    "Plan",
    "PlanItem",
    "apply",
    "export",
    "gather",
    "is_ready",
    "load_desired",
    "plan",
    "render_json",
    "render_terraform",
    "render_toml",
    "terraform_variables",
    "wait_until_available",
]
