"""The workflow tests' names for the suite's helpers, which live once in ``tests/sdk.py``."""

from functools import partial

from sdk import ENVIRONMENT, PROJECT, REDIS_WIRE, body, get_request, seed, sent

__all__ = ["ENVIRONMENT", "PROJECT", "REDIS_WIRE", "body", "get_request", "seed_redis", "sent"]

seed_redis = partial(seed, config=REDIS_WIRE)  # the workflow tests' usual config
