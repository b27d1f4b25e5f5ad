"""The trading core's agent, by mode: its topics, its tables, its venue, its web views.

One agent runs the core in every mode. Live mode adds the venue's agent
(`streams.agents.venue`): orders leave the process there, and its fills and order
events come back to the core as input.
"""

from __future__ import annotations

from infra.stage_tracing import StageTracer
from streams.context import ProcessingContext
from streams.runtime import StreamRuntime
from streams.stage import StageSpec, register_stage
from streams.trading.core import LEDGERS, POSITIONS, RISK, TRACED_STAGES, TradingCore, tables_of
from streams.trading.venue import PaperVenue
from streams.trading.views import add_position_views, add_risk_view

__all__ = ["register", "spec"]

_MARKET = {
    "market.quotes": "Quote",
    "market.bars": "Bar",
    "news.items": "NewsItem",
    "risk.control": "RiskControl",
}
_DECISIONS = {"signals": "Signal", "orders.rejected": "Rejection", "risk.control": "RiskControl"}


def spec(mode: str) -> StageSpec:
    """Return the core's stage in MODE: what it reads, writes and keeps."""
    if mode == "alert-only":
        return StageSpec("trading", _MARKET, {**_DECISIONS, "alerts": "Alert"}, tables_of(mode))
    if mode == "paper":
        outputs = {
            **_DECISIONS,
            "orders": "Order",
            "orders.events": "OrderEvent",
            "fills": "Fill",
            "positions": "Position",
        }
        return StageSpec("trading", _MARKET, outputs, tables_of(mode))
    inputs = {**_MARKET, "fills": "Fill", "orders.events": "OrderEvent"}
    outputs = {**_DECISIONS, "orders": "Order", "positions": "Position"}
    return StageSpec("trading", inputs, outputs, tables_of(mode))


def register(runtime: StreamRuntime, ctx: ProcessingContext) -> None:
    """Register the trading core's agent and its web views on the worker."""
    app = runtime.app
    mode = ctx.trading.mode
    config = ctx.trading.risk
    tracers = {s: StageTracer(ctx.tracing, s, app.conf.id) for s in TRACED_STAGES}

    def make(inputs: dict[str, str]) -> TradingCore:
        return TradingCore(
            ctx.strategies,
            ctx.engine,
            config,
            partitions=ctx.settings.partitions,
            decoders={topic: (record, ctx.decoder(record)) for topic, record in inputs.items()},
            venue=PaperVenue(ctx.trading.fill_model) if mode == "paper" else None,
            tracers=tracers,
        )

    tables = register_stage(runtime, ctx, spec(mode), make)
    if POSITIONS in tables:
        add_position_views(app, tables[POSITIONS])
    add_risk_view(app, tables[RISK], tables[LEDGERS], config)
