"""The OpenAPI subsets the fake follows, shipped inside the package for contract checks."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

Subset = Literal["bigsegmentstore", "segments"]


def openapi_document(subset: Subset = "bigsegmentstore") -> dict[str, Any]:
    """One of LaunchDarkly's OpenAPI subsets the fake serves, parsed (a fresh copy).

    `"bigsegmentstore"` (the default) describes the five persistent store integration
    operations; `"segments"` the environment and segment operations the fake also serves
    (get an environment; create, get and delete a segment; update big segment targets;
    membership of a context). Use them, e.g., to validate the exchanges in
    `FakeLaunchDarkly.requests` with a JSON Schema library in your own tests.
    """
    if subset not in ("bigsegmentstore", "segments"):
        message = f"subset must be 'bigsegmentstore' or 'segments', not {subset!r}"
        raise ValueError(message)
    shipped = resources.files("ldstore.testing").joinpath("openapi").joinpath(f"{subset}.json")
    text = shipped.read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
