"""The doctor over TLS: Debian's redis-server with --tls-port and certificates made here.

One redis-server requires client certificates (mutual TLS) and presents a certificate for
127.0.0.1; two more present a certificate for another name and an expired one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from ldstore.cli import main
from ldstore.doctor import RedisTLS, StoreUnreachableError, diagnose_redis
from ldstore.errors import InputValidationError
from ldstore.result import Err, Ok

from .support import now_ms, seed_redis
from .tls import Certificates, TLSServer, make_certificates, tls_redis_server

BOUND = 20.0  # seconds for one diagnosis, far above what one takes


@attrs.frozen
class Servers:
    certs: Certificates
    mutual: TLSServer  # 127.0.0.1's certificate; client certificates required
    wrong_name: TLSServer
    expired: TLSServer


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    directory = tmp_path_factory.mktemp("tls")
    certs = make_certificates(directory)
    with (
        tls_redis_server(directory, certs, certs.server, clients="yes") as mutual,
        tls_redis_server(directory, certs, certs.wrong_name, clients="no") as wrong_name,
        tls_redis_server(directory, certs, certs.expired, clients="no") as expired,
    ):
        seed_redis(mutual.admin, synchronized_on=now_ms())
        seed_redis(wrong_name.admin, synchronized_on=now_ms())
        yield Servers(certs, mutual, wrong_name, expired)


def mutual_tls(certs: Certificates, **changes: Any) -> RedisTLS:
    tls = RedisTLS(
        ca_file=str(certs.ca.cert), cert_file=str(certs.client.cert), key_file=str(certs.client.key)
    )
    return attrs.evolve(tls, **changes)


async def test_a_private_ca_and_a_client_certificate_read_the_store(servers: Servers) -> None:
    """Point 1: the CA that signed the server's certificate, and a client certificate: healthy."""
    seed_redis(servers.mutual.admin, synchronized_on=now_ms())

    result = await asyncio.wait_for(
        diagnose_redis(servers.mutual.url, tls=mutual_tls(servers.certs)), BOUND
    )

    assert isinstance(result, Ok), result
    assert result.value.healthy, result.value.checks
    assert result.value.location == servers.mutual.url


@pytest.mark.parametrize(
    ("server", "tls", "reason"),
    [
        ("mutual", {"ca_file": "other_ca"}, "unknown CA"),
        ("mutual", {"ca_file": None}, "unknown CA"),
        ("mutual", {"cert_file": None, "key_file": None}, "a client certificate (mutual TLS)"),
        ("wrong_name", {}, "name mismatch"),
        ("expired", {}, "certificate expired"),
    ],
)
async def test_a_certificate_problem_is_named_in_one_line(
    servers: Servers, server: str, tls: dict[str, str | None], reason: str
) -> None:
    """Point 1: unknown CA, a missing client certificate, name mismatch, expiry: each named."""
    changes = {
        name: str(servers.certs.other_ca.cert) if value == "other_ca" else value
        for name, value in tls.items()
    }
    target: TLSServer = getattr(servers, server)

    result = await asyncio.wait_for(
        diagnose_redis(target.url, tls=mutual_tls(servers.certs, **changes), timeout=2), BOUND
    )

    assert isinstance(result, Err)
    assert isinstance(result.error, StoreUnreachableError)
    assert reason in str(result.error)
    assert "\n" not in str(result.error)


async def test_insecure_skips_verification_and_says_so_first(servers: Servers) -> None:
    """Point 1: --tls-insecure reads a store whose certificate names another host; check one warns."""
    result = await asyncio.wait_for(
        diagnose_redis(servers.wrong_name.url, tls=RedisTLS(insecure=True)), BOUND
    )

    assert isinstance(result, Ok), result
    first = result.value.checks[0]
    assert (first.name, first.status) == ("tls", "warning")
    assert result.value.healthy  # a warning, not a failure


@pytest.mark.parametrize(
    ("url", "tls"),
    [
        ("redis://127.0.0.1:1/0", RedisTLS(insecure=True)),
        ("rediss://127.0.0.1:1/0", RedisTLS(cert_file="x.pem")),
        ("rediss://127.0.0.1:1/0", RedisTLS(ca_file="/no/such/ca.pem")),
    ],
)
async def test_tls_settings_are_checked_before_connecting(url: str, tls: RedisTLS) -> None:
    """TLS settings on redis://, half a client certificate, a missing file: InputValidationError."""
    result = await diagnose_redis(url, tls=tls)

    assert isinstance(result, Err)
    assert isinstance(result.error, InputValidationError)


async def cli(*args: str) -> tuple[int, str, str]:
    """``ldstore *args`` in a subprocess (no ldstore settings from this machine)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LD_")}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "ldstore"),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), BOUND)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_the_command_line_speaks_mutual_tls(servers: Servers) -> None:
    """``--tls-ca --tls-cert --tls-key``: exit 0; a wrong CA: exit 3 with the reason in one line."""
    certs = servers.certs
    flags = ["--tls-cert", str(certs.client.cert), "--tls-key", str(certs.client.key)]

    good = await cli(
        "doctor", "redis", "--url", servers.mutual.url, "--tls-ca", str(certs.ca.cert), *flags
    )
    bad = await cli(
        "doctor", "redis", "--url", servers.mutual.url, "--tls-ca", str(certs.other_ca.cert), *flags
    )

    assert good[0] == 0, good
    assert bad[0] == 3
    assert bad[1] == ""
    (line,) = bad[2].splitlines()
    assert "unknown CA" in line


async def test_the_command_line_says_first_when_it_did_not_verify(
    servers: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--tls-insecure``: the report's first line says the certificate was NOT verified."""
    code = await asyncio.to_thread(
        main, ["doctor", "redis", "--url", servers.wrong_name.url, "--tls-insecure"]
    )

    first = capsys.readouterr().out.splitlines()[0]
    assert code == 0
    assert first.startswith("TLS certificate NOT verified: Redis store rediss://127.0.0.1:")
