"""A backtest's numbers as people read them: one formatting for the terminal and the page.

Percent for fractions (2 decimals), money with thousands separators and 2 decimals,
ratios with 2 decimals, "—" for what is undefined. A profit factor with winning trades
and no losing one shows "∞", as `primestream pnl` does.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Literal

from consumers.backtest_metrics import BacktestMetrics

__all__ = [
    "NONE",
    "format_money",
    "format_price",
    "format_qty",
    "format_time",
    "metric_rows",
]

NONE = "—"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_Kind = Literal["money", "percent", "ratio", "days", "count"]

#: field of BacktestMetrics -> (label, kind); one row each, in the dataclass's order
_METRICS: dict[str, tuple[str, _Kind]] = {
    "start_equity": ("Start equity", "money"),
    "end_equity": ("End equity", "money"),
    "total_return": ("Total return", "percent"),
    "cagr": ("CAGR", "percent"),
    "volatility": ("Annualized volatility", "percent"),
    "sharpe": ("Sharpe ratio", "ratio"),
    "sortino": ("Sortino ratio", "ratio"),
    "max_drawdown": ("Max drawdown", "percent"),
    "max_drawdown_days": ("Max drawdown duration", "days"),
    "exposure_time": ("Exposure time", "percent"),
    "trades": ("Trades (closed)", "count"),
    "win_rate": ("Win rate", "percent"),
    "profit_factor": ("Profit factor", "ratio"),
    "average_trade": ("Average trade", "money"),
    "fees": ("Fees", "money"),
}


def format_money(value: float | None) -> str:
    """Return VALUE with thousands separators and 2 decimals ("—" for None)."""
    # Rounding first, then adding 0.0, keeps "-0.00" out of the table.
    return NONE if value is None else f"{round(value, 2) + 0.0:,.2f}"


def format_price(value: float) -> str:
    """Return a price with 2 to 6 decimals, as many as it needs."""
    text = f"{value:,.6f}".rstrip("0")
    return text + "0" * (2 - len(text.partition(".")[2]))


def format_qty(value: float) -> str:
    """Return a quantity: whole numbers without decimals, else up to 6."""
    value += 0.0  # no "-0"
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.6f}".rstrip("0")


def format_time(ts_event_us: int) -> str:
    """Return an event time (µs since the epoch) as "YYYY-MM-DD HH:MM:SS" UTC."""
    return (_EPOCH + timedelta(microseconds=ts_event_us)).strftime("%Y-%m-%d %H:%M:%S")


def _cell(kind: _Kind, value: float | None) -> str:
    if value is None:
        return NONE
    if kind == "money":
        return format_money(value)
    if kind == "percent":
        return f"{round(value * 100, 2) + 0.0:.2f}%"
    if kind == "days":
        return f"{value:,.1f} days"
    if kind == "count":
        return f"{value:,.0f}"
    return f"{round(value, 2) + 0.0:,.2f}"


def metric_rows(metrics: BacktestMetrics) -> list[tuple[str, str]]:
    """Return (label, formatted value), one per field of METRICS, in its order."""
    rows = []
    for field in dataclasses.fields(metrics):
        value = getattr(metrics, field.name)
        label, kind = _METRICS.get(field.name, (field.name.replace("_", " "), "ratio"))
        if field.name == "profit_factor" and value is None and (metrics.win_rate or 0.0) > 0.0:
            rows.append((label, "∞"))  # wins and no loss: the ratio is infinite, not undefined
            continue
        rows.append((label, _cell(kind, value)))
    return rows
