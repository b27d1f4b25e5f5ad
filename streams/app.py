"""The composition root: one faust app, its topics, tables and agents, built from settings.

Nothing here runs at import: `build_app` wires a `FastApp` (faust with the batch fast
path of `streams.fastpath`) for the given settings, endpoints and strategy config, so a
test, a replay namespace and the worker each get their own app.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local import Endpoints
from infra.settings import Settings
from infra.telemetry import Tracing, setup_tracing
from schemas.codec import AvroSerializer, deserializer_for, serializer_for
from streams.engine import EngineSettings
from streams.fastpath import FastApp
from streams.strategies import StrategyConfig, load_config
from streams.strategies.config import EXAMPLES_DIR

__all__ = ["ProcessingContext", "app_id", "build_app", "default_strategy_config"]


@dataclass(frozen=True)
class ProcessingContext:
    """What the agents need, passed explicitly (no module-level singletons)."""

    settings: Settings
    endpoints: Endpoints
    strategies: StrategyConfig
    engine: EngineSettings
    registry: Any  # confluent_kafka SchemaRegistryClient | None
    tracing: Tracing | None = None

    def serializer(self, record: str, topic: str) -> AvroSerializer:
        """Return the Avro serializer of RECORD for TOPIC."""
        return serializer_for(record, registry=self.registry, subject=f"{topic}-value")

    def decoder(self, record: str) -> Any:
        """Return the Avro deserializer whose reader schema is RECORD."""
        return deserializer_for(record, registry=self.registry)


def app_id(settings: Settings) -> str:
    """Return the faust app id (consumer group, changelog prefix) of the namespace."""
    return f"primestream-{settings.namespace}" if settings.namespace else "primestream"


def default_strategy_config() -> Path:
    """Return the shipped example strategy config."""
    return EXAMPLES_DIR / "default.toml"


def build_app(
    settings: Settings,
    endpoints: Endpoints,
    *,
    strategy_config: Path | None = None,
    web_port: int | None = None,
) -> FastApp:
    """Return the faust app with every agent registered, ready for a worker to run."""
    from schemas.registry import registry_client

    registry = (
        registry_client(
            endpoints.schema_registry_url,
            user=settings.schema_registry_user,
            password=settings.schema_registry_password,
        )
        if endpoints.schema_registry_url
        else None
    )
    config = load_config(
        strategy_config or settings.strategy_config or default_strategy_config(),
        settings.strategy_overrides,
    )
    ctx = ProcessingContext(
        settings,
        endpoints,
        config,
        EngineSettings(grace_us=int(settings.event_time_grace_ms * 1000)),
        registry,
        setup_tracing(settings),
    )
    ident = app_id(settings)
    datadir = settings.home / "workers" / ident
    datadir.parent.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    brokers = ";".join(f"kafka://{b.strip()}" for b in endpoints.bootstrap_servers.split(","))
    app = FastApp(
        ident,
        broker=brokers,
        store="rocksdb://",
        datadir=str(datadir),
        processing_guarantee="exactly_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        table_standby_replicas=settings.standby_replicas,
        broker_commit_interval=settings.commit_interval_ms / 1000.0,
        consumer_auto_offset_reset="earliest",
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_bind="127.0.0.1",
    )
    from streams.signals.agents import register

    register(app, ctx)
    return app
