"""The command line inherits the SDK's rule: the API's mask is never written back."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import by_id, run_against
from sdk import REDIS_WITH_PASSWORD, seed

from ldstore.models import MASKED
from ldstore.testing import FakeLaunchDarkly


async def test_update_with_a_patch_writing_the_mask_sends_nothing(
    fake: FakeLaunchDarkly, tmp_path: Path
) -> None:
    """`ldstore update --patch` whose password is "********": exit 2, one error line naming
    config.password, and no PATCH reaches the fake (the stored password is kept)."""
    integration_id = seed(fake, config=REDIS_WITH_PASSWORD)
    patch_file = tmp_path / "patch.json"
    _ = patch_file.write_text(
        json.dumps([{"op": "add", "path": "/config/password", "value": MASKED}])
    )

    done = await run_against(fake, "update", *by_id(integration_id), "--patch", str(patch_file))

    assert done.code == 2, done.stderr
    done.assert_one_error_line("config.password", "never written back")
    assert [request.method for request in fake.requests if request.method != "GET"] == []
    stored = fake.get_integration(integration_id)
    assert stored is not None
    assert stored["config"]["password"] == REDIS_WITH_PASSWORD["password"]
