"""The backtest report as one HTML file that opens anywhere, offline.

Everything is inline: the stylesheet, and the chart as a base64 data URI; the page loads
nothing from the network. Rendered by Jinja2 with autoescaping on, so a title, symbol or
id can never inject markup. Every round trip, then every fill, is a row of its table up
to MAX_TRADE_ROWS; beyond that the first ones are shown and the caption says so.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from consumers.backtest_ledger import LedgerRow
from consumers.backtest_metrics import BacktestMetrics
from consumers.backtest_roundtrips import RoundTrip
from consumers.backtest_summary import (
    format_money,
    format_price,
    format_qty,
    format_time,
    metric_rows,
)

__all__ = ["MAX_TRADE_ROWS", "ReportPage", "report_html"]

MAX_TRADE_ROWS = 2_000
_TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class ReportPage:
    """What the page shows: its title, the numbers, the fills and the chart (PNG bytes)."""

    title: str
    metrics: BacktestMetrics
    ledger: Sequence[LedgerRow]
    chart_png: bytes
    first_event_us: int | None = None
    last_event_us: int | None = None
    strategy_config: str = ""
    round_trips: Sequence[RoundTrip] = ()


@dataclass(frozen=True)
class _TripCells:
    symbol: str
    side: str
    qty: str
    entry: str
    entry_bar: str
    entry_price: str
    exit: str
    exit_bar: str
    exit_price: str
    fees: str
    pnl: str
    return_pct: str
    sign: str


def _trip_cells(trip: RoundTrip) -> _TripCells:
    sign = "pos" if trip.pnl > 0 else "neg" if trip.pnl < 0 else ""
    return _TripCells(
        symbol=trip.symbol,
        side=trip.side,
        qty=format_qty(trip.qty),
        entry=format_time(trip.entry_us),
        entry_bar=str(trip.entry_bar),
        entry_price=format_price(trip.entry_price),
        exit="open" if trip.exit_us is None else format_time(trip.exit_us),
        exit_bar="" if trip.exit_bar is None else str(trip.exit_bar),
        exit_price="" if trip.exit_price is None else format_price(trip.exit_price),
        fees=format_money(trip.fees),
        pnl=format_money(trip.pnl),
        return_pct=f"{trip.return_pct:+.2%}",
        sign=sign,
    )


def _trips_caption(trips: Sequence[RoundTrip], shown: int) -> str:
    still_open = sum(1 for t in trips if t.open)
    counted = f"{len(trips) - still_open:,} closed, {still_open:,} open"
    if shown < len(trips):
        return f"{counted}: the first {shown:,} are shown (all are in roundtrips.parquet)"
    return f"{counted}; P&L net of fees, an open trip marked at the last price"


@dataclass(frozen=True)
class _TradeCells:
    time: str
    symbol: str
    side: str
    qty: str
    price: str
    fee: str
    position: str
    realized: str
    sign: str
    order_id: str
    fill_id: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("consumers", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _cells(row: LedgerRow) -> _TradeCells:
    sign = "pos" if row.realized_pnl > 0 else "neg" if row.realized_pnl < 0 else ""
    return _TradeCells(
        time=format_time(row.ts_event_us),
        symbol=row.symbol,
        side=row.side,
        qty=format_qty(row.qty),
        price=format_price(row.price),
        fee=format_money(row.fee),
        position=format_qty(row.position),
        realized=format_money(row.realized_pnl),
        sign=sign,
        order_id=row.order_id,
        fill_id=row.fill_id,
    )


def _period(first_us: int | None, last_us: int | None) -> str:
    if first_us is None or last_us is None:
        return ""
    return f"{format_time(first_us)} to {format_time(last_us)} UTC"


def _caption(fills: int, shown: int) -> str:
    counted = f"{fills:,} fill{'s' * (fills != 1)}"
    if shown < fills:
        return f"{counted}: the first {shown:,} are shown (all are in trades.parquet)"
    return f"{counted}, one row each"


def report_html(page: ReportPage, *, max_trade_rows: int = MAX_TRADE_ROWS) -> str:
    """Return PAGE as one self-contained HTML document (at most MAX_TRADE_ROWS fills)."""
    shown = page.ledger[:max_trade_rows]
    fills = len(page.ledger)
    chart = base64.b64encode(page.chart_png).decode("ascii")
    template = _environment().get_template(_TEMPLATE)
    return template.render(
        title=page.title,
        period=_period(page.first_event_us, page.last_event_us),
        fills_text=f"{fills:,} fill{'s' * (fills != 1)}",
        strategy_config=page.strategy_config,
        chart_uri=f"data:image/png;base64,{chart}",
        metrics=metric_rows(page.metrics),
        trades=[_cells(row) for row in shown],
        trades_caption=_caption(fills, len(shown)),
        trips=[_trip_cells(t) for t in page.round_trips[:max_trade_rows]],
        trips_caption=_trips_caption(page.round_trips, len(page.round_trips[:max_trade_rows])),
    )
