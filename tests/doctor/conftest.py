"""The doctor's own fixtures; its redis-server and moto server are the suite's (store_servers)."""

from __future__ import annotations

import pytest
from aiobotocore.session import AioSession, get_session
from ldstore_process import clean_environment


@pytest.fixture
def cli_environment(aws_environment: dict[str, str]) -> dict[str, str]:
    """The environment for ``ldstore`` subprocesses: no ldstore settings, dummy AWS ones."""
    return clean_environment(**aws_environment)


@pytest.fixture(scope="session")
def aws_session(aws_environment: dict[str, str]) -> AioSession:
    """One aiobotocore session for the doctor's calls: its service models load once."""
    return get_session()
