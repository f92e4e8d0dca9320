import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import ldstore

MODULES = [
    "ldstore",
    "ldstore.result",
    "ldstore.errors",
    "ldstore.models",
    "ldstore.configs",
    "ldstore.operations",
    "ldstore.patch",
    "ldstore.core",
    "ldstore.funcs",
    "ldstore.client",
]


def test_the_package_exports_the_documented_names() -> None:
    """`ldstore` re-exports exactly the names DESIGN.md promises, sorted."""
    assert ldstore.__all__ == [
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


@pytest.mark.parametrize("name", MODULES)
def test_every_public_module_lists_importable_names(name: str) -> None:
    """Every name in each module's __all__ exists (ruff's RUF022 keeps the lists sorted)."""
    module = importlib.import_module(name)

    assert module.__all__
    assert all(hasattr(module, item) for item in module.__all__)


def test_design_names_live_where_design_says() -> None:
    """Names that tests outside the project rely on are where DESIGN.md puts them."""
    expected = {
        "ldstore.funcs": [
            "get_big_segment_store_integrations",
            "create_big_segment_store_integration",
            "get_big_segment_store_integration",
            "patch_big_segment_store_integration",
            "delete_big_segment_store_integration",
            "get_environment",
            "get_segment",
            "get_big_segment_membership",
        ],
        "ldstore.operations": [
            "CreateBigSegmentStoreIntegrationRequest",
            "GetBigSegmentStoreIntegrationRequest",
            "PatchBigSegmentStoreIntegrationRequest",
            "DeleteBigSegmentStoreIntegrationRequest",
            "GetEnvironmentRequest",
            "GetSegmentRequest",
            "GetBigSegmentMembershipRequest",
        ],
        "ldstore.models": [
            "PatchOperation",
            "RedisConfig",
            "DynamoDBConfig",
            "IntegrationKey",
            "Environment",
            "Segment",
            "BigSegmentMembership",
        ],
        "ldstore.client": ["Client", "Environments", "Segments"],
        "ldstore.patch": ["PatchOperation", "PatchWithComment", "ABSENT"],
        "ldstore.errors": [
            "LDStoreError",
            "APIError",
            "InvalidRequestError",
            "UnauthorizedError",
            "ForbiddenError",
            "NotFoundError",
            "StatusConflictError",
            "RateLimitedError",
            "InputValidationError",
            "ResponseValidationError",
            "NetworkError",
            "ConnectionFailedError",
            "RequestTimeoutError",
            "ConnectionLostError",
            "InvalidRequestErrorRep",
            "UnauthorizedErrorRep",
            "ForbiddenErrorRep",
            "NotFoundErrorRep",
            "StatusConflictErrorRep",
            "RateLimitedErrorRep",
            "SDKValidationError",
        ],
    }

    missing = [
        f"{module}.{name}"
        for module, names in expected.items()
        for name in names
        if not hasattr(importlib.import_module(module), name)
    ]

    assert missing == []
    assert (
        importlib.import_module("ldstore.models").PatchOperation
        is importlib.import_module("ldstore.patch").PatchOperation
    )


def test_internal_constructors_are_not_public() -> None:
    """errors.api_error is internal; result's module-level helper has its own name."""
    errors = importlib.import_module("ldstore.errors")
    result = importlib.import_module("ldstore.result")

    assert "api_error" not in errors.__all__
    assert "chain_async" in result.__all__
    assert "and_then_async" not in result.__all__


def test_the_version_and_the_package_need_no_aiohttp() -> None:
    """`import ldstore`, `ldstore --version` and `ldstore` (its help, every command's parser)
    load no aiohttp: names load on first use, a command's SDK code when it runs."""
    code = (
        "import sys, ldstore\n"
        "from ldstore.cli import main\n"
        "assert main(['--version']) == 0\n"
        "assert main([]) == 0\n"
        "assert main(['doctor', 'redis', '--help']) == 0\n"
        "from ldstore.cli import build_parser\n"
        "_ = build_parser()  # every command's parser, as completion builds them\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp was imported'\n"
        "assert ldstore.Core.__name__ == 'Core'\n"
        "assert 'aiohttp' in sys.modules\n"
    )

    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ldstore ")
    assert "fake-server" in done.stdout  # the help listed every command


def _ldstore_imports(relative: str) -> set[str]:
    """Every ldstore module a source file imports, deferred imports included."""
    source = (Path(__file__).resolve().parents[1] / "ldstore" / relative).read_text()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("ldstore")}


def test_models_and_patch_do_not_import_each_other() -> None:
    """The store configs and masking sit below both: patch imports configs, not models;
    configs imports nothing of ldstore but text."""
    assert not any(name.startswith("ldstore.models") for name in _ldstore_imports("patch.py"))
    assert {name.split(".")[1] for name in _ldstore_imports("configs.py")} == {"text"}


def test_the_workflows_use_no_private_core_module() -> None:
    """workflows/ imports public names only (no ldstore._codec, _transport, ...)."""
    for path in sorted(
        (Path(__file__).resolve().parents[1] / "ldstore" / "workflows").glob("*.py")
    ):
        imported = _ldstore_imports(f"workflows/{path.name}")
        private = {name for name in imported if name.split(".")[1].startswith("_")}
        assert private == set(), path.name
