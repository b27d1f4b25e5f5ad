"""The clients of one process: where Kafka and the registry are, the registry client, codecs.

One object serves every command and the worker alike (`cli.context` and
`streams.context` both take it), so a registry client and a serializer are built one way
only, lazily: nothing connects until first used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from infra.kafka_access import check_access
from infra.local import Endpoints, resolve_endpoints
from infra.settings import Settings, get_settings
from infra.topics import topic_specs

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from schemas.codec import AvroDeserializer, AvroSerializer

__all__ = ["Clients"]


@dataclass
class Clients:
    """Lazily built clients for one process; nothing connects until first used.

    ENDPOINTS, when given, are where the broker and registry are; otherwise they come from
    the settings, else from the running local infra.
    """

    settings: Settings = field(default_factory=get_settings)
    given_endpoints: Endpoints | None = None

    @cached_property
    def endpoints(self) -> Endpoints:
        """Where the broker and registry are.

        On a secured connection the broker must answer first (`infra.kafka_access`): a
        wrong password or CA is one KafkaAccessError here, not a client retrying forever.
        """
        found = self.given_endpoints or resolve_endpoints(self.settings)
        if self.settings.kafka_secured:
            check_access(self.settings, found.bootstrap_servers)
        return found

    @cached_property
    def registry(self) -> SchemaRegistryClient | None:
        """The schema registry client, or None for single-object encoding."""
        url = self.endpoints.schema_registry_url
        if url is None:
            return None
        from schemas.registry import registry_client

        return registry_client(
            url,
            user=self.settings.schema_registry_user,
            password=self.settings.schema_registry_password,
        )

    def record_of(self, topic: str) -> str | None:
        """Return the record type carried by TOPIC (namespaced or not); None for raw topics."""
        ns = self.settings.namespace
        base = topic[len(ns) + 1 :] if ns and topic.startswith(ns + ".") else topic
        for spec in topic_specs(self.settings):
            if spec.name == base:
                return spec.record
        raise LookupError(f"unknown topic {topic!r}: see `primestream topics list`")

    def serializer(self, record: str, topic: str) -> AvroSerializer:
        """Return the serializer of RECORD for TOPIC (subject `<topic>-value`)."""
        from schemas.codec import serializer_for

        return serializer_for(record, registry=self.registry, subject=f"{topic}-value")

    def deserializer(self, record: str) -> AvroDeserializer:
        """Return a deserializer whose reader schema is RECORD."""
        from schemas.codec import deserializer_for

        return deserializer_for(record, registry=self.registry)
