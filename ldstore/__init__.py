"""ldstore: an async SDK for LaunchDarkly's persistent store (big segment store) integrations.

Functions in ``ldstore.funcs`` return ``Ok(value)`` or ``Err(error)``; ``Client`` wraps
them as methods that return the value or raise the error.
"""

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
