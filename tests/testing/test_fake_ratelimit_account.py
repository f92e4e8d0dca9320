"""The account-wide limit: one budget for every token of the account, and the 429's forms."""

from __future__ import annotations

import argparse

import aiohttp
import pytest

from ldstore.testing import FakeLaunchDarkly, RateLimit, RateLimited, add_arguments
from ldstore.testing._options import build

from .fakeclient import FakeClient, ServeFake

OTHER = "api-other-tool"
WINDOW = 5.0  # long enough that no window closes during a test


async def test_every_token_spends_one_budget(
    serve_fake: ServeFake, session: aiohttp.ClientSession
) -> None:
    """Two tokens of the account share the global limit: the second token's request is the
    429 once the first spent the budget, and both see the same remaining count."""
    fake = await serve_fake(FakeLaunchDarkly(tokens=[OTHER], rate_limit=RateLimit(2, WINDOW)))
    client = FakeClient(fake, session)

    first = await client.send("GET")
    second = await client.send("GET", headers={"Authorization": OTHER})
    third = await client.send("GET", headers={"Authorization": OTHER})

    assert (first.status, second.status, third.status) == (200, 200, 429)
    assert [a.headers["X-Ratelimit-Global-Remaining"] for a in (first, second, third)] == [
        "1",
        "0",
        "0",
    ]
    assert "Retry-After" not in third.headers
    assert third.json()["code"] == "rate_limited"


async def test_other_tokens_are_accepted_and_masked(
    serve_fake: ServeFake, session: aiohttp.ClientSession
) -> None:
    """A token in `tokens` is accepted, an unknown one is not, and the log masks both."""
    fake = await serve_fake(FakeLaunchDarkly(tokens=[OTHER]))
    client = FakeClient(fake, session)

    accepted = await client.send("GET", headers={"Authorization": OTHER})
    refused = await client.send("GET", headers={"Authorization": "api-stranger"})

    assert (accepted.status, refused.status) == (200, 401)
    logged = repr(fake.requests)
    assert OTHER not in logged
    assert "api-stranger" not in logged


async def test_the_ip_based_limit_is_the_one_with_retry_after(
    serve_fake: ServeFake, session: aiohttp.ClientSession
) -> None:
    """The RateLimited fault (an IP-based limit) sends Retry-After; the account's limit never does."""
    fake = await serve_fake(FakeLaunchDarkly(rate_limit=RateLimit(1, WINDOW)))
    client = FakeClient(fake, session)
    fake.schedule(RateLimited(retry_after=2))

    ip_based = await client.send("GET")
    allowed = await client.send("GET")
    spent = await client.send("GET")

    assert (ip_based.status, allowed.status, spent.status) == (429, 200, 429)
    assert ip_based.headers["Retry-After"] == "2"
    assert "Retry-After" not in spent.headers
    assert "X-Ratelimit-Reset" in spent.headers


def test_a_string_is_not_a_list_of_tokens() -> None:
    """tokens="api-x" would accept every single character as a token: refused, unprinted."""
    with pytest.raises(TypeError, match="sequence") as raised:
        _ = FakeLaunchDarkly(tokens="api-secret-x")  # a wrong type on purpose

    assert "api-secret-x" not in str(raised.value)


async def test_fake_server_takes_more_tokens(
    serve_fake: ServeFake, session: aiohttp.ClientSession
) -> None:
    """`ldstore fake-server --also-token T` (repeatable) serves a fake whose tokens share
    the --rate-limit."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--also-token", "a", "--also-token", "b", "--rate-limit", "2"])
    client = FakeClient(await serve_fake(build(args)), session)

    answers = [await client.send("GET", headers={"Authorization": t}) for t in ("a", "b", "a")]

    assert [answer.status for answer in answers] == [200, 200, 429]
