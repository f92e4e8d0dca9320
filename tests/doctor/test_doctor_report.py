"""The doctor's pure parts: secrets masked, the context hash, the report's JSON, the cross-check."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from ldclient.impl.big_segments_common import _hash_for_user_key  # pyright: ignore[reportPrivateUsage]

from ldstore.doctor import (
    Check,
    CheckStatus,
    StoreReport,
    compare_with_integration,
    context_hash,
    redact_url,
)
from ldstore.doctor._report import (
    freshness,
    from_millis,
    is_segment_ref,
    parse_millis,
    scrub,
    url_secrets,
)
from ldstore.errors import NetworkError
from ldstore.models import BigSegmentStoreIntegration
from ldstore.text import secret_forms
from ldstore.wire import from_wire

from .support import require

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
_LINK = {"href": "/api/v2/x", "type": "application/json"}
# Passwords as a URL carries them: anything but the characters that end user info.
PASSWORDS = st.text(
    alphabet=st.characters(blacklist_characters="@/?#[]:", blacklist_categories=("Cs", "Cc")),
    min_size=1,
)


@given(PASSWORDS)
def test_a_url_password_is_always_masked(password: str) -> None:
    """Whatever the password, the redacted URL is the same URL with [REDACTED] in its place."""
    _ = assume(not any(form in "redis://user:@host:6379/0" for form in secret_forms(password)))

    assert redact_url(f"redis://user:{password}@host:6379/0") == (
        "redis://user:[REDACTED]@host:6379/0"
    )
    assert redact_url(f"rediss://:{password}@host/1") == "rediss://:[REDACTED]@host/1"


def test_other_secrets_in_urls_are_masked() -> None:
    """A password query parameter is masked; a user name, host and port stay readable."""
    assert redact_url("unix:///run/redis.sock?db=2&password=s3cret") == (
        "unix:///run/redis.sock?db=2&password=[REDACTED]"
    )
    assert redact_url("redis://user-only@host") == "redis://user-only@host"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"
    assert redact_url("unix://u:pw-secret@/run/redis.sock") == "unix://u:[REDACTED]@/run/redis.sock"


@pytest.mark.parametrize(
    "spelling", ["p%40ss%3Aw0rd", "p%40ss%3aw0rd", "p@ss:w0rd", "p%2540ss", "cA%2Bb%20c"]
)
def test_a_percent_encoded_password_is_masked_in_every_form(spelling: str) -> None:
    """Class 7: the URL's password, raw or decoded, is masked in the URL and in any text."""
    url = f"redis://ld:{spelling}@host:6379/0"
    decoded = unquote(spelling)
    echoed = f"ERR user ld: wrong password {decoded} (sent as {spelling})"

    masked = redact_url(url)
    scrubbed = scrub(echoed, url_secrets(url))

    assert masked == "redis://ld:[REDACTED]@host:6379/0"
    for text in (masked, scrubbed):
        assert decoded not in text
        assert spelling not in text
    assert scrubbed.startswith("ERR user ld: wrong password [REDACTED]")


@given(st.text())
def test_the_context_hash_is_the_sdks(key: str) -> None:
    """base64(SHA-256(key)) exactly as LaunchDarkly's SDK computes it."""
    assert context_hash(key) == _hash_for_user_key(key)


def test_the_context_hash_of_a_known_key() -> None:
    """A fixed vector, so the property above cannot pass by both sides changing."""
    assert context_hash("user-1") == "xsKJ5J6cBbIUWGA4e3O8sY30P7CaHkpKlxPHbIi7VBs="


def _report(
    *checks: Check, synchronized_on: datetime | None = NOW, stale: bool = False
) -> StoreReport:
    return StoreReport(
        store="redis",
        location="redis://host:6379/0",
        prefix="launchdarkly",
        synchronized_on=synchronized_on,
        age_seconds=None if synchronized_on is None else 1.0,
        stale=stale,
        checks=checks,
    )


def test_healthy_means_no_failure() -> None:
    """Warnings do not make a store unhealthy; one failure does."""
    ok = Check("a", CheckStatus.OK, "")
    warning = Check("b", CheckStatus.WARNING, "")
    failure = Check("c", CheckStatus.FAILURE, "")

    assert _report(ok, warning).healthy
    assert not _report(ok, failure).healthy
    assert _report(ok, failure).to_json()["healthy"] is False


def test_the_json_of_a_report_without_metadata() -> None:
    """No metadata: synchronized_on and age_seconds are null, stale is true."""
    document = _report(synchronized_on=None, stale=True).to_json()

    assert document == {
        "store": "redis",
        "prefix": "launchdarkly",
        "synchronized_on": None,
        "age_seconds": None,
        "stale": True,
        "healthy": True,
        "checks": [],
        "memberships": {},
    }


def _integration(**status: Any) -> BigSegmentStoreIntegration:
    wire: dict[str, Any] = {
        "_links": {"self": _LINK, "parent": _LINK, "project": _LINK, "environment": _LINK},
        "_id": "abc123",
        "integrationKey": "redis",
        "projectKey": "default",
        "environmentKey": "production",
        "on": True,
        "tags": [],
        "name": "Prod",
        "version": 1,
        "_status": status,
    }
    return from_wire(wire, BigSegmentStoreIntegration)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("status", "stale", "store_sync", "expected"),
    [
        # Both fresh, same sync: agreement.
        (
            {"available": True, "potentiallyStale": False, "lastSync": _millis(NOW)},
            False,
            NOW,
            "ok",
        ),
        # LaunchDarkly says available, the store is stale: a failure.
        ({"available": True, "potentiallyStale": False}, True, NOW, "failure"),
        # LaunchDarkly says potentially stale, the store is fresh: a warning.
        ({"available": True, "potentiallyStale": True}, False, NOW, "warning"),
        # Both unavailable/stale: they agree (the store's own checks fail it).
        ({"available": False}, True, None, "ok"),
        # Last syncs an hour apart: a failure, whatever the flags say.
        (
            {"available": False, "lastSync": _millis(NOW - timedelta(hours=1))},
            True,
            NOW,
            "failure",
        ),
    ],
)
def test_the_cross_check_says_when_api_and_store_disagree(
    status: dict[str, Any],
    stale: bool,  # noqa: FBT001 - a parameter
    store_sync: datetime | None,
    expected: str,
) -> None:
    """The `api agrees with store` check's status for each combination."""
    report = _report(synchronized_on=store_sync, stale=stale)

    checked = compare_with_integration(report, _integration(**status))

    names = [check.name for check in checked.checks]
    assert names == ["api status", "api agrees with store"]
    assert checked.checks[1].status.value == expected
    assert attrs.evolve(checked, checks=()) == attrs.evolve(report, checks=())


def test_importing_ldstore_imports_no_store_client() -> None:
    """`import ldstore`, its CLI and ldstore.doctor load neither redis nor aiobotocore."""
    script = (
        "import sys, ldstore, ldstore.cli, ldstore.doctor\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'redis', 'aiobotocore', 'botocore'})\n"
        "print(loaded)\n"
    )

    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert done.stdout.strip() == "[]"


def test_a_missing_redis_server_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the program: a skip on a developer's machine, a failure when CI=true."""
    monkeypatch.setenv("PATH", "/nonexistent")

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        _ = require("redis-server")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not installed"):
        _ = require("redis-server")


def test_the_doctor_exports_its_documented_names() -> None:
    """`ldstore.doctor` exports the functions and types the README names, each importable."""
    import ldstore.doctor  # noqa: PLC0415

    assert {
        "diagnose_redis",
        "diagnose_dynamodb",
        "StoreReport",
        "Check",
        "CheckStatus",
        "StoreUnreachableError",
        "MissingExtraError",
        "cross_check",
        "compare_with_integration",
    } <= set(ldstore.doctor.__all__)
    assert all(hasattr(ldstore.doctor, name) for name in ldstore.doctor.__all__)
    assert issubclass(ldstore.doctor.StoreUnreachableError, NetworkError)


@given(st.integers(min_value=0, max_value=10**16 - 1))
def test_every_millisecond_count_parses(millis: int) -> None:
    """Plain digits up to 16 of them read back as the same integer."""
    assert parse_millis(str(millis)) == millis


@given(st.text(max_size=20))
def test_what_parses_is_what_sdks_read(text: str) -> None:
    """Any text the doctor accepts, Python's SDK (int()) reads as the same value."""
    millis = parse_millis(text)

    assert millis is None or int(text) == millis


@given(st.text(max_size=30))
def test_segment_refs_end_in_a_generation(value: str) -> None:
    """A value is a segment ref exactly when it is `<non-empty key>.g<digits>`."""
    key, dot_g, generation = value.rpartition(".g")

    expected = bool(key) and bool(dot_g) and generation.isascii() and generation.isdigit()
    assert is_segment_ref(value) == expected


@pytest.mark.parametrize("stale_after", [0.001, 1.0, 120.0, 86_400.0])
def test_at_exactly_stale_after_the_store_is_stale(stale_after: float) -> None:
    """Mutation pin: age == staleAfter is stale (now - synchronizedOn >= staleAfter), as SDKs say."""
    millis = 1_764_504_000_000
    synchronized_on = from_millis(millis)
    at_edge = synchronized_on + timedelta(seconds=stale_after)

    on_the_edge = freshness(millis, now=at_edge, stale_after=stale_after)
    just_before = freshness(
        millis, now=at_edge - timedelta(milliseconds=1), stale_after=stale_after
    )

    assert on_the_edge.stale is True
    assert on_the_edge.checks[0].status is CheckStatus.FAILURE
    assert just_before.stale is False
    assert just_before.checks[0].status is CheckStatus.OK


@pytest.mark.parametrize("ahead", [6.0, 60.0, 3600.0])
def test_a_future_timestamp_is_never_fresh(ahead: float) -> None:
    """Point 6: freshness is not "ok" when synchronizedOn is more than the tolerance ahead."""
    millis = 1_764_504_000_000
    now = from_millis(millis) - timedelta(seconds=ahead)

    found = freshness(millis, now=now, stale_after=120.0)

    fresh, skew = found.checks
    assert fresh.status is CheckStatus.WARNING
    assert "in the future" in fresh.detail
    assert skew.status is not CheckStatus.OK
