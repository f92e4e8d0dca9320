"""The OpenAPI subset the fake follows, shipped inside the package for contract checks."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def openapi_document() -> dict[str, Any]:
    """LaunchDarkly's OpenAPI description of the five operations, parsed (a fresh copy).

    The subset ldstore and its fake are checked against, e.g. to validate the exchanges
    in `FakeLaunchDarkly.requests` with a JSON Schema library in your own tests.
    """
    shipped = (
        resources.files("ldstore.testing").joinpath("openapi").joinpath("bigsegmentstore.json")
    )
    text = shipped.read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
