"""``python -m ldstore``: the ``ldstore`` command line."""

from ldstore.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
