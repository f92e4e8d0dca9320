"""A fake of LaunchDarkly's persistent store integrations (beta) API, for tests and demos.

    from ldstore.testing import FakeLaunchDarkly, ServerError

    async with FakeLaunchDarkly() as fake:
        fake.schedule(ServerError(503), times=2)
        ...  # call fake.url with the header Authorization: fake.token

The names load on first use: pytest imports this package for the `ld_fake` plugin in
every run, also where the `testing` extra (jsonpatch) is not installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ldstore.testing._config import MASKED_SECRET
    from ldstore.testing._faults import (
        DropConnection,
        Fault,
        Hang,
        Latency,
        MalformedJSON,
        RateLimited,
        ServerError,
    )
    from ldstore.testing._openapi import openapi_document
    from ldstore.testing._options import DEFAULT_ENVIRONMENTS, add_arguments, serve
    from ldstore.testing._ratelimit import RateLimit
    from ldstore.testing._serve import serve_forever
    from ldstore.testing._server import FakeLaunchDarkly, RecordedRequest, make_app

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "MASKED_SECRET",
    "DropConnection",
    "FakeLaunchDarkly",
    "Fault",
    "Hang",
    "Latency",
    "MalformedJSON",
    "RateLimit",
    "RateLimited",
    "RecordedRequest",
    "ServerError",
    "add_arguments",
    "make_app",
    "openapi_document",
    "serve",
    "serve_forever",
]

_MODULES = {
    "DEFAULT_ENVIRONMENTS": "_options",
    "MASKED_SECRET": "_config",
    "DropConnection": "_faults",
    "FakeLaunchDarkly": "_server",
    "Fault": "_faults",
    "Hang": "_faults",
    "Latency": "_faults",
    "MalformedJSON": "_faults",
    "RateLimit": "_ratelimit",
    "RateLimited": "_faults",
    "RecordedRequest": "_server",
    "ServerError": "_faults",
    "add_arguments": "_options",
    "make_app": "_server",
    "openapi_document": "_openapi",
    "serve": "_options",
    "serve_forever": "_serve",
}


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        message = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(message)
    value: object = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
