"""The worker's trading views: `GET /positions/`, `/positions/{symbol}/` and `/risk/`.

They read the committed tables (what Kafka holds), not the core's working set.
"""

from __future__ import annotations

from typing import Any

from streams.positions.accounting import PositionBook
from streams.risk.config import RiskConfig
from streams.risk.rules import RiskBook

__all__ = ["add_position_views", "add_risk_view"]


def _records(value: Any) -> list[dict[str, Any]]:
    return [_jsonable(PositionBook.from_state(s).to_record()) for s in (value or {}).values()]


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if k in ("realized_pnl", "fees") else v) for k, v in record.items()}


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


def add_risk_view(app: Any, books: Any, ledgers: Any, config: RiskConfig) -> None:
    """Serve `GET /risk/`: the mode, and each local partition's book with its symbols.

    BOOKS is the `risk-state` table (a book per partition), LEDGERS the `risk-ledgers`
    table (a ledger per symbol, in its partition).
    """

    async def risk_state(web: Any, request: Any) -> Any:
        """Return the mode, limits and each local partition's book (exposure, kill switch)."""
        view = {}
        for partition in books.partitions():
            key = f"partition-{partition}"
            state = books.get(key, partition)
            if state is None:
                continue
            book = RiskBook.from_state(state, config)
            for symbol, ledger in ledgers.partition_items(partition):
                book.attach(symbol, ledger)
            view[key] = book.snapshot()
        return web.json({"mode": config.mode, "partitions": view})

    app.page("/risk/")(risk_state)
