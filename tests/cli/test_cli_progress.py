"""`ldstore apply`'s progress line: on a terminal only, and it names the rate limit's wait."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import run_against, run_on_terminal
from conftest import ServeFake

from ldstore.testing import FakeLaunchDarkly, RateLimit


@pytest.fixture
async def limited(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A fake allowing 4 requests per 1 s window (LaunchDarkly's is per 10 s)."""
    return await serve_fake(FakeLaunchDarkly(rate_limit=RateLimit(4, 1.0)))


def _file(tmp_path: Path, count: int = 6) -> Path:
    file = tmp_path / "stores.json"
    items = [
        {
            "project": "default",
            "environment": "production",
            "store": "redis",
            "name": f"Store {number}",
            "config": {"host": f"h{number}"},
        }
        for number in range(count)
    ]
    _ = file.write_text(json.dumps(items))
    return file


async def test_on_a_terminal_apply_shows_progress_and_the_rate_limit_wait(
    limited: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """6 creates through a 4-per-second limit: the terminal shows the count moving and a
    'waiting N s for the rate limit' line; every create succeeds, without a 429."""
    screen = await run_on_terminal(limited, "apply", "-f", str(_file(tmp_path)))

    assert screen.code == 0, screen.terminal
    assert (
        "applying: 0 of 6 changes done" in screen.terminal or "applying: 1 of 6" in screen.terminal
    )
    assert "applying: 6 of 6 changes done" in screen.terminal
    assert "s for the rate limit" in screen.terminal
    assert "Applied: 6 changed, 0 failed." in screen.stdout
    assert all(request.status != 429 for request in limited.requests)


async def test_no_progress_when_piped_or_quiet(limited: FakeLaunchDarkly, tmp_path: Path) -> None:
    """Piped stderr, or --quiet at a terminal: no progress line at all."""
    piped = await run_against(limited, "apply", "-f", str(_file(tmp_path, 2)))
    quiet = await run_on_terminal(limited, "apply", "-f", str(_file(tmp_path, 3)), "--quiet")

    assert piped.code == 0, piped.stderr
    assert "applying:" not in piped.stderr
    assert quiet.code == 0, quiet.terminal
    assert "applying:" not in quiet.terminal
