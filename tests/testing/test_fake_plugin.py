"""Issue 16 point 7: the ld_fake fixture works in a user's suite with no asyncio set-up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

USER_TESTS = """
import aiohttp

LIST = "/api/v2/integration-capabilities/big-segment-store"


async def test_lists_nothing(ld_fake):
    headers = {"Authorization": ld_fake.token, "LD-API-Version": "beta"}
    async with aiohttp.ClientSession() as session:
        async with session.get(ld_fake.url + LIST, headers=headers) as response:
            assert response.status == 200
            assert (await response.json())["items"] == []


class TestInAClass:
    async def test_seeded(self, ld_fake):
        ld_fake.seed_integration("default", "test", "redis", name="r", config={"host": "h"})
        assert len(ld_fake.integrations) == 1
"""
# Without a plugin to run it, an unmarked coroutine test "passes" with a warning in old
# pytest and fails with "async def functions are not natively supported" in new ones.
NO_ASYNC_PLUGIN = ("-p", "no:asyncio", "-p", "no:aiohttp", "-p", "no:anyio")


def readme_fixture_example() -> str:
    """The README's Python block that uses the ld_fake fixture."""
    blocks: list[str] = re.findall(
        r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL
    )
    (block,) = [block for block in blocks if "(ld_fake" in block]
    return block


def test_unmarked_tests_using_ld_fake_pass_without_configuration(
    pytester: pytest.Pytester,
) -> None:
    """No @pytest.mark.asyncio, no asyncio_mode: the user's ld_fake tests and the README's pass."""
    _ = pytester.makepyfile(test_user=USER_TESTS, test_readme=readme_fixture_example())

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)
    assert "not natively supported" not in result.stdout.str()


def test_without_pytest_asyncio_the_failure_says_what_to_install(
    pytester: pytest.Pytester,
) -> None:
    """With no async plugin, each ld_fake test errors naming pytest-asyncio, not a riddle."""
    _ = pytester.makepyfile(test_user=USER_TESTS)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *NO_ASYNC_PLUGIN)

    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*ld_fake fixture is async and needs pytest-asyncio*"])
    result.stdout.fnmatch_lines(["*pip install pytest-asyncio*"])
