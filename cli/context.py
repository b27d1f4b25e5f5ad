"""What every command needs: settings, endpoints, codecs, consoles, and one way to fail."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console

from infra.local import Endpoints, resolve_endpoints
from infra.settings import Settings, get_settings
from infra.topics import topic_specs

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from schemas.codec import AvroDeserializer, AvroSerializer

__all__ = ["Runtime", "console", "err_console", "fail"]

# Piped or logged output (make demo, CI) gets 160 columns rather than rich's 80, so tables
# of records stay one line per record; COLUMNS still wins when set.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit with CODE."""
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)


@dataclass
class Runtime:
    """Lazily built clients for one command; nothing connects until first used."""

    settings: Settings = field(default_factory=get_settings)

    @cached_property
    def endpoints(self) -> Endpoints:
        """Where the broker and registry are (settings, else the running local infra)."""
        return resolve_endpoints(self.settings)

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
