"""The P&L report for people (rich tables) and for machines (one JSON document); pure."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from consumers.pnl import Drawdown, PnlLine, PnlReport
from consumers.render import format_cell

__all__ = [
    "NO_FILLS",
    "empty_line",
    "pnl_table",
    "report_document",
    "report_json",
    "report_view",
    "trades_table",
]

NO_FILLS = "no fills yet"
_NONE = "-"
_TOTAL = "TOTAL"
_SIGNED = ("realized", "net realized", "unrealized", "avg win", "avg loss")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def report_document(report: PnlReport) -> dict[str, Any]:
    """Return the report as JSON-able data: Decimals as strings, times as int µs."""
    return {
        "account": report.account,
        "fills": report.fills,
        "duplicate_fills": report.duplicate_fills,
        "symbols": [_jsonable(dataclasses.asdict(line)) for line in report.lines],
        "total": _jsonable(dataclasses.asdict(report.total)),
        "warnings": list(report.warnings),
    }


def report_json(report: PnlReport) -> str:
    """Return the report as one indented JSON document."""
    return json.dumps(report_document(report), indent=2)


def empty_line(topic: str, account: str | None = None) -> str:
    """Return the one line printed when TOPIC holds no fills (of ACCOUNT)."""
    whose = f" for account {account}" if account is not None else ""
    return f"{NO_FILLS}{whose} in {topic}"


def _money(value: Decimal | None) -> str:
    return _NONE if value is None else f"{value:,.2f}"


def _price(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value:,.6f}".rstrip("0")
    return text + "0" * (2 - len(text.partition(".")[2]))


def _qty(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.6f}".rstrip("0")


def _pct(value: float | None) -> str:
    return _NONE if value is None else f"{value:.1f}%"


def _profit_factor(line: PnlLine) -> str:
    if line.stats.profit_factor is not None:
        return f"{line.stats.profit_factor:.2f}"
    return "∞" if line.stats.wins else _NONE


def _max_drawdown(drawdown: Drawdown) -> str:
    if drawdown.pct is None:
        return _money(drawdown.amount)
    return f"{_money(drawdown.amount)} ({_pct(drawdown.pct)})"


def _pnl_cells(line: PnlLine) -> list[str]:
    mark = _price(line.mark) + ("*" if line.mark_source == "fill" else "")
    return [
        _qty(line.qty),
        _price(line.avg_price),
        mark,
        _money(line.realized_pnl),
        _money(line.fees),
        _money(line.net_realized_pnl),
        _money(line.unrealized_pnl),
        _money(line.exposure),
        _money(line.net_exposure),
    ]


def _time(ts_us: int | None) -> str:
    return "" if ts_us is None else format_cell("ts_event_us", ts_us)[:19].replace("T", " ")


def _trade_cells(line: PnlLine) -> list[str]:
    stats, drawdown = line.stats, line.drawdown
    win_rate = None if stats.win_rate is None else stats.win_rate * 100
    return [
        str(stats.trades),
        _pct(win_rate),
        _money(stats.avg_win),
        _money(stats.avg_loss),
        _profit_factor(line),
        _max_drawdown(drawdown),
        _time(drawdown.peak_ts_us),
        _time(drawdown.trough_ts_us),
    ]


_PNL_COLUMNS = (
    "qty",
    "avg price",
    "mark",
    "realized",
    "fees",
    "net realized",
    "unrealized",
    "exposure",
    "net exposure",
)
_TRADE_COLUMNS = (
    "trades",
    "win rate",
    "avg win",
    "avg loss",
    "profit factor",
    "max drawdown",
    "peak (UTC)",
    "trough (UTC)",
)


def _styled(column: str, cell: str) -> Text | str:
    if column in _SIGNED and cell.startswith("-") and cell != _NONE:
        return Text(cell, style="red")
    return cell


def _table(
    report: PnlReport, title: str, columns: Sequence[str], cells: Callable[[PnlLine], list[str]]
) -> Table:
    """One row per book (account column when there are several), then a totals row."""
    accounts = len({line.account for line in report.lines}) > 1
    table = Table(title=title, header_style="bold cyan")
    names = (["account"] if accounts else []) + ["symbol"]
    for name in names:
        table.add_column(name, overflow="fold")
    for column in columns:  # fold rather than cut: a truncated number would mislead
        table.add_column(column, justify="right", overflow="fold")
    for index, line in enumerate(report.lines):
        keys = ([line.account or ""] if accounts else []) + [line.symbol or ""]
        row = [_styled(c, v) for c, v in zip(columns, cells(line), strict=True)]
        table.add_row(*keys, *row, end_section=index == len(report.lines) - 1)
    total = [_styled(c, v) for c, v in zip(columns, cells(report.total), strict=True)]
    table.add_row(*([""] if accounts else []), _TOTAL, *total, style="bold")
    return table


def pnl_table(report: PnlReport) -> Table:
    """Return realized/unrealized P&L, fees and exposure per book, with a totals row."""
    whose = f" of account {report.account}" if report.account is not None else ""
    table = _table(report, f"P&L{whose}", _PNL_COLUMNS, _pnl_cells)
    if any(line.mark_source == "fill" for line in report.lines):
        table.caption = "* marked at the last fill price: no mark on the positions topic"
    return table


def trades_table(report: PnlReport) -> Table:
    """Return trade statistics and each equity curve's max drawdown, with a totals row."""
    return _table(report, "Trades and max drawdown", _TRADE_COLUMNS, _trade_cells)


def report_view(report: PnlReport) -> Group:
    """Return the tables, the fill count and any warnings, ready for Console.print."""
    duplicates = report.duplicate_fills
    counted = f"{report.fills} fill{'s' * (report.fills != 1)}" + (
        f" ({duplicates} duplicate{'s' * (duplicates != 1)} ignored)" if duplicates else ""
    )
    notes = [Text(f"warning: {w}", style="yellow") for w in report.warnings]
    return Group(pnl_table(report), trades_table(report), Text(counted), *notes)
