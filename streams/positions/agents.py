"""The position table agent, and the worker's `GET /positions` views."""

from __future__ import annotations

from typing import Any

from infra.stage_tracing import StageTracer
from streams.context import ProcessingContext
from streams.positions.accounting import PositionBook
from streams.positions.processing import PositionProcessor
from streams.runtime import StreamRuntime
from streams.stage import OneTable, StageSpec, register_stage

__all__ = ["SPEC", "add_position_views", "register"]

SPEC = StageSpec(
    "positions",
    {"fills": "Fill", "market.quotes": "Quote"},
    {"positions": "Position"},
    ("positions",),
)


def _records(value: Any) -> list[dict[str, Any]]:
    return [_jsonable(PositionBook.from_state(s).to_record()) for s in (value or {}).values()]


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if k in ("realized_pnl", "fees") else v) for k, v in record.items()}


def register(runtime: StreamRuntime, ctx: ProcessingContext) -> None:
    """Register the position agent and its web views on the worker's app."""
    tables = register_stage(
        runtime,
        ctx,
        SPEC,
        lambda inputs: OneTable(
            PositionProcessor(
                {topic: (record, ctx.decoder(record)) for topic, record in inputs.items()},
                StageTracer(ctx.tracing, "positions", runtime.app.conf.id),
            ),
            "positions",
        ),
    )
    add_position_views(runtime.app, tables["positions"])


def add_position_views(app: Any, table: Any) -> None:
    """Serve `GET /positions/` and `GET /positions/{symbol}/` from the positions TABLE."""

    async def all_positions(web: Any, request: Any) -> Any:
        """Return every position of the partitions this worker holds."""
        rows = [r for _, value in sorted(table.items()) for r in _records(value)]
        return web.json({"positions": rows})

    async def one_position(web: Any, request: Any, symbol: str) -> Any:
        """Return SYMBOL's positions (one per account), if this worker holds its partition."""
        value = table.get(symbol.upper())
        if value is None:
            return web.json({"symbol": symbol.upper(), "positions": []}, status=404)
        return web.json({"symbol": symbol.upper(), "positions": _records(value)})

    app.page("/positions/")(all_positions)
    app.page("/positions/{symbol}/")(one_position)
