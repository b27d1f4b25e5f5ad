"""A throwaway certificate authority for the local secured broker, made with `cryptography`.

`infra up --secure` needs TLS without assuming openssl or a keytool step: a CA and one
certificate for the broker (valid for 127.0.0.1 and localhost). The CA is a PEM file that
the broker (`ssl.truststore.type=PEM`) and librdkafka (`ssl.ca.location`) both read; the
broker's key and certificate chain a PKCS#12 key store, which every Java 17 reads.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["BROKER_CN", "LocalPki", "ensure_local_pki", "write_private"]

BROKER_CN = "primestream-broker"  # the broker's TLS principal: User:CN=primestream-broker
_VALID_DAYS = 825


@dataclass(frozen=True)
class LocalPki:
    """Where the CA certificate (PEM) and the broker's key store (PKCS#12) are."""

    ca_path: Path
    keystore_path: Path
    keystore_password: str


def _name(common_name: str) -> x509.Name:
    # The CN alone: Kafka's principal of a TLS client is its subject, `User:CN=<name>`.
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> Any:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
    )


def write_private(path: Path, data: bytes) -> None:
    """Write DATA to PATH readable by this user only, from the first byte on (keys, passwords)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def ensure_local_pki(directory: Path, keystore_password: str) -> LocalPki:
    """Return the CA and broker certificate in DIRECTORY, making them on the first call.

    The key store is encrypted with KEYSTORE_PASSWORD; the CA's key is not kept: nothing
    else is ever signed with it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    pki = LocalPki(directory / "ca.pem", directory / "broker.p12", keystore_password)
    if pki.ca_path.is_file() and pki.keystore_path.is_file():
        return pki
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("primestream local CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_cert = (
        _builder(_name(BROKER_CN), ca_name, broker_key)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    keystore = pkcs12.serialize_key_and_certificates(
        b"broker",
        broker_key,
        broker_cert,
        [ca_cert],
        serialization.BestAvailableEncryption(keystore_password.encode()),
    )
    write_private(pki.keystore_path, keystore)
    pki.ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return pki
