"""The first request to a secured broker, bounded: a wrong password is one clear line, not a hang.

librdkafka answers a refused login or a failed TLS handshake by reconnecting forever and
logging each try; a command would hang and a worker spin. `check_access` asks for the
cluster's metadata once, within `kafka_connect_timeout_secs`, and turns what went wrong
into a `KafkaAccessError` that names the cause (and never the password).
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from infra.clients import admin_config
from infra.exceptions import KafkaAccessError
from infra.settings import Settings

__all__ = ["access_problem", "check_access", "topic_access_error"]

_STEP_SECS = 0.25
_FATAL = (KafkaError._AUTHENTICATION, KafkaError._SSL)  # retrying cannot mend these


def access_problem(settings: Settings, bootstrap_servers: str, error: KafkaError | None) -> str:
    """Return one line saying why BOOTSTRAP_SERVERS could not be used (pure; for tests too)."""
    who = settings.kafka_sasl_username or "(no user)"
    where = f"Kafka at {bootstrap_servers}"
    if error is not None and error.code() == KafkaError._AUTHENTICATION:
        return (
            f"{where} refused user {who!r} ({settings.kafka_sasl_mechanism}): wrong user name "
            "or password (PRIMESTREAM_KAFKA_SASL_USERNAME / PRIMESTREAM_KAFKA_SASL_PASSWORD)"
        )
    if error is not None and error.code() == KafkaError._SSL:
        return (
            f"{where}: TLS handshake failed ({_reason(error)}); is "
            "PRIMESTREAM_KAFKA_SSL_CA_LOCATION the CA that signed the broker's certificate?"
        )
    last = f" (last error: {_reason(error)})" if error is not None else ""
    return (
        f"{where} did not answer within {settings.kafka_connect_timeout_secs:g} s over "
        f"{settings.kafka_security_protocol}{last}"
    )


def _reason(error: KafkaError) -> str:
    # librdkafka's text starts with the broker's address ("sasl_ssl://h:p/bootstrap: ...").
    text = " ".join((error.str() or error.name()).split())
    head, _, rest = text.partition(": ")
    return rest if rest and "://" in head else text


def check_access(settings: Settings, bootstrap_servers: str) -> None:
    """Return once the broker has answered a metadata request; else raise KafkaAccessError.

    A refused login or TLS handshake ends the wait at once; anything else waits up to
    `settings.kafka_connect_timeout_secs`.
    """
    errors: list[KafkaError] = []
    config: dict[str, Any] = {
        **admin_config(settings, bootstrap_servers),
        "error_cb": errors.append,
        "log_level": 0,  # the one line below says it all; librdkafka would log every retry
    }
    admin = AdminClient(config)
    deadline = time.monotonic() + settings.kafka_connect_timeout_secs
    while True:
        admin.poll(0)  # serves error_cb
        fatal = next((e for e in errors if e.code() in _FATAL), None)
        if fatal is not None:
            raise KafkaAccessError(access_problem(settings, bootstrap_servers, fatal))
        try:
            admin.list_topics(timeout=_STEP_SECS)
        except KafkaException as exc:
            if time.monotonic() >= deadline:
                last = errors[-1] if errors else exc.args[0]
                raise KafkaAccessError(access_problem(settings, bootstrap_servers, last)) from None
            continue
        return


def topic_access_error(topic: str, error: KafkaError) -> KafkaAccessError | None:
    """Return the one-line error of a refused authorization on TOPIC; None for other errors."""
    refused = {
        KafkaError.TOPIC_AUTHORIZATION_FAILED: f"topic {topic!r}",
        KafkaError.GROUP_AUTHORIZATION_FAILED: "its consumer group",
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "its transactional id",
        KafkaError.CLUSTER_AUTHORIZATION_FAILED: "the cluster",
    }
    what = refused.get(error.code())
    if what is None:
        return None
    return KafkaAccessError(
        f"not authorized: this client's Kafka principal has no ACL allowing it to use {what} "
        f"({error.name()})"
    )
