"""Issue 16 point 3: the OpenAPI subset ships inside the package; nothing reads outside it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import ldstore.testing
from ldstore.testing import openapi_document

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = Path(ldstore.testing.__file__).parent / "openapi" / "bigsegmentstore.json"
OPERATION_IDS = {
    "getBigSegmentStoreIntegrations",
    "createBigSegmentStoreIntegration",
    "getBigSegmentStoreIntegration",
    "patchBigSegmentStoreIntegration",
    "deleteBigSegmentStoreIntegration",
}
# Spelled in two halves so that this file does not match itself.
OUTSIDE = re.compile("(" + r"\.\./" + r"shared|/work/" + r"shared" + ")")
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".json", ".cfg", ".ini", ".txt", ".sh", ".yml", ".yaml", ""}


def test_the_loader_returns_the_shipped_file() -> None:
    """openapi_document() is the JSON file inside the package, parsed."""
    assert openapi_document() == json.loads(SHIPPED.read_text(encoding="utf-8"))


def test_the_document_has_the_five_operations() -> None:
    """The shipped subset is OpenAPI 3 and describes exactly the five operations."""
    document = openapi_document()

    operation_ids = {
        operation["operationId"]
        for path_item in document["paths"].values()
        for operation in path_item.values()
    }
    assert document["openapi"].startswith("3.")
    assert operation_ids == OPERATION_IDS


def test_each_call_returns_a_fresh_copy() -> None:
    """Changing one returned document does not change the next one."""
    first = openapi_document()
    first["paths"].clear()

    assert openapi_document()["paths"]


def project_files() -> list[Path]:
    """Every text file of the project, skipping virtual environments, git and caches."""
    found: list[Path] = []
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRS]
        found += [Path(directory, name) for name in files if Path(name).suffix in TEXT_SUFFIXES]
    return found


def test_nothing_in_the_repository_reads_outside_it() -> None:
    """No file of the project names the shared folder beside the repository (a clone has none)."""
    offenders = [
        f"{file.relative_to(ROOT)}:{number}"
        for file in project_files()
        for number, line in enumerate(
            file.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        )
        if OUTSIDE.search(line)
    ]

    assert len(project_files()) > 50
    assert offenders == []
