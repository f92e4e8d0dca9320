"""``--rate-reserve`` and the config file's ``rate-reserve``: every command's Core keeps the share."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import ServeFake
from hypothesis import given
from hypothesis import strategies as st
from sdk import ENVIRONMENT, PROJECT

from ldstore.cli._options import rate_share
from ldstore.testing import FakeLaunchDarkly, RateLimit

LIMIT = 4  # the account's budget per window: with reserve 0.5, two requests stay unspent
WINDOW = 1.0
TIMEOUT = 20.0


async def ldstore(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the installed ``ldstore`` console script; its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "ldstore"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def environment(fake: FakeLaunchDarkly, config: Path) -> dict[str, str]:
    """A clean environment naming ``fake`` and the config file ``config``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "LDSTORE_"))}
    return {**clean, "LD_BASE_URI": fake.url, "LD_ACCESS_TOKEN": fake.token, "LDSTORE_CONFIG": str(config)}  # fmt: skip


def stores(tmp_path: Path, count: int = 3) -> str:
    """An apply file creating ``count`` Redis stores."""
    path = tmp_path / "stores.json"
    items = [
        {"project": PROJECT, "environment": ENVIRONMENT, "store": "redis", "name": f"Cache {n}",
         "config": {"host": f"redis-{n}.internal"}}
        for n in range(count)
    ]  # fmt: skip
    _ = path.write_text(json.dumps(items), encoding="utf-8")
    return str(path)


def lowest_remaining(fake: FakeLaunchDarkly) -> int:
    """The fewest requests the account had left after any of the fake's answers."""
    return min(int(r.response_headers["X-Ratelimit-Global-Remaining"]) for r in fake.requests)


@pytest.fixture
async def limited(serve_fake: ServeFake) -> FakeLaunchDarkly:
    """A fake whose account allows LIMIT requests per WINDOW seconds."""
    return await serve_fake(FakeLaunchDarkly(rate_limit=RateLimit(LIMIT, WINDOW)))


@pytest.mark.timeout(30)
async def test_the_flag_leaves_the_share_unspent(limited: FakeLaunchDarkly, tmp_path: Path) -> None:
    """`apply --rate-reserve 0.5` never takes the account below half its window (it waits
    for the reset), where the same apply without it spends the window to the last request."""
    env = environment(limited, tmp_path / "none.toml")
    _ = env.pop("LDSTORE_CONFIG")

    code, _, stderr = await ldstore(
        "apply", "-f", stores(tmp_path), "--rate-reserve", "0.5", env=env
    )
    kept = lowest_remaining(limited)
    limited.reset()
    code_without, _, _ = await ldstore("apply", "-f", stores(tmp_path), env=env)

    assert code == 0, stderr
    assert len([r for r in limited.requests if r.method == "POST"]) == 3
    assert kept == LIMIT // 2
    assert code_without == 0
    assert lowest_remaining(limited) == 0
    assert all(r.status != 429 for r in limited.requests)


@pytest.mark.timeout(30)
async def test_the_config_file_sets_it_and_the_flag_wins(
    limited: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """`rate-reserve = 0.5` in the config file (a TOML number or a string) reserves half;
    `--rate-reserve 0` on the command line wins over it."""
    config = tmp_path / "config.toml"
    _ = config.write_text("rate-reserve = 0.5\n", encoding="utf-8")
    env = environment(limited, config)

    code, _, stderr = await ldstore("apply", "-f", stores(tmp_path), env=env)
    kept = lowest_remaining(limited)
    limited.reset()
    code_flag, _, _ = await ldstore("apply", "-f", stores(tmp_path), "--rate-reserve", "0", env=env)

    assert code == 0, stderr
    assert kept == LIMIT // 2
    assert code_flag == 0
    assert lowest_remaining(limited) == 0


@pytest.mark.parametrize("value", ["1", "-0.1", "nan", "inf", "0.2x", "", "1" * 40])
async def test_a_bad_flag_is_refused_before_anything_is_sent(
    limited: FakeLaunchDarkly, tmp_path: Path, value: str
) -> None:
    """Bound: a share outside [0, 1) is exit 2 with one error line and no request sent."""
    env = environment(limited, tmp_path / "config.toml")
    _ = env.pop("LDSTORE_CONFIG")

    code, stdout, stderr = await ldstore("list", f"--rate-reserve={value}", env=env)

    assert code == 2
    assert stdout == ""
    assert "--rate-reserve" in stderr
    assert "less than 1" in stderr
    assert "Traceback" not in stderr
    assert limited.requests == []


async def test_a_bad_config_value_is_refused_naming_the_file(
    limited: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """Bound: `rate-reserve = 1.5` in the file is exit 2 naming the file; nothing is sent."""
    config = tmp_path / "config.toml"
    _ = config.write_text("rate-reserve = 1.5\n", encoding="utf-8")

    code, _, stderr = await ldstore("list", env=environment(limited, config))

    assert code == 2
    assert f"rate-reserve in {config}" in stderr
    assert len(stderr.splitlines()) == 1
    assert limited.requests == []


async def test_config_set_checks_the_share(limited: FakeLaunchDarkly, tmp_path: Path) -> None:
    """`ldstore config --set rate-reserve` keeps a share and refuses 1, leaving the file as it was."""
    config = tmp_path / "config.toml"
    env = environment(limited, config)

    good = await ldstore("config", "--set", "rate-reserve", "0.25", env=env)
    bad = await ldstore("config", "--set", "rate-reserve", "1", env=env)
    listed = await ldstore("config", "--list", env=env)

    assert good[0] == 0
    assert bad[0] == 2
    assert "rate-reserve" in bad[2]
    assert listed[1] == 'rate-reserve = "0.25"\n'


@given(st.text(max_size=40) | st.floats(allow_nan=True).map(repr))
def test_rate_share_is_a_share_or_refused(text: str) -> None:
    """Any text is either a number in [0, 1) returned as is, or an ArgumentTypeError."""
    outcome: float | str
    try:
        outcome = rate_share(text)
    except argparse.ArgumentTypeError as error:
        outcome = str(error)

    if isinstance(outcome, str):
        assert "less than 1" in outcome
    else:
        assert 0 <= outcome < 1
        assert outcome == float(text)
