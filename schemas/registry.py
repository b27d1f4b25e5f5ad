"""A thin, typed layer over confluent_kafka's schema registry client (Confluent-compatible API)."""

from __future__ import annotations

from collections.abc import Mapping

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from pydantic import SecretStr

from schemas.catalog import schema_text

__all__ = [
    "COMPATIBILITY_LEVELS",
    "register_all",
    "registry_client",
    "set_compatibility",
    "value_subject",
]

COMPATIBILITY_LEVELS = frozenset(
    {
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
        "NONE",
    }
)


REQUEST_TIMEOUT_SECS = 10


def registry_client(
    url: str, *, user: str | None = None, password: SecretStr | None = None
) -> SchemaRegistryClient:
    """Return a client of the registry at URL, with basic auth when USER is given (no I/O)."""
    # Without a timeout a registry that stops answering blocks a worker's event loop for
    # good (the client is synchronous): a silent hang instead of an error.
    conf: dict[str, str | int] = {"url": url, "timeout": REQUEST_TIMEOUT_SECS}
    if user is not None:
        secret = password.get_secret_value() if password is not None else ""
        conf["basic.auth.user.info"] = f"{user}:{secret}"
    return SchemaRegistryClient(conf)


def value_subject(topic: str) -> str:
    """Return the subject of TOPIC's values under TopicNameStrategy: "<topic>-value"."""
    return f"{topic}-value"


def register_all(
    client: SchemaRegistryClient, topic_for_record: Mapping[str, str]
) -> dict[str, int]:
    """Register each record's schema under its topic's value subject; return subject -> id.

    Idempotent: registering a schema the subject already has returns its existing id.
    """
    ids: dict[str, int] = {}
    for record, topic in topic_for_record.items():
        subject = value_subject(topic)
        ids[subject] = client.register_schema(subject, Schema(schema_text(record), "AVRO"))
    return ids


def set_compatibility(client: SchemaRegistryClient, subject: str, level: str = "BACKWARD") -> None:
    """Set SUBJECT's compatibility LEVEL (BACKWARD, FULL, NONE, ...)."""
    if level not in COMPATIBILITY_LEVELS:
        raise ValueError(f"unknown compatibility level {level!r}")
    client.set_compatibility(subject_name=subject, level=level)
