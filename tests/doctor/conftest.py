"""The doctor's own fixtures; its redis-server and moto server are the suite's (store_servers)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from aiobotocore.session import AioSession, get_session


@pytest.fixture
def cli_environment(aws_environment: dict[str, str]) -> dict[str, str]:
    """The environment for ``ldstore`` subprocesses: no ldstore settings, dummy AWS ones."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LD_", "LDSTORE_", "XDG_CONFIG_HOME"))
    }
    environment["XDG_CONFIG_HOME"] = str(Path(__file__).parent / "no-such-config-home")
    environment.update(aws_environment)
    return environment


@pytest.fixture(scope="session")
def aws_session(aws_environment: dict[str, str]) -> AioSession:
    """One aiobotocore session for the doctor's calls: its service models load once."""
    return get_session()
