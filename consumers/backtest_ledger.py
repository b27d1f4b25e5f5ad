"""A backtest's fills one by one with the position and P&L each left, and its drawdowns.

The report's trade list is one row per fill, not per round trip: a fill is what the
pipeline produced, and a round trip is a view of several of them. Each row carries the
position of its (account, symbol) book right after the fill and the realized P&L of that
fill under average cost, exactly as `primestream pnl` books it (gross, before fees, which
have their own column; 0 for a fill that opens or adds to a position). Rows are in event
time, ties broken by fill id, so the same fills always give the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consumers.backtest_metrics import EquityStep

# The average-cost book of the P&L report, reused rather than re-implemented: the per-fill
# realized P&L here must add up to that report's realized P&L, to the cent.
from consumers.pnl import CostBook, parse_fill

__all__ = ["LedgerRow", "drawdowns", "fill_ledger"]


@dataclass(frozen=True)
class LedgerRow:
    """One fill, with its book's position after it and the P&L it realized (gross)."""

    ts_event_us: int
    fill_id: str
    order_id: str
    account: str
    symbol: str
    side: str
    qty: float
    price: float
    fee: float
    position: float
    realized_pnl: float


def fill_ledger(fills: Iterable[Mapping[str, Any]]) -> list[LedgerRow]:
    """Return one row per fill, in (ts_event_us, id) order, booked at average cost.

    Raise consumers.pnl.InvalidFillError for a fill that cannot be accounted.
    """
    ordered = sorted(fills, key=lambda f: (int(f["ts_event_us"]), str(f["id"])))
    books: dict[tuple[str, str], CostBook] = {}
    rows = []
    for record in ordered:
        fill = parse_fill(record)
        book = books.get((fill.account, fill.symbol))
        if book is None:
            book = books[fill.account, fill.symbol] = CostBook(
                fill.account, fill.symbol, fill.ts_event_us
            )
        realized_before = book.realized
        book.apply(fill)
        rows.append(
            LedgerRow(
                ts_event_us=fill.ts_event_us,
                fill_id=fill.id,
                order_id=str(record.get("order_id", "")),
                account=fill.account,
                symbol=fill.symbol,
                side=str(record["side"]),
                qty=float(fill.qty),
                price=float(fill.price),
                fee=float(fill.fee),
                position=float(book.qty),
                # Adding 0.0 turns the -0.0 of a short's zero P&L into 0.0.
                realized_pnl=float(book.realized - realized_before) + 0.0,
            )
        )
    return rows


def drawdowns(curve: Sequence[EquityStep], initial_capital: float) -> list[float]:
    """Return, per step of CURVE, its fall below the running peak as a fraction (>= 0).

    The peak starts at INITIAL_CAPITAL, as in `backtest_metrics`, so the largest value is
    the report's maximum drawdown; a peak that is not positive gives 0.
    """
    peak = initial_capital
    falls = []
    for step in curve:
        peak = max(peak, step.equity)
        falls.append((peak - step.equity) / peak if peak > 0.0 else 0.0)
    return falls
