"""The local broker's secured mode (`infra up --secure`): SASL_SSL, SCRAM-SHA-512 and ACLs.

One listener for clients, SASL_SSL with SCRAM-SHA-512 (also the broker's own inter-broker
listener, as the super user); the KRaft controller listener is TLS with client
certificates, so only the broker's key talks to it (SCRAM cannot serve controllers: its
credentials live in the metadata the controller serves). `StandardAuthorizer` refuses
whatever no ACL allows; the super users are the admin and the broker's certificate.

The admin's credentials are made once per home (or taken from PRIMESTREAM_KAFKA_SASL_*
on that first start) and kept in `<home>/kafka/secure/client.env` (mode 0600) with the
rest of what a client needs; `kafka-storage format` gets only its SCRAM salted password,
so the clear password is never on a command line. Everything here but `ensure_*` is pure.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from infra.jvm_service import LOOPBACK
from infra.settings import Settings

if TYPE_CHECKING:
    from infra.tls import LocalPki

# infra.tls loads cryptography (~0.4 s): imported where a secured broker needs it, so every
# CLI command that loads infra.local does not pay for it.

__all__ = [
    "MECHANISM",
    "SCRAM_ITERATIONS",
    "SecureBroker",
    "client_env",
    "ensure_secure_broker",
    "parse_env_file",
    "scram_format_argument",
    "scram_salted_password",
    "secure_properties",
]

MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192
_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


@dataclass(frozen=True)
class SecureBroker:
    """What the secured broker and its clients share: the PKI and the admin's credentials."""

    pki: LocalPki
    admin_user: str
    admin_password: SecretStr
    env_path: Path


def scram_salted_password(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> bytes:
    """Return SCRAM-SHA-512's SaltedPassword: Hi(password, salt, i) of RFC 5802 (PBKDF2)."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


def scram_format_argument(user: str, password: str, salt: bytes) -> str:
    """Return `kafka-storage format --add-scram`'s value for USER, salted, no clear password."""
    salted = base64.b64encode(scram_salted_password(password, salt)).decode()
    return (
        f'{MECHANISM}=[name={user},salt="{base64.b64encode(salt).decode()}",'
        f'saltedpassword="{salted}",iterations={SCRAM_ITERATIONS}]'
    )


def _jaas(user: str, password: str) -> str:
    return f'{_SCRAM_MODULE} required username="{user}" password="{password}";'


def secure_properties(secure: SecureBroker, port: int, controller_port: int) -> dict[str, str]:
    """Return the server.properties keys that secure a one-node broker (over the plain ones)."""
    from infra.tls import BROKER_CN

    host = LOOPBACK
    pki = secure.pki
    store_password = pki.keystore_password
    return {
        "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"SASL_SSL://{host}:{port}",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": _jaas(
            secure.admin_user, secure.admin_password.get_secret_value()
        ),
        "listener.name.controller.ssl.client.auth": "required",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(pki.keystore_path),
        "ssl.keystore.password": store_password,
        "ssl.key.password": store_password,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(pki.ca_path),
        "ssl.endpoint.identification.algorithm": "https",
        "authorizer.class.name": _AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{secure.admin_user};User:CN={BROKER_CN}",
    }


def client_env(secure: SecureBroker) -> dict[str, str]:
    """Return the PRIMESTREAM_* settings a client of the secured local broker needs."""
    return {
        "PRIMESTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "PRIMESTREAM_KAFKA_SASL_MECHANISM": MECHANISM,
        "PRIMESTREAM_KAFKA_SASL_USERNAME": secure.admin_user,
        "PRIMESTREAM_KAFKA_SASL_PASSWORD": secure.admin_password.get_secret_value(),
        "PRIMESTREAM_KAFKA_SSL_CA_LOCATION": str(secure.pki.ca_path),
    }


def parse_env_file(text: str) -> dict[str, str]:
    """Return the KEY=VALUE lines of TEXT (comments, blanks and `export ` prefixes skipped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip().removeprefix("export ")
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            found[key.strip()] = value.strip().strip("'\"")
    return found


def ensure_secure_broker(settings: Settings, directory: Path) -> SecureBroker:
    """Return the secured broker's PKI and admin credentials in DIRECTORY, made once.

    The first start takes PRIMESTREAM_KAFKA_SASL_USERNAME/PASSWORD as the admin's when
    both are set, else `admin` and a random password; later starts read the env file.
    """
    from infra.tls import ensure_local_pki, write_private

    directory.mkdir(parents=True, exist_ok=True)
    env_path = directory / "client.env"
    keystore_secret = directory / "keystore.secret"
    if not keystore_secret.is_file():
        write_private(keystore_secret, secrets.token_urlsafe(24).encode())
    pki = ensure_local_pki(directory, keystore_secret.read_text().strip())
    if env_path.is_file():
        saved = parse_env_file(env_path.read_text())
        user = saved["PRIMESTREAM_KAFKA_SASL_USERNAME"]
        password = SecretStr(saved["PRIMESTREAM_KAFKA_SASL_PASSWORD"])
        return SecureBroker(pki, user, password, env_path)
    user = settings.kafka_sasl_username or "admin"
    given = settings.kafka_sasl_password if settings.kafka_sasl_username else None
    password = given or SecretStr(secrets.token_urlsafe(24))
    secure = SecureBroker(pki, user, password, env_path)
    lines = ["# Clients of the local secured broker: set -a; . THIS_FILE; set +a"]
    lines += [f"{key}={value}" for key, value in client_env(secure).items()]
    write_private(env_path, ("\n".join(lines) + "\n").encode())
    return secure
