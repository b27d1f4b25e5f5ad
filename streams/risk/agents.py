"""The risk gate agent, and the worker's `GET /risk` view."""

from __future__ import annotations

from typing import Any

from infra.stage_tracing import StageTracer
from streams.context import ProcessingContext
from streams.risk.config import RiskConfig
from streams.risk.processing import RiskProcessor
from streams.risk.rules import RiskBook
from streams.runtime import StreamRuntime
from streams.stage import OneTable, StageSpec, register_stage

__all__ = ["SPEC", "add_risk_view", "register"]

SPEC = StageSpec(
    "risk",
    {
        "signals": "Signal",
        "fills": "Fill",
        "orders.events": "OrderEvent",
        "risk.control": "RiskControl",
    },
    {
        "orders": "Order",
        "alerts": "Alert",
        "orders.rejected": "Rejection",
        "risk.control": "RiskControl",
    },
    ("risk-state",),
)


def register(runtime: StreamRuntime, ctx: ProcessingContext) -> None:
    """Register the risk gate's agent and its web view on the worker's app."""
    config = ctx.trading.risk
    tables = register_stage(
        runtime,
        ctx,
        SPEC,
        lambda inputs: OneTable(
            RiskProcessor(
                config,
                ctx.settings.partitions,
                {topic: (record, ctx.decoder(record)) for topic, record in inputs.items()},
                StageTracer(ctx.tracing, "risk", runtime.app.conf.id),
            ),
            "risk-state",
        ),
    )
    add_risk_view(runtime.app, tables["risk-state"], config)


def add_risk_view(app: Any, table: Any, config: RiskConfig) -> None:
    """Serve `GET /risk/`: the mode, and each local partition's book from the risk TABLE."""

    async def risk_state(web: Any, request: Any) -> Any:
        """Return the mode, limits and each local partition's book (exposure, kill switch)."""
        books = {
            key: RiskBook.from_state(value, config).snapshot()
            for key, value in sorted(table.items())
            if value is not None
        }
        return web.json({"mode": config.mode, "partitions": books})

    app.page("/risk/")(risk_state)
