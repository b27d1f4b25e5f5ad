"""The paper desk's agent (see `streams.desk`), with the position and risk web views."""

from __future__ import annotations

from dataclasses import replace

from infra.stage_tracing import StageTracer
from streams.context import ProcessingContext
from streams.desk import POSITIONS, RISK, TABLES, TRACED_STAGES, DeskProcessor
from streams.execution.processing import ExecutionProcessor
from streams.positions.agents import add_position_views
from streams.positions.processing import PositionProcessor
from streams.risk.agents import add_risk_view
from streams.risk.processing import RiskProcessor
from streams.runtime import StreamRuntime
from streams.signals.processing import SignalProcessor
from streams.stage import StageSpec, register_stage

__all__ = ["SPEC", "register"]

SPEC = StageSpec(
    "desk",
    {
        "market.quotes": "Quote",
        "market.bars": "Bar",
        "news.items": "NewsItem",
        "risk.control": "RiskControl",
    },
    {
        "signals": "Signal",
        "orders": "Order",
        "orders.rejected": "Rejection",
        "orders.events": "OrderEvent",
        "fills": "Fill",
        "positions": "Position",
        "risk.control": "RiskControl",
    },
    TABLES,
)


def register(runtime: StreamRuntime, ctx: ProcessingContext) -> None:
    """Register the paper desk's agent and its web views on the worker's app."""
    app = runtime.app
    group = app.conf.id
    tracers = {s: StageTracer(ctx.tracing, s, group) for s in TRACED_STAGES}
    partitions = ctx.settings.partitions
    config = ctx.trading.risk

    def make(inputs: dict[str, str]) -> DeskProcessor:
        decoders = {topic: (record, ctx.decoder(record)) for topic, record in inputs.items()}
        return DeskProcessor(
            SignalProcessor(ctx.strategies, ctx.engine, decoders),
            RiskProcessor(config, partitions, decoders),
            # The desk creates orders in event-time order with the quotes, so no order ever
            # arrives late: the book needs no quote history (a smaller state to write).
            ExecutionProcessor(replace(ctx.trading.fill_model, quote_history=1), decoders),
            PositionProcessor(decoders),
            config=config,
            partitions=partitions,
            decoders=decoders,
            tracers=tracers,
        )

    tables = register_stage(runtime, ctx, SPEC, make)
    add_position_views(app, tables[POSITIONS])
    add_risk_view(app, tables[RISK], config)
