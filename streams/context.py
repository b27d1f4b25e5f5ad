"""What the agents need, passed explicitly: settings, endpoints, configs, codecs, telemetry.

A leaf module: the composition root (`streams.app`) builds one `ProcessingContext` and
hands it to every stage; nothing here imports an agent or the stream framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from infra.local import Endpoints
from infra.metrics import Metrics
from infra.settings import Settings
from infra.telemetry import Tracing
from schemas.clients import Clients
from schemas.codec import AvroSerializer
from streams.engine import EngineSettings
from streams.execution.config import load_fill_model
from streams.execution.fill_model import FillModel
from streams.readiness import LastError
from streams.risk.config import RiskConfig, load_risk_config
from streams.stop_request import StopRequest
from streams.strategies import StrategyConfig
from streams.strategies.config import EXAMPLES_DIR

__all__ = [
    "ProcessingContext",
    "TradingConfig",
    "app_id",
    "default_strategy_config",
    "load_trading_config",
    "strategy_config_path",
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
    """What the agents need, passed explicitly (no module-level singletons).

    CLIENTS are the process's settings, endpoints, registry client and codecs, the same
    object the commands use.
    """

    clients: Clients
    strategies: StrategyConfig
    engine: EngineSettings
    trading: TradingConfig
    tracing: Tracing | None = None
    metrics: Metrics | None = None  # the stages count their batches here (None: not counted)
    last_error: LastError = field(default_factory=LastError)
    stop: StopRequest = field(default_factory=StopRequest)  # a stage's reason to end the worker

    @property
    def settings(self) -> Settings:
        """The process's settings."""
        return self.clients.settings

    @property
    def endpoints(self) -> Endpoints:
        """Where the broker and registry are."""
        return self.clients.endpoints

    @property
    def registry(self) -> Any:
        """The schema registry client (confluent-kafka's), or None."""
        return self.clients.registry

    def serializer(self, record: str, topic: str) -> AvroSerializer:
        """Return the Avro serializer of RECORD for TOPIC."""
        return self.clients.serializer(record, topic)

    def decoder(self, record: str) -> Any:
        """Return the Avro deserializer whose reader schema is RECORD."""
        return self.clients.deserializer(record)


def app_id(settings: Settings) -> str:
    """Return the app id (consumer group, changelog prefix) of the namespace."""
    return f"primestream-{settings.namespace}" if settings.namespace else "primestream"


def default_strategy_config() -> Path:
    """Return the shipped example strategy config."""
    return EXAMPLES_DIR / "default.toml"


def strategy_config_path(settings: Settings, strategy_config: Path | None = None) -> Path:
    """Return the strategy TOML a worker uses: the argument, the settings, or the example."""
    return Path(strategy_config or settings.strategy_config or default_strategy_config())
