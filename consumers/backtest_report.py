"""A finished backtest as a directory of files: numbers, fills, equity, chart and a page.

`write_report` turns the fills and the prices a backtest saw into OUT_DIR/:

- `report.json`: title, strategy config, first and last event time (ISO-8601 UTC, of
  the prices and fills together), number of fills, periods per year, then every field
  of `BacktestMetrics` in its order (returns, drawdowns, rates as fractions, not percent;
  money in account currency; null where undefined);
- `trades.parquet`: ONE ROW PER FILL (not per round trip), in (ts_event_us, id) order,
  with the position its (account, symbol) book held after it and the P&L it realized
  at average cost (gross of fees; 0 when it opened or added), see `backtest_ledger`.
  The same input always gives the same bytes;
- `roundtrips.parquet`: ONE ROW PER ROUND TRIP (a position from flat back to flat, as
  backtesting.py lists trades): side, qty, entry and exit time, bar and average price,
  fees, net P&L and return, whether it is still open (`backtest_roundtrips`); the page
  lists them too, and report.json counts them (`round_trips`, `open_round_trips`);
- `equity.parquet`: one row per price step: equity, drawdown below the running peak
  (a fraction, >= 0) and whether a position was open;
- `equity.png`: equity and drawdown over time (`backtest_chart`);
- `report.html`: all of it on one self-contained page (`backtest_page`).

Fill records have the fields of schemas/avro/Fill.avsc, decoded (prices may be Decimal).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.table import Table

from consumers.backtest_chart import equity_chart_png
from consumers.backtest_ledger import LedgerRow, drawdowns, fill_ledger
from consumers.backtest_metrics import BacktestMetrics, EquityStep, backtest_metrics, equity_curve
from consumers.backtest_page import ReportPage, report_html
from consumers.backtest_roundtrips import RoundTrip, round_trips
from consumers.backtest_summary import format_time, metric_rows

__all__ = [
    "EQUITY_SCHEMA",
    "ROUNDTRIPS_SCHEMA",
    "TRADES_SCHEMA",
    "BacktestInput",
    "BacktestReport",
    "summary_table",
    "write_report",
]

_TIME = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: the columns of trades.parquet, one row per fill
TRADES_SCHEMA = pa.schema(
    [
        pa.field("time", _TIME, nullable=False),
        pa.field("account", pa.string(), nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("side", pa.string(), nullable=False),
        pa.field("qty", pa.float64(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("fee", pa.float64(), nullable=False),
        pa.field("order_id", pa.string(), nullable=False),
        pa.field("fill_id", pa.string(), nullable=False),
        pa.field("position", pa.float64(), nullable=False),
        pa.field("realized_pnl", pa.float64(), nullable=False),
    ]
)

#: the columns of roundtrips.parquet, one row per round trip
ROUNDTRIPS_SCHEMA = pa.schema(
    [
        pa.field("account", pa.string(), nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("side", pa.string(), nullable=False),
        pa.field("qty", pa.float64(), nullable=False),
        pa.field("entry_time", _TIME, nullable=False),
        pa.field("entry_bar", pa.int64(), nullable=False),
        pa.field("entry_price", pa.float64(), nullable=False),
        pa.field("exit_time", _TIME, nullable=True),
        pa.field("exit_bar", pa.int64(), nullable=True),
        pa.field("exit_price", pa.float64(), nullable=True),
        pa.field("fees", pa.float64(), nullable=False),
        pa.field("pnl", pa.float64(), nullable=False),
        pa.field("return_pct", pa.float64(), nullable=False),
        pa.field("open", pa.bool_(), nullable=False),
    ]
)

#: the columns of equity.parquet, one row per price step
EQUITY_SCHEMA = pa.schema(
    [
        pa.field("time", _TIME, nullable=False),
        pa.field("equity", pa.float64(), nullable=False),
        pa.field("drawdown", pa.float64(), nullable=False),
        pa.field("exposed", pa.bool_(), nullable=False),
    ]
)


@dataclass(frozen=True)
class BacktestInput:
    """What a backtest ends with: its fills, the prices it saw (in time order), its capital.

    PRICES are (ts_event_us, symbol, price); PERIODS_PER_YEAR annualizes per-step returns
    (252 for daily bars). Raise ValueError for a capital or period count that is not
    positive, a price that is not finite, or prices out of time order.
    """

    title: str
    fills: Sequence[Mapping[str, Any]]
    prices: Sequence[tuple[int, str, float]]
    initial_capital: float
    periods_per_year: float = 252.0
    strategy_config: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.initial_capital) and self.initial_capital > 0.0):
            raise ValueError(f"initial capital must be positive, not {self.initial_capital}")
        if not (math.isfinite(self.periods_per_year) and self.periods_per_year > 0.0):
            raise ValueError(f"periods per year must be positive, not {self.periods_per_year}")
        previous = None
        for ts, symbol, price in self.prices:
            if not math.isfinite(price):
                raise ValueError(f"{symbol} at {ts}: the price {price} is not finite")
            if previous is not None and ts < previous:
                raise ValueError(f"{symbol} at {ts}: prices must be in time order")
            previous = ts


@dataclass(frozen=True)
class BacktestReport:
    """A written report: its statistics and the files it wrote."""

    title: str
    metrics: BacktestMetrics
    fills: int
    first_event_us: int | None
    last_event_us: int | None
    report_json: Path
    trades_parquet: Path
    equity_parquet: Path
    chart_png: Path
    report_html: Path
    roundtrips_parquet: Path
    round_trips: tuple[RoundTrip, ...] = ()

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written, in the order listed in the module docstring."""
        return (
            self.report_json,
            self.trades_parquet,
            self.roundtrips_parquet,
            self.equity_parquet,
            self.chart_png,
            self.report_html,
        )


def _iso(ts_event_us: int | None) -> str | None:
    if ts_event_us is None:
        return None
    moment = _EPOCH + timedelta(microseconds=ts_event_us)
    return moment.isoformat().replace("+00:00", "Z")


def _document(report: BacktestReport, inp: BacktestInput) -> dict[str, Any]:
    return {
        "title": report.title,
        "strategy_config": inp.strategy_config,
        "first_event": _iso(report.first_event_us),
        "last_event": _iso(report.last_event_us),
        "fills": report.fills,
        "round_trips": sum(1 for t in report.round_trips if not t.open),
        "open_round_trips": sum(1 for t in report.round_trips if t.open),
        "periods_per_year": inp.periods_per_year,
        **dataclasses.asdict(report.metrics),
    }


def _trades_table(ledger: Sequence[LedgerRow]) -> pa.Table:
    columns = {
        "time": [r.ts_event_us for r in ledger],
        "account": [r.account for r in ledger],
        "symbol": [r.symbol for r in ledger],
        "side": [r.side for r in ledger],
        "qty": [r.qty for r in ledger],
        "price": [r.price for r in ledger],
        "fee": [r.fee for r in ledger],
        "order_id": [r.order_id for r in ledger],
        "fill_id": [r.fill_id for r in ledger],
        "position": [r.position for r in ledger],
        "realized_pnl": [r.realized_pnl for r in ledger],
    }
    return pa.Table.from_pydict(columns, schema=TRADES_SCHEMA)


def _roundtrips_table(trips: Sequence[RoundTrip]) -> pa.Table:
    names = [f.name for f in ROUNDTRIPS_SCHEMA]
    renamed = {"entry_time": "entry_us", "exit_time": "exit_us"}
    columns = {name: [getattr(t, renamed.get(name, name)) for t in trips] for name in names}
    return pa.Table.from_pydict(columns, schema=ROUNDTRIPS_SCHEMA)


def _equity_table(curve: Sequence[EquityStep], falls: Sequence[float]) -> pa.Table:
    columns = {
        "time": [s.ts_event_us for s in curve],
        "equity": [s.equity for s in curve],
        "drawdown": list(falls),
        "exposed": [s.exposed for s in curve],
    }
    return pa.Table.from_pydict(columns, schema=EQUITY_SCHEMA)


def _event_span(inp: BacktestInput) -> tuple[int | None, int | None]:
    times = [int(ts) for ts, _, _ in inp.prices] + [int(f["ts_event_us"]) for f in inp.fills]
    return (min(times), max(times)) if times else (None, None)


def write_report(inp: BacktestInput, out_dir: Path) -> BacktestReport:
    """Write the report files of INP into OUT_DIR (created if missing); return the report.

    Raise consumers.pnl.InvalidFillError for a fill that cannot be accounted.
    """
    # The P&L report books fills in the order given: event time (then id) makes the trade
    # statistics agree with the ledger and not depend on how the fills were collected.
    fills = sorted(inp.fills, key=lambda f: (int(f["ts_event_us"]), str(f["id"])))
    ledger = fill_ledger(fills)
    curve = equity_curve(fills, inp.prices, inp.initial_capital)
    falls = drawdowns(curve, inp.initial_capital)
    metrics = backtest_metrics(
        curve,
        fills,
        initial_capital=inp.initial_capital,
        periods_per_year=inp.periods_per_year,
    )
    first_us, last_us = _event_span(inp)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BacktestReport(
        title=inp.title,
        metrics=metrics,
        fills=len(ledger),
        first_event_us=first_us,
        last_event_us=last_us,
        report_json=out_dir / "report.json",
        trades_parquet=out_dir / "trades.parquet",
        equity_parquet=out_dir / "equity.parquet",
        chart_png=out_dir / "equity.png",
        report_html=out_dir / "report.html",
        roundtrips_parquet=out_dir / "roundtrips.parquet",
        round_trips=tuple(round_trips(fills, inp.prices)),
    )
    document = json.dumps(_document(report, inp), indent=2, allow_nan=False)
    report.report_json.write_text(document + "\n", encoding="utf-8")
    pq.write_table(_trades_table(ledger), report.trades_parquet)
    pq.write_table(_roundtrips_table(report.round_trips), report.roundtrips_parquet)
    pq.write_table(_equity_table(curve, falls), report.equity_parquet)
    chart = equity_chart_png(curve, falls, inp.title)
    report.chart_png.write_bytes(chart)
    page = ReportPage(
        title=inp.title,
        metrics=metrics,
        ledger=ledger,
        round_trips=report.round_trips,
        chart_png=chart,
        first_event_us=first_us,
        last_event_us=last_us,
        strategy_config=inp.strategy_config,
    )
    report.report_html.write_text(report_html(page), encoding="utf-8")
    return report


def summary_table(report: BacktestReport) -> Table:
    """Return the report's statistics as a two-column table, formatted as on the page."""
    table = Table(title=report.title, header_style="bold cyan")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in metric_rows(report.metrics):
        table.add_row(label, value)
    span = ""
    if report.first_event_us is not None and report.last_event_us is not None:
        first, last = format_time(report.first_event_us), format_time(report.last_event_us)
        span = f", {first[:10]} to {last[:10]}"
    table.caption = f"{report.fills:,} fill{'s' * (report.fills != 1)}{span}"
    return table
