"""The README's command-line examples run as written, against a fake account."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from cli_support import Completed, run_against
from sdk import REDIS_WITH_PASSWORD, seed

from ldstore.testing import FakeLaunchDarkly

# The ```console block of the README's "Command line" section, read from the README so
# the two cannot drift. "$ID" is an integration's ID (the test seeds one); the create
# reads its password from stdin.
_README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
README_EXAMPLES = re.search(
    r"## Command line.*?```console\n(.*?)```", _README, flags=re.DOTALL
).group(1)  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]


async def test_readme_examples_succeed(fake: FakeLaunchDarkly, tmp_path: Path) -> None:
    """Every README example exits 0, in order, with LD_ACCESS_TOKEN and LD_BASE_URI set."""
    config = str(tmp_path / "config.toml")
    integration_id = seed(fake, tags=["legacy"], config=REDIS_WITH_PASSWORD)
    lines = README_EXAMPLES.splitlines()

    results: list[Completed] = []
    for line in lines:
        program, *args = [word.replace("$ID", integration_id) for word in shlex.split(line)]
        assert program == "ldstore"
        results.append(
            await run_against(fake, *args, stdin="redis-password\n", LDSTORE_CONFIG=config)
        )

    # The config file set project and environment: `list` says they narrowed it.
    filtered = (
        "ldstore: filtered by project=default (config file), environment=production "
        "(config file); --all to see every one\n"
    )
    assert [
        (line, result.code, result.stderr) for line, result in zip(lines, results, strict=True)
    ] == [(line, 0, filtered if _narrowed(line) else "") for line in lines]
    assert results[2].lines == ['environment = "production"', 'project = "default"']
    names = sorted(item["name"] for item in fake.integrations)
    assert names == ["Prod Redis"]  # the seeded one was deleted; the demo cleaned up


def _narrowed(line: str) -> bool:
    """A `list` for people (not --output json) narrowed by the config file's defaults."""
    return line.startswith("ldstore list") and "--output json" not in line
