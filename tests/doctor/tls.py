"""Certificates made in the test (a CA, server and client certificates) and TLS redis-servers."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import attrs
import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .support import STARTUP, Admin, free_port, require, stop

_NOW = dt.datetime.now(dt.timezone.utc)


@attrs.frozen
class Pair:
    """A certificate and its key, as PEM files."""

    cert: Path
    key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(
    directory: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Pair:
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    _ = cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _ = key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Pair(cert_path, key_path)


def make_ca(
    directory: Path, name: str
) -> tuple[Pair, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - dt.timedelta(days=1))
        .not_valid_after(_NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _write(directory, name, cert, key), cert, key


def make_leaf(  # noqa: PLR0913 - each a property of the certificate
    directory: Path,
    name: str,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    *,
    ip: str | None = None,
    dns: str | None = None,
    client: bool = False,
    expired: bool = False,
) -> Pair:
    """A certificate signed by ``ca`` for ``ip``/``dns`` (a server) or a client."""
    ca_cert, ca_key = ca
    key = _key()
    names: list[x509.GeneralName] = []
    if ip is not None:
        names.append(x509.IPAddress(ipaddress.ip_address(ip)))
    if dns is not None:
        names.append(x509.DNSName(dns))
    start, end = (
        (_NOW - dt.timedelta(days=10), _NOW - dt.timedelta(days=1))
        if expired
        else (_NOW - dt.timedelta(days=1), _NOW + dt.timedelta(days=30))
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return _write(directory, name, builder.sign(ca_key, hashes.SHA256()), key)


@attrs.frozen
class Certificates:
    ca: Pair
    other_ca: Pair
    server: Pair  # for 127.0.0.1
    wrong_name: Pair  # for wrong-name.example only
    expired: Pair  # for 127.0.0.1, expired yesterday
    client: Pair


def make_certificates(directory: Path) -> Certificates:
    ca, ca_cert, ca_key = make_ca(directory, "ldstore-test-ca")
    other, _, _ = make_ca(directory, "some-other-ca")
    signer = (ca_cert, ca_key)
    return Certificates(
        ca=ca,
        other_ca=other,
        server=make_leaf(directory, "server", signer, ip="127.0.0.1"),
        wrong_name=make_leaf(directory, "wrong-name", signer, dns="wrong-name.example"),
        expired=make_leaf(directory, "expired", signer, ip="127.0.0.1", expired=True),
        client=make_leaf(directory, "client", signer, client=True),
    )


@attrs.frozen
class TLSServer:
    port: int
    admin: Admin

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"


@contextmanager
def tls_redis_server(
    directory: Path, certs: Certificates, server: Pair, *, clients: str
) -> Generator[TLSServer, None, None]:
    """redis-server on a free TLS port only, with ``server``'s certificate; ``clients``: yes/no."""
    program = require("redis-server")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own redis-server, fixed arguments
        [
            program,
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(server.cert),
            "--tls-key-file",
            str(server.key),
            "--tls-ca-cert-file",
            str(certs.ca.cert),
            "--tls-auth-clients",
            clients,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The admin trusts anything (one server's name does not match) and shows the client cert.
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        ssl=True,
        ssl_cert_reqs="none",
        ssl_check_hostname=False,
        ssl_certfile=str(certs.client.cert),
        ssl_keyfile=str(certs.client.key),
        socket_timeout=STARTUP,
    )
    admin = cast("Admin", client)
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            try:
                _ = admin.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("redis-server with TLS did not start")
                time.sleep(0.02)
        yield TLSServer(port, admin)
    finally:
        cast("Any", client).close()
        stop(process)
