"""What LaunchDarkly says against what the store holds: the prefix, and canary memberships.

A canary is a segment and a context (``SEGMENT_KEY:CONTEXT_KEY``). The API gives the
segment's ``generation`` and whether the context is included or excluded; the store
holds refs ``<segmentKey>.g<generation>`` in the context's include and exclude sets
(``launchdarkly-api.md``). They agree, or the store has one of four named faults:

- ``missing include``: the API includes the context; the store holds no include for the
  segment at all;
- ``stale generation``: the store holds only an older ``.g<n>`` of the segment (deleted
  and re-created, and not yet synchronized);
- ``include where the API says excluded``: the store includes the current ref;
- ``ref in both sets``: the current ref is in the context's include and exclude sets.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from ldstore.doctor._report import Check, CheckStatus, MemberSets, StoreReport, shown
from ldstore.errors import LDStoreError
from ldstore.models import BigSegmentMembership, Segment
from ldstore.operations import (
    GetBigSegmentMembershipRequest,
    GetBigSegmentStoreIntegrationRequest,
    GetEnvironmentRequest,
    GetSegmentRequest,
)
from ldstore.result import Err, Ok, Result

if TYPE_CHECKING:  # the Core loads aiohttp; `ldstore doctor --help` should not
    from ldstore.core import Core

__all__ = ["Canary", "canary_check", "check_canaries", "client_side_id", "diagnose_against_api"]

MISSING_INCLUDE = "missing include"
STALE_GENERATION = "stale generation"
INCLUDED_BUT_EXCLUDED = "include where the API says excluded"
IN_BOTH_SETS = "ref in both sets"


@attrs.frozen
class Canary:
    """A segment and a context whose membership is checked end to end."""

    segment_key: str
    context_key: str

    @classmethod
    def parse(cls, text: str) -> Canary:
        """``SEGMENT_KEY:CONTEXT_KEY`` (split at the first ``:``; a context key may hold more);
        ``ValueError`` when either side is empty."""
        segment_key, colon, context_key = text.partition(":")
        if not colon or not segment_key or not context_key:
            msg = f"a canary is SEGMENT_KEY:CONTEXT_KEY, not {text!r}"
            raise ValueError(msg)
        return cls(segment_key, context_key)


async def client_side_id(
    core: Core, project_key: str, environment_key: str
) -> Result[str, LDStoreError]:
    """``Ok`` with the environment's client-side ID: a LaunchDarkly-managed store's prefix.

    ``Err``: the errors of ``ldstore.funcs.get_environment``.
    """
    from ldstore.funcs import get_environment  # noqa: PLC0415 - loads the transport

    request = GetEnvironmentRequest(project_key=project_key, environment_key=environment_key)
    return (await get_environment(core, request)).map(lambda environment: environment.id)


async def check_canaries(
    core: Core,
    project_key: str,
    environment_key: str,
    canaries: Iterable[Canary],
    report: StoreReport,
) -> StoreReport:
    """``report`` with one ``canary`` check per canary (an API error is that canary's failure).

    The report must have read each canary's context (``context_keys``): its sets are in
    ``report.member_sets``.
    """
    from ldstore.funcs import get_big_segment_membership, get_segment  # noqa: PLC0415

    checks: list[Check] = []
    for canary in canaries:
        name = f"canary {canary.segment_key}:{canary.context_key}"
        segment = await get_segment(
            core,
            GetSegmentRequest(
                project_key=project_key,
                environment_key=environment_key,
                segment_key=canary.segment_key,
            ),
        )
        if isinstance(segment, Err):
            checks.append(_api_failed(name, "the segment", segment.error))
            continue
        if not segment.value.unbounded:
            detail = f"{canary.segment_key!r} is a standard segment, not a big segment"
            checks.append(Check(name, CheckStatus.FAILURE, detail))
            continue
        member = await get_big_segment_membership(
            core,
            GetBigSegmentMembershipRequest(
                project_key=project_key,
                environment_key=environment_key,
                segment_key=canary.segment_key,
                context_key=canary.context_key,
            ),
        )
        if isinstance(member, Err):
            checks.append(_api_failed(name, "the membership", member.error))
            continue
        sets = report.member_sets.get(canary.context_key, MemberSets())
        checks.append(canary_check(name, segment.value, member.value, sets))
    return attrs.evolve(report, checks=(*report.checks, *checks))


def canary_check(
    name: str, segment: Segment, api: BigSegmentMembership, store: MemberSets
) -> Check:
    """Agreement, or the fault (named first in the detail) between the API and the store."""
    ref = segment.ref
    says = "included" if api.included else "excluded" if api.excluded else "in neither set"
    older = _older_refs(segment, store.included | store.excluded)
    if ref in store.included and ref in store.excluded:
        return _fault(name, IN_BOTH_SETS, f"{ref} is in the store's include and exclude sets")
    if api.included and ref not in store.included:
        if older:
            detail = f"the API says included in {ref}; the store holds only {shown(older)}"
            return _fault(name, STALE_GENERATION, detail)
        return _fault(name, MISSING_INCLUDE, f"the API says included in {ref}; the store does not")
    if not api.included and ref in store.included:
        return _fault(
            name, INCLUDED_BUT_EXCLUDED, f"the API says {says} for {ref}; the store includes it"
        )
    if api.excluded and ref not in store.excluded and older:
        detail = f"the API says excluded from {ref}; the store holds only {shown(older)}"
        return _fault(name, STALE_GENERATION, detail)
    return Check(name, CheckStatus.OK, f"the API and the store agree: {says} ({ref})")


def _fault(name: str, fault: str, detail: str) -> Check:
    return Check(name, CheckStatus.FAILURE, f"{fault}: {detail}")


def _older_refs(segment: Segment, refs: Iterable[str]) -> Sequence[str]:
    pattern = re.compile(rf"{re.escape(segment.key)}\.g([0-9]+)", flags=re.DOTALL)
    found = [(ref, pattern.fullmatch(ref)) for ref in refs]
    return sorted(ref for ref, match in found if match and int(match[1]) < segment.generation)


def _api_failed(name: str, what: str, error: LDStoreError) -> Check:
    return Check(
        name,
        CheckStatus.FAILURE,
        f"LaunchDarkly did not answer {what}: {type(error).__name__}: {error}",
    )


async def diagnose_against_api(  # noqa: PLR0913 - what the API is asked, all keyword-only
    diagnose: Callable[..., Awaitable[Result[StoreReport, LDStoreError]]],
    core: Core,
    project_key: str,
    environment_key: str,
    *,
    integration: GetBigSegmentStoreIntegrationRequest | None = None,
    canaries: Sequence[Canary] = (),
    context_keys: Sequence[str] = (),
    stale_after: float = 120.0,
) -> Result[StoreReport, LDStoreError]:
    """The doctor with LaunchDarkly's API beside the store, as ``ldstore doctor`` runs it.

    ``diagnose`` is ``diagnose_redis`` or ``diagnose_dynamodb`` with the store's options
    bound (``functools.partial``); it is called with ``expected_prefix`` (the
    environment's client-side ID) and ``context_keys`` (with the canaries' contexts).
    The report gains ``prefix``, then (with ``integration``) ``api status`` and ``api
    agrees with store``, then one ``canary`` check per canary. An API error is a failed
    check, never the end of the report; ``Err`` only for what ``diagnose`` returns.
    """
    from ldstore.doctor._crosscheck import cross_check  # noqa: PLC0415 - imports this module's peers

    expected: str | None = None
    failed: Check | None = None
    match await client_side_id(core, project_key, environment_key):
        case Ok(identifier):
            expected = identifier
        case Err(error):  # one failed line; the store is still diagnosed
            failed = _api_failed("prefix", "the environment", error)
    contexts = list(dict.fromkeys([*context_keys, *(canary.context_key for canary in canaries)]))
    result = await diagnose(expected_prefix=expected, context_keys=contexts)
    if isinstance(result, Err):
        return result
    found = result.value
    if failed is not None:
        found = attrs.evolve(found, checks=(*found.checks, failed))
    if integration is not None:
        match await cross_check(core, integration, found, stale_after=stale_after):
            case Ok(found):
                pass
            case Err(error):  # one failed line beside the store's checks, not the end
                failure = _api_failed("api status", "the integration's status", error)
                found = attrs.evolve(found, checks=(*found.checks, failure))
    if canaries:
        found = await check_canaries(core, project_key, environment_key, canaries, found)
    return Ok(found)
