"""Issue 27.2 beyond list: when a default (LD_* or the config file), not a flag, chooses the
project or environment of wait, export or watch, one stderr line says which and whence."""

from __future__ import annotations

from pathlib import Path

from cli_support import run_against
from sdk import seed

from ldstore.testing import FakeLaunchDarkly


async def test_a_default_that_filters_export_says_so(fake: FakeLaunchDarkly) -> None:
    """LD_ENVIRONMENT narrows export: one stderr line names it; --all exports every one; a
    flag says nothing."""
    _ = seed(fake, "Here")
    _ = fake.seed_integration("default", "test", "redis", name="Elsewhere", config={"host": "h"})

    narrowed = await run_against(fake, "export", LD_ENVIRONMENT="production")
    everything = await run_against(fake, "export", "--all", LD_ENVIRONMENT="production")
    flagged = await run_against(fake, "export", "--environment", "production")

    assert narrowed.code == everything.code == flagged.code == 0, narrowed.stderr
    assert narrowed.stderr == (
        "ldstore: filtered by environment=production (LD_ENVIRONMENT); --all to export every one\n"
    )
    assert "Elsewhere" not in narrowed.stdout
    assert "Here" in narrowed.stdout
    assert "Elsewhere" in everything.stdout
    assert everything.stderr == flagged.stderr == ""


async def test_a_default_that_chooses_what_wait_waits_for_says_so(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """The config file's project and LD_ENVIRONMENT pick wait's integration: one line names
    both and whence; -q keeps stderr for errors."""
    integration_id = seed(fake, "Ready", on=True)
    fake.set_status(integration_id, available=True)
    config = tmp_path / "config.toml"
    _ = config.write_text('project = "default"\n')
    scope = ("--integration", "redis", "--integration-id", integration_id, "--for", "5")
    defaults = {"LDSTORE_CONFIG": str(config), "LD_ENVIRONMENT": "production"}

    waited = await run_against(fake, "wait", *scope, **defaults)
    quiet = await run_against(fake, "wait", *scope, "-q", **defaults)

    assert waited.code == quiet.code == 0, waited.stderr
    assert waited.stderr.splitlines()[0] == (
        "ldstore: waiting in project=default (config file), environment=production "
        "(LD_ENVIRONMENT); --project and --environment choose others"
    )
    assert quiet.stderr == ""


async def test_a_default_that_filters_watch_says_so(fake: FakeLaunchDarkly) -> None:
    """LD_PROJECT narrows what watch polls: the line comes before the first poll; --all
    drops it."""
    _ = seed(fake, "Here")

    narrowed = await run_against(fake, "watch", "--once", LD_PROJECT="default")
    everything = await run_against(fake, "watch", "--once", "--all", LD_PROJECT="default")

    assert narrowed.stderr.splitlines()[0] == (
        "ldstore: watching only project=default (LD_PROJECT); --all to watch every one"
    )
    assert "LD_PROJECT" not in everything.stderr
    assert narrowed.code == everything.code
