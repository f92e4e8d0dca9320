"""Benchmarks: ldstore against the plain-aiohttp floor and the official client.

Run ``python -m benchmarks`` (``--quick`` for a tiny workload, ``--repeats N``,
``--out results.json``). The harness serves the fake LaunchDarkly API in a separate
process and runs every contender in a fresh process per workload and repeat
(``python -m benchmarks.worker CONTENDER WORKLOAD URL TOKEN``), then prints medians and
their ratios to the floor measured in the same run.
"""
