"""The API's JSON shape of ldstore's values, for code outside the SDK (CLI, agents, tools).

The one converter lives in ``ldstore._codec``; this module is its public face, so that the
command line, the MCP server and the benchmarks print exactly what the API sends.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ldstore import _codec

__all__ = ["from_wire", "to_wire"]

T = TypeVar("T")


def to_wire(value: object) -> Any:
    """``value`` (a model, request body or patch) as JSON-ready data, with the API's names."""
    return _codec.converter.unstructure(value)


def from_wire(data: object, cls: type[T]) -> T:
    """A model from JSON-ready data in the API's shape; raises ``ValueError``/``TypeError``
    (or cattrs' errors) when it does not fit."""
    return _codec.converter.structure(data, cls)
