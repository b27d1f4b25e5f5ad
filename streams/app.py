"""The composition root: one faust app, its topics, tables and agents, built from settings.

Nothing here runs at import: `build_app` wires a `FastApp` (faust with the batch fast
path of `streams.fastpath`) for the given settings, endpoints and strategy config, so a
test, a replay namespace and the worker each get their own app.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from infra.local import Endpoints
from infra.metrics import Metrics
from infra.settings import Settings
from infra.telemetry import Tracing, setup_tracing
from schemas.codec import AvroSerializer, deserializer_for, serializer_for
from streams.engine import EngineSettings
from streams.execution.config import load_fill_model
from streams.execution.fill_model import FillModel
from streams.fastpath import FastApp
from streams.readiness import LastError
from streams.recovery import install_recovery_watchdog
from streams.risk.config import RiskConfig, load_risk_config
from streams.strategies import StrategyConfig, load_config
from streams.strategies.config import EXAMPLES_DIR

__all__ = [
    "ProcessingContext",
    "TradingConfig",
    "app_id",
    "build_app",
    "default_strategy_config",
    "load_trading_config",
]


@dataclass(frozen=True)
class TradingConfig:
    """The risk gate's config and the paper broker's fill model (same TOML as strategies)."""

    risk: RiskConfig
    fill_model: FillModel

    @property
    def mode(self) -> str:
        """alert-only, paper or live."""
        return self.risk.mode


def load_trading_config(path: Path, settings: Settings) -> TradingConfig:
    """Read the [risk], [sizing.*] and [execution] tables of PATH; settings may set the mode."""
    overrides = settings.strategy_overrides
    risk = load_risk_config(path, overrides)
    if settings.trading_mode is not None:
        risk = replace(risk, mode=settings.trading_mode)
    return TradingConfig(risk, load_fill_model(path, overrides))


@dataclass(frozen=True)
class ProcessingContext:
    """What the agents need, passed explicitly (no module-level singletons)."""

    settings: Settings
    endpoints: Endpoints
    strategies: StrategyConfig
    engine: EngineSettings
    registry: Any  # confluent_kafka SchemaRegistryClient | None
    trading: TradingConfig
    tracing: Tracing | None = None
    metrics: Metrics | None = None  # the stages count their batches here (None: not counted)
    last_error: LastError = field(default_factory=LastError)

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


def strategy_config_path(settings: Settings, strategy_config: Path | None = None) -> Path:
    """Return the strategy TOML a worker uses: the argument, the settings, or the example."""
    return Path(strategy_config or settings.strategy_config or default_strategy_config())


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
    config_path = strategy_config_path(settings, strategy_config)
    config = load_config(config_path, settings.strategy_overrides)
    metrics = Metrics(settings.service_name)
    ctx = ProcessingContext(
        settings,
        endpoints,
        config,
        EngineSettings(grace_us=int(settings.event_time_grace_ms * 1000)),
        registry,
        load_trading_config(Path(config_path), settings),
        setup_tracing(settings),
        metrics,
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
        producer_linger=settings.producer_linger_ms / 1000.0,
        # A kill -9'd worker holds its partitions until its session expires: recovery
        # time is bounded by this, so it is seconds, not faust's default minute.
        broker_session_timeout=settings.session_timeout_secs,
        broker_heartbeat_interval=settings.session_timeout_secs / 4.0,
        consumer_auto_offset_reset="earliest",
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_bind="127.0.0.1",
        # One per process, so `primestream status` can tell the group's members apart.
        broker_client_id=f"{ident}-{socket.gethostname()}-{os.getpid()}",
    )
    register_agents(app, ctx)
    watch = install_recovery_watchdog(app, settings.recovery_stall_secs)
    from streams.views import install_worker_views

    install_worker_views(app, ctx, watch, metrics)
    return app


def register_agents(app: FastApp, ctx: ProcessingContext) -> None:
    """Register the agents of the trading mode.

    alert-only: the signal agent and the risk gate (alerts, no orders). paper: the paper
    desk, the whole loop in one agent (see `streams.desk` for why). live: signals, risk, the
    venue agent (orders to the live adapter, its answers to events and fills) and the
    position table as separate agents.
    """
    from streams import desk_agent
    from streams.execution import venue_agent
    from streams.positions import agents as positions
    from streams.risk import agents as risk
    from streams.signals import agents as signals

    if ctx.trading.mode == "paper":
        desk_agent.register(app, ctx)
        return
    signals.register(app, ctx)
    risk.register(app, ctx)
    if ctx.trading.mode == "live":
        positions.register(app, ctx)
        venue_agent.register(app, ctx)
