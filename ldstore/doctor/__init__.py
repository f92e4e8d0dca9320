"""Read a big segment store itself, and say whether LaunchDarkly's server-side SDKs will trust it.

The API says whether LaunchDarkly *thinks* a store is synced; the doctor reads the Redis
or DynamoDB store the SDKs read, and only reads::

    match await diagnose_redis("redis://localhost:6379/0", context_keys=["user-1"]):
        case Ok(report):
            for check in report.checks:
                print(check.status, check.name, check.detail)
            print("healthy" if report.healthy else "unhealthy")
        case Err(error):  # StoreUnreachableError: refused, timed out, credentials refused
            print(error)

Needs the ``redis`` or ``dynamodb`` extra; importing this module needs neither.
"""

from ldstore.doctor._canary import (
    Canary,
    canary_check,
    check_canaries,
    client_side_id,
    diagnose_against_api,
)
from ldstore.doctor._crosscheck import compare_with_integration, cross_check
from ldstore.doctor._dynamodb import diagnose_dynamodb
from ldstore.doctor._redis import RedisTLS, diagnose_redis
from ldstore.doctor._report import (
    Check,
    CheckStatus,
    MemberSets,
    MissingExtraError,
    StoreReport,
    StoreUnreachableError,
    context_hash,
    redact_url,
    render_report,
    url_has_password,
)

__all__ = [
    "Canary",
    "Check",
    "CheckStatus",
    "MemberSets",
    "MissingExtraError",
    "RedisTLS",
    "StoreReport",
    "StoreUnreachableError",
    "canary_check",
    "check_canaries",
    "client_side_id",
    "compare_with_integration",
    "context_hash",
    "cross_check",
    "diagnose_against_api",
    "diagnose_dynamodb",
    "diagnose_redis",
    "redact_url",
    "render_report",
    "url_has_password",
]
