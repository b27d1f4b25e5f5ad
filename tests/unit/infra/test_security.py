"""The secured mode without a broker: settings to librdkafka keys, certificates, SCRAM, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from pydantic import SecretStr

from infra.broker import render_server_properties
from infra.broker_security import (
    SCRAM_ITERATIONS,
    client_env,
    ensure_secure_broker,
    parse_env_file,
    scram_format_argument,
    scram_salted_password,
    secure_properties,
)
from infra.clients import admin_config, consumer_config, producer_config
from infra.kafka_access import access_problem, topic_access_error
from infra.settings import Settings
from infra.tls import BROKER_CN, ensure_local_pki

_PASSWORD = "s3cr3t-pa55"


def _settings(**fields: object) -> Settings:
    return Settings(_env_file=None, **fields)  # type: ignore[arg-type]


def _secured(tmp_path: Path) -> Settings:
    return _settings(
        home=tmp_path,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="svc",
        kafka_sasl_password=SecretStr(_PASSWORD),
        kafka_ssl_ca_location=tmp_path / "ca.pem",
    )


def test_plaintext_settings_add_no_security_keys() -> None:
    assert admin_config(_settings(), "k:9092") == {"bootstrap.servers": "k:9092"}


def test_typed_security_settings_reach_every_client(tmp_path: Path) -> None:
    settings = _secured(tmp_path)
    want = {
        "security.protocol": "sasl_ssl",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "svc",
        "sasl.password": _PASSWORD,
        "ssl.ca.location": str(tmp_path / "ca.pem"),
    }
    for config in (
        admin_config(settings, "k:9093"),
        producer_config(settings, "k:9093"),
        consumer_config(settings, "k:9093", "g"),
    ):
        assert {k: config[k] for k in want} == want


def test_extra_config_wins_over_the_typed_settings(tmp_path: Path) -> None:
    settings = _secured(tmp_path).model_copy(
        update={"kafka_extra_config": {"sasl.mechanisms": "PLAIN"}}
    )
    assert admin_config(settings, "k:9093")["sasl.mechanisms"] == "PLAIN"


def test_ssl_without_sasl_sends_no_credentials(tmp_path: Path) -> None:
    settings = _secured(tmp_path).model_copy(update={"kafka_security_protocol": "SSL"})
    config = admin_config(settings, "k:9093")
    assert config["security.protocol"] == "ssl"
    assert not any(key.startswith("sasl.") for key in config)


def test_the_kafka_password_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIMESTREAM_KAFKA_SASL_PASSWORD", _PASSWORD)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert _PASSWORD not in repr(settings)
    assert _PASSWORD not in str(settings.model_dump())


def test_the_local_ca_signs_a_broker_certificate_for_loopback(tmp_path: Path) -> None:
    pki = ensure_local_pki(tmp_path / "tls", "store-pass")
    ca = x509.load_pem_x509_certificate(pki.ca_path.read_bytes())
    key, cert, chain = pkcs12.load_key_and_certificates(
        pki.keystore_path.read_bytes(), b"store-pass"
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert cert is not None
    cert.verify_directly_issued_by(ca)
    assert [c.subject for c in chain] == [ca.subject]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert cert.subject.rfc4514_string() == f"CN={BROKER_CN}"  # the principal super.users names
    assert oct(pki.keystore_path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError, match="Invalid password"):
        pkcs12.load_key_and_certificates(pki.keystore_path.read_bytes(), b"wrong")


def test_scram_salted_password_is_rfc5802_hi_with_sha512() -> None:
    salt = b"salt-bytes"
    # Hi(str, salt, i): U1 = HMAC(str, salt + INT(1)), Ui = HMAC(str, Ui-1), XORed together.
    u = hmac.new(_PASSWORD.encode(), salt + b"\x00\x00\x00\x01", hashlib.sha512).digest()
    result = bytearray(u)
    for _ in range(SCRAM_ITERATIONS - 1):
        u = hmac.new(_PASSWORD.encode(), u, hashlib.sha512).digest()
        result = bytearray(a ^ b for a, b in zip(result, u, strict=True))
    assert scram_salted_password(_PASSWORD, salt) == bytes(result)


def test_the_format_argument_carries_a_salted_password_never_the_clear_one() -> None:
    argument = scram_format_argument("admin", _PASSWORD, b"0123456789abcdef")
    assert argument.startswith("SCRAM-SHA-512=[name=admin,salt=")
    assert _PASSWORD not in argument
    salted = base64.b64encode(scram_salted_password(_PASSWORD, b"0123456789abcdef")).decode()
    assert f'saltedpassword="{salted}"' in argument
    assert f"iterations={SCRAM_ITERATIONS}]" in argument


def test_secured_properties_have_sasl_ssl_clients_mtls_controller_and_acls(
    tmp_path: Path,
) -> None:
    secure = ensure_secure_broker(_settings(), tmp_path / "secure")
    props = dict(
        line.split("=", 1)
        for line in render_server_properties(
            port=19092,
            controller_port=19093,
            data_dir=tmp_path,
            overrides=secure_properties(secure, 19092, 19093),
        ).splitlines()
        if not line.startswith("#")
    )
    assert props["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SSL"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == f"User:admin;User:CN={BROKER_CN}"
    assert "PLAINTEXT" not in props["listeners"]


def test_admin_credentials_are_made_once_and_kept_private(tmp_path: Path) -> None:
    first = ensure_secure_broker(_settings(), tmp_path / "secure")
    again = ensure_secure_broker(_settings(kafka_sasl_username="other"), tmp_path / "secure")
    assert (first.admin_user, again.admin_user) == ("admin", "admin")
    assert first.admin_password == again.admin_password
    assert oct(first.env_path.stat().st_mode & 0o777) == "0o600"
    saved = parse_env_file(first.env_path.read_text())
    assert saved == client_env(first)
    reread = Settings(_env_file=first.env_path)  # type: ignore[call-arg]
    assert reread.kafka_security_protocol == "SASL_SSL"
    assert reread.kafka_ssl_ca_location == first.pki.ca_path


def test_configured_credentials_become_the_admin_on_the_first_start(tmp_path: Path) -> None:
    settings = _settings(kafka_sasl_username="ops", kafka_sasl_password=SecretStr(_PASSWORD))
    secure = ensure_secure_broker(settings, tmp_path / "secure")
    assert (secure.admin_user, secure.admin_password.get_secret_value()) == ("ops", _PASSWORD)


def test_access_problems_are_one_line_without_the_password(tmp_path: Path) -> None:
    settings = _secured(tmp_path)
    auth = KafkaError(
        KafkaError._AUTHENTICATION,
        "sasl_ssl://127.0.0.1:1/bootstrap: SASL authentication error: Authentication failed",
    )
    tls = KafkaError(KafkaError._SSL, "ssl://127.0.0.1:1/bootstrap: SSL handshake failed: boom")
    lines = [
        access_problem(settings, "127.0.0.1:1", auth),
        access_problem(settings, "127.0.0.1:1", tls),
        access_problem(settings, "127.0.0.1:1", None),
    ]
    assert "refused user 'svc' (SCRAM-SHA-512): wrong user name or password" in lines[0]
    assert "TLS handshake failed (SSL handshake failed: boom)" in lines[1]
    assert "did not answer within 15 s over SASL_SSL" in lines[2]
    for line in lines:
        assert "\n" not in line
        assert _PASSWORD not in line


def test_refused_topic_authorization_is_a_clear_error_and_others_are_not() -> None:
    refused = topic_access_error("t.orders", KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    assert refused is not None
    assert str(refused).startswith("not authorized")
    assert "topic 't.orders'" in str(refused)
    assert topic_access_error("t.orders", KafkaError(KafkaError._TRANSPORT)) is None
