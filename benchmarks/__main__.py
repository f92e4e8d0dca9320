"""``python -m benchmarks``: run every contender on every workload and report."""

from benchmarks.harness import main

if __name__ == "__main__":
    raise SystemExit(main())
