"""`python -m ldstore.testing`: the fake LaunchDarkly API as a process."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ldstore.testing._options import add_arguments, serve


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, serve until a signal, return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m ldstore.testing",
        description="Serve a fake LaunchDarkly persistent store integrations API until "
        "SIGINT or SIGTERM. The first line printed is 'listening on <url>', the second "
        "names the token it accepts.",
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
