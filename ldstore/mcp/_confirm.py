"""What a user must confirm before a tool sends it, and asking them (MCP elicitation).

The server decides, never the model: no argument skips the question. Deleting an
integration, deleting with ``prune``, switching a store off and changing its connection
(anything under ``/config``) cannot be undone by the agent that did it: SDKs lose big
segment updates, and a password the API never shows back is gone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeAlias

import attrs
from mcp.server.elicitation import AcceptedElicitation, render_elicitation_schema
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp.types import (
    ClientCapabilities,
    ElicitationCapability,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field

from ldstore.errors import LDStoreError
from ldstore.patch import PatchOperation
from ldstore.text import printable
from ldstore.workflows import Plan, PlanItem

__all__ = [
    "ALLOW_UNCONFIRMED",
    "Answer",
    "Confirmation",
    "ConfirmationRequiredError",
    "ask",
    "can_ask",
    "patch_reasons",
    "plan_reasons",
    "refused",
]

ALLOW_UNCONFIRMED = "--allow-unconfirmed"
Answer: TypeAlias = Literal["accept", "decline", "cancel", "unsupported"]

_QUESTION = "confirm"  # the key of the one input request
# Signs the question sent under the 2026-07-28 protocol, so an answer counts only for
# the question this process asked (a client cannot pre-seed a yes). One per process.
_STATE_KEY = secrets.token_bytes(32)

# Paths whose change ends or redirects syncing. "" is the whole document.
_CONNECTION = "/config"
_SWITCH = "/on"


@attrs.frozen(kw_only=True)
class ConfirmationRequiredError(LDStoreError):
    """The call needs the user's confirmation, and the client cannot ask for it.

    Nothing was sent. The operator may start the server with ``--allow-unconfirmed``.
    """


class Confirmation(BaseModel):
    """The form a user answers: one box to tick."""

    confirm: bool = Field(
        title="Go ahead", description="Tick to go ahead; nothing is sent otherwise."
    )


def _under(path: str | None, prefix: str) -> bool:
    return path is not None and (path in ("", prefix) or path.startswith(prefix + "/"))


def patch_reasons(operations: Iterable[PatchOperation]) -> list[str]:
    """Why a patch needs confirming, in words (empty when it need not be).

    A change under ``/config`` (also a ``move`` or ``copy`` from it, or a change of the
    whole document) changes the store's connection; ``/on`` set to anything but ``true``
    (or removed, moved away, or copied over) switches syncing off. ``test`` changes nothing.
    """
    reasons: list[str] = []
    for operation in operations:
        if operation.op == "test":
            continue
        if _under(operation.path, _CONNECTION) or _under(operation.from_, _CONNECTION):
            reason = f"changes the store's connection ({operation.op} {operation.path or '/'})"
        elif (_under(operation.path, _SWITCH) or _under(operation.from_, _SWITCH)) and not (
            operation.op in ("add", "replace") and operation.value is True
        ):
            reason = "switches syncing off: SDKs reading the store stop getting updates"
        else:
            continue
        if reason not in reasons:
            reasons.append(reason)
    return reasons


def plan_reasons(plan: Plan) -> list[str]:
    """Why applying ``plan`` needs confirming: each deletion, and each update whose patch
    would need confirming on its own."""
    reasons: list[str] = []
    for item in plan.items:
        if item.action == "delete":
            reasons.append(f"deletes {_named(item)}")
        elif item.action == "update":
            reasons.extend(f"{_named(item)}: {why}" for why in patch_reasons(item.patch))
    return reasons


def _named(item: PlanItem) -> str:
    ident = f" ({item.integration_id})" if item.integration_id else ""
    where = f"{item.integration_key} {item.project_key}/{item.environment_key}"
    return printable(f"{where} {item.name!r}{ident}")


def can_ask(ctx: Context[Any, Any]) -> bool:
    """Whether the client declared the elicitation capability (a server must not assume it)."""
    wanted = ClientCapabilities(elicitation=ElicitationCapability())
    return ctx.request_context.session.check_client_capability(wanted)


async def ask(
    ctx: Context[Any, Any], what: str, details: Sequence[str]
) -> Answer | InputRequiredResult:
    """Ask the user to confirm ``what`` (one line) with ``details`` (one line each).

    ``"accept"`` only for an accepted form with the box ticked; an accepted form left
    unticked counts as ``"decline"``; ``"unsupported"`` when the client cannot ask.
    Under the 2026-07-28 protocol the question is an ``InputRequiredResult`` to return:
    the client asks its user and calls again with the answer, which is taken only with
    the ``request_state`` this server signed for the same question.
    """
    # One line each, escaped: keys and names come from the model and the API.
    lines = [printable(what), *(f"- {printable(line)}" for line in details), _UNDONE]
    message = "\n".join(lines)
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return _ask_in_rounds(ctx, message)
    if not can_ask(ctx):
        return "unsupported"
    return await _ask_by_request(ctx, message)


async def _ask_by_request(ctx: Context[Any, Any], message: str) -> Answer:
    try:
        elicited = await ctx.elicit(message, Confirmation)
    except NoBackChannelError:  # a transport with no way to ask
        return "unsupported"
    except MCPError:  # the client failed to ask: no answer is no yes
        return "cancel"
    except ValueError:  # accepted with content off the form: not a yes
        return "decline"
    if isinstance(elicited, AcceptedElicitation):
        return "accept" if elicited.data.confirm is True else "decline"
    return elicited.action


def _ask_in_rounds(ctx: Context[Any, Any], message: str) -> Answer | InputRequiredResult:
    state = hmac.new(_STATE_KEY, message.encode(), hashlib.sha256).hexdigest()
    response = (ctx.input_responses or {}).get(_QUESTION)
    if isinstance(response, ElicitResult) and hmac.compare_digest(ctx.request_state or "", state):
        if response.action != "accept":
            return response.action
        confirmed = (response.content or {}).get("confirm")
        return "accept" if confirmed is True else "decline"
    if not can_ask(ctx):
        return "unsupported"
    form = ElicitRequestFormParams(
        message=message, requested_schema=render_elicitation_schema(Confirmation)
    )
    return InputRequiredResult(
        input_requests={_QUESTION: ElicitRequest(params=form)}, request_state=state
    )


_UNDONE = "This cannot be undone by the agent. Tick the box and accept to go ahead."


def refused(tool: str) -> ConfirmationRequiredError:
    """The error for a client that cannot ask its user."""
    message = (
        f"{tool} needs the user's confirmation, and this client does not support MCP "
        f"elicitation; nothing was sent. The operator may start the server with "
        f"`ldstore mcp {ALLOW_UNCONFIRMED}` to let the agent do this unconfirmed."
    )
    return ConfirmationRequiredError(message=message)
