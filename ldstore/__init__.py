"""ldstore: an async SDK for LaunchDarkly's persistent store (big segment store) integrations.

Functions in ``ldstore.funcs`` return ``Ok(value)`` or ``Err(error)``; ``Client`` wraps
them as methods that return the value or raise the error.

The names load on first use: ``ldstore --version`` and ``ldstore --help`` import this
package too, and need not pay for aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ldstore.client import Client
    from ldstore.core import Core, HookContext, Hooks, RequestOptions, RetryConfig
    from ldstore.result import Err, Ok, Result, collect

__all__ = [
    "Client",
    "Core",
    "Err",
    "HookContext",
    "Hooks",
    "Ok",
    "RequestOptions",
    "Result",
    "RetryConfig",
    "collect",
]

_MODULES = {
    "Client": "client",
    "Core": "core",
    "Err": "result",
    "HookContext": "core",
    "Hooks": "core",
    "Ok": "result",
    "RequestOptions": "core",
    "Result": "result",
    "RetryConfig": "core",
    "collect": "result",
}


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        msg = f"module 'ldstore' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"ldstore.{module}"), name)
    globals()[name] = value  # once loaded, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
