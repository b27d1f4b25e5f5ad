"""P&L analytics from the fills and positions topics (pure): the performance analyzer.

Definitions, so every number of the report can be checked by hand:

- **Books.** Fills are accounted per (account, symbol) book, in the order given for each
  symbol (topic order); books of different symbols are merged by event time
  (`ts_event_us`, ties in order of first appearance) to build the total equity curve.
- **Duplicates.** A fill whose `id` was already seen is skipped and counted in
  `duplicate_fills`: a redelivered fill never counts twice.
- **Average cost.** A fill on the side of the position (or from flat) re-averages:
  buy 100 @ 10 then 50 @ 13 gives avg 11. A fill against it closes at the average cost
  and leaves the average unchanged; going flat resets it to 0; crossing through zero
  (a flip) closes the whole position and opens the rest at the fill price.
- **Realized P&L (gross)** = Σ (fill price - avg) · closed qty for a long, (avg - price) ·
  closed qty for a short. **Fees** are every fill's fee (opening fills too).
  **Net realized** = realized - fees.
- **Trade** = a closing fill (or the closing part of a flip). Its P&L is its gross realized
  P&L minus its fee; the fee of a flip is prorated, closed qty / fill qty of it going to
  the trade. Opening fees belong to no trade, so Σ trade P&L ≠ net realized in general.
  Win: P&L > 0, loss: P&L < 0 (a zero trade is neither, but counts as a trade).
  Win rate = wins / trades; average win / loss = mean P&L of the wins / of the losses
  (a loss is negative); profit factor = Σ wins / |Σ losses|, **None when there is no
  losing trade** (JSON has no infinity; the table shows ∞ when there are wins).
- **Unrealized P&L** = (mark - avg) · qty, the mark being the `last_mark` of the book's
  latest record on the (compacted) `positions` topic; a book without one is marked at the
  symbol's latest fill price (`mark_source` says which). **Exposure** = |qty| · mark,
  **net exposure** = qty · mark (signed: shorts count negative).
- **Equity curve** = net realized + unrealized after each fill, every open book marked at
  its symbol's latest fill price (the fills are the only prices known at every point of
  the history; the positions topic keeps only the latest mark). It starts at 0 just
  before the first fill. A book's own curve is taken the same way at the fills of its
  symbol.
- **Max drawdown** = the largest fall from a running peak to a later trough. Its peak is
  the latest point at that high before the trough; the percentage is of the peak equity,
  None when that peak is not positive (a P&L curve has no capital base below zero).

Money is `Decimal`, computed at 28 significant digits and quantized to 6 places
(half-even) in the report, whose totals are the sums of the quantized lines. Quantities
are floats on the wire, turned into `Decimal` from their shortest repr, so that closing
0.1 + 0.2 of 0.3 leaves exactly 0.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, NamedTuple

from infra.exceptions import PrimestreamError
from streams.positions.cost_basis import CostBasis

__all__ = [
    "CostBook",
    "Drawdown",
    "EquityPoint",
    "InvalidFillError",
    "PnlLine",
    "PnlReport",
    "TradeStats",
    "max_drawdown",
    "parse_fill",
    "pnl_report",
]

_ZERO = Decimal(0)
_QUANTUM = Decimal("0.000001")
_QTY_TOLERANCE = 1e-9


class InvalidFillError(PrimestreamError, ValueError):
    """A fill that cannot be accounted for (bad side, quantity or price)."""


class EquityPoint(NamedTuple):
    """Equity (net realized + unrealized P&L) right after a fill at TS_EVENT_US."""

    ts_event_us: int
    equity: Decimal


@dataclass(frozen=True)
class Drawdown:
    """The largest peak-to-trough fall of an equity curve (0 and no times if none)."""

    amount: Decimal
    pct: float | None
    peak_ts_us: int | None
    trough_ts_us: int | None
    peak_equity: Decimal
    trough_equity: Decimal


@dataclass(frozen=True)
class TradeStats:
    """Closed trades: how many, how many won or lost, and by how much."""

    trades: int
    wins: int
    losses: int
    win_rate: float | None
    avg_win: Decimal | None
    avg_loss: Decimal | None
    profit_factor: float | None


@dataclass(frozen=True)
class PnlLine:
    """One book's P&L (or the total, whose account, symbol, qty, avg and mark are None)."""

    account: str | None
    symbol: str | None
    qty: float | None
    avg_price: Decimal | None
    mark: Decimal | None
    mark_source: Literal["position", "fill"] | None
    realized_pnl: Decimal
    fees: Decimal
    net_realized_pnl: Decimal
    unrealized_pnl: Decimal
    exposure: Decimal
    net_exposure: Decimal
    fills: int
    stats: TradeStats
    drawdown: Drawdown


@dataclass(frozen=True)
class PnlReport:
    """Per-book lines (by symbol, then account), their total, and what was skipped."""

    account: str | None
    lines: tuple[PnlLine, ...]
    total: PnlLine
    fills: int
    duplicate_fills: int
    equity_curve: tuple[EquityPoint, ...]
    warnings: tuple[str, ...]


class _Fill(NamedTuple):
    id: str
    account: str
    symbol: str
    sign: int
    qty: Decimal
    price: Decimal
    fee: Decimal
    ts_event_us: int


class CostBook:
    """The average-cost position of one (account, symbol), its trades and its curve.

    The position itself is `streams.positions.cost_basis.CostBasis`, the accounting the
    positions table and the risk gate use too.
    """

    def __init__(self, account: str, symbol: str, ts_event_us: int) -> None:
        self.account, self.symbol = account, symbol
        self.basis = CostBasis()
        self.fees = self.unrealized = _ZERO
        self.fills = 0
        self.trades: list[Decimal] = []
        self.curve = [EquityPoint(ts_event_us, _ZERO)]

    @property
    def qty(self) -> Decimal:
        """Return the signed quantity (long > 0)."""
        return self.basis.qty

    @property
    def avg(self) -> Decimal:
        """Return the average price of the open quantity (0 when flat)."""
        return self.basis.avg_price

    @property
    def realized(self) -> Decimal:
        """Return the gross realized P&L."""
        return self.basis.realized

    def apply(self, fill: _Fill) -> None:
        """Book FILL at average cost: realized P&L on the part that reduces the position."""
        self.fills += 1
        self.fees += fill.fee
        before = self.basis.qty
        gross = self.basis.apply(fill.qty * fill.sign, fill.price)
        if before != 0 and (before > 0) != (fill.sign > 0):  # it closed some: a trade
            closed = min(fill.qty, abs(before))
            self.trades.append(gross - fill.fee * closed / fill.qty)

    @property
    def net_realized(self) -> Decimal:
        """Return realized P&L net of fees."""
        return self.realized - self.fees

    def mark(self, price: Decimal, ts_event_us: int) -> Decimal:
        """Re-mark at PRICE, record a curve point, and return the change of unrealized."""
        unrealized = (price - self.avg) * self.qty
        change, self.unrealized = unrealized - self.unrealized, unrealized
        self.curve.append(EquityPoint(ts_event_us, self.net_realized + unrealized))
        return change


def _q(value: Decimal) -> Decimal:
    # Adding zero turns a -0 (a short times a zero price difference) into 0.
    return value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN) + _ZERO


def _decimal(value: Any) -> Decimal:
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def parse_fill(fill: Mapping[str, Any]) -> _Fill:
    """Check FILL and return it with Decimal numbers; corrupt data never reaches the books."""
    sign = {"BUY": 1, "SELL": -1}.get(fill.get("side", ""))
    try:
        qty, price, fee = (_decimal(fill[k]) for k in ("qty", "price", "fee"))
        if sign is None:
            raise ValueError(f"side must be BUY or SELL, not {fill.get('side')!r}")
        if qty <= 0 or price <= 0:
            raise ValueError(f"qty ({qty}) and price ({price}) must be positive")
        return _Fill(
            str(fill["id"]),
            fill.get("account", "default"),
            fill["symbol"],
            sign,
            qty,
            price,
            fee,
            int(fill["ts_event_us"]),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidFillError(f"fill {fill.get('id')!r} cannot be accounted: {exc}") from exc


def max_drawdown(curve: Iterable[EquityPoint]) -> Drawdown:
    """Return the largest fall of CURVE from a running peak to a later trough."""
    best = Drawdown(_ZERO, None, None, None, _ZERO, _ZERO)
    peak: EquityPoint | None = None
    for point in curve:
        if peak is None or point.equity >= peak.equity:
            peak = point
            continue
        fall = peak.equity - point.equity
        if fall > best.amount:
            pct = float(fall / peak.equity * 100) if peak.equity > 0 else None
            best = Drawdown(
                _q(fall),
                pct,
                peak.ts_event_us,
                point.ts_event_us,
                _q(peak.equity),
                _q(point.equity),
            )
    return best


def _trade_stats(trades: Sequence[Decimal]) -> TradeStats:
    wins = [t for t in trades if t > 0]
    losses = [t for t in trades if t < 0]
    won, lost = sum(wins, _ZERO), sum(losses, _ZERO)
    return TradeStats(
        trades=len(trades),
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / len(trades) if trades else None,
        avg_win=_q(won / len(wins)) if wins else None,
        avg_loss=_q(lost / len(losses)) if losses else None,
        profit_factor=float(won / -lost) if losses else None,
    )


def _distinct_by_symbol(
    fills: Iterable[Mapping[str, Any]], account: str | None
) -> tuple[dict[str, list[_Fill]], int]:
    by_symbol: dict[str, list[_Fill]] = {}
    seen: set[str] = set()
    duplicates = 0
    for fill in fills:
        if account is not None and fill.get("account", "default") != account:
            continue
        parsed = parse_fill(fill)
        if parsed.id in seen:
            duplicates += 1
            continue
        seen.add(parsed.id)
        by_symbol.setdefault(parsed.symbol, []).append(parsed)
    return by_symbol, duplicates


def _replay(
    by_symbol: Mapping[str, list[_Fill]],
) -> tuple[dict[tuple[str, str], CostBook], list[EquityPoint], dict[str, Decimal]]:
    """Apply the fills in event-time order; return the books, total curve and last prices."""
    books: dict[tuple[str, str], CostBook] = {}
    of_symbol: dict[str, list[CostBook]] = {}
    last_price: dict[str, Decimal] = {}
    curve: list[EquityPoint] = []
    equity = _ZERO
    for fill in heapq.merge(*by_symbol.values(), key=lambda f: f.ts_event_us):
        if not curve:
            curve.append(EquityPoint(fill.ts_event_us, _ZERO))
        book = books.get((fill.account, fill.symbol))
        if book is None:
            book = CostBook(fill.account, fill.symbol, fill.ts_event_us)
            books[fill.account, fill.symbol] = book
            of_symbol.setdefault(fill.symbol, []).append(book)
        before = book.net_realized
        book.apply(fill)
        equity += book.net_realized - before
        last_price[fill.symbol] = fill.price
        for other in of_symbol[fill.symbol]:
            equity += other.mark(fill.price, fill.ts_event_us)
        curve.append(EquityPoint(fill.ts_event_us, equity))
    return books, curve, last_price


def _line(
    book: CostBook, position: Mapping[str, Any] | None, last_price: Decimal
) -> tuple[PnlLine, list[str]]:
    warnings = []
    mark_value = position.get("last_mark") if position is not None else None
    if mark_value is not None and not math.isfinite(mark_value):
        warnings.append(f"{book.account}/{book.symbol}: ignored the non-finite mark {mark_value}")
        mark_value = None
    mark = _decimal(mark_value) if mark_value is not None else last_price
    if position is not None and not math.isclose(
        float(position["qty"]), float(book.qty), rel_tol=_QTY_TOLERANCE, abs_tol=_QTY_TOLERANCE
    ):
        warnings.append(
            f"{book.account}/{book.symbol}: the positions topic has qty {position['qty']:g}, "
            f"the fills give {float(book.qty):g}"
        )
    line = PnlLine(
        account=book.account,
        symbol=book.symbol,
        qty=float(book.qty),
        avg_price=_q(book.avg),
        mark=_q(mark),
        mark_source="position" if mark_value is not None else "fill",
        realized_pnl=_q(book.realized),
        fees=_q(book.fees),
        net_realized_pnl=_q(book.net_realized),
        unrealized_pnl=_q((mark - book.avg) * book.qty),
        exposure=_q(abs(book.qty) * mark),
        net_exposure=_q(book.qty * mark),
        fills=book.fills,
        stats=_trade_stats(book.trades),
        drawdown=max_drawdown(book.curve),
    )
    return line, warnings


def _total(
    lines: Sequence[PnlLine], trades: Sequence[Decimal], curve: Sequence[EquityPoint]
) -> PnlLine:
    def total(field: str) -> Decimal:
        return sum((getattr(line, field) for line in lines), _ZERO)

    return PnlLine(
        account=None,
        symbol=None,
        qty=None,
        avg_price=None,
        mark=None,
        mark_source=None,
        realized_pnl=total("realized_pnl"),
        fees=total("fees"),
        net_realized_pnl=total("net_realized_pnl"),
        unrealized_pnl=total("unrealized_pnl"),
        exposure=total("exposure"),
        net_exposure=total("net_exposure"),
        fills=sum(line.fills for line in lines),
        stats=_trade_stats(trades),
        drawdown=max_drawdown(curve),
    )


def pnl_report(
    fills: Iterable[Mapping[str, Any]],
    positions: Iterable[Mapping[str, Any]] = (),
    *,
    account: str | None = None,
) -> PnlReport:
    """Return the P&L report of FILLS (topic order), marked with POSITIONS (latest wins).

    Only ACCOUNT's fills and positions count when it is given. Raise InvalidFillError for
    a fill that cannot be accounted (bad side, non-positive qty or price, missing field).
    """
    by_symbol, duplicates = _distinct_by_symbol(fills, account)
    books, curve, last_price = _replay(by_symbol)
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for position in positions:  # compacted topic: a later record replaces an earlier one
        key = (position.get("account", "default"), position["symbol"])
        if account is None or key[0] == account:
            latest[key] = position
    lines, warnings = [], []
    for key in sorted(books, key=lambda k: (k[1], k[0])):
        line, notes = _line(books[key], latest.get(key), last_price[key[1]])
        lines.append(line)
        warnings.extend(notes)
    for acct, symbol in sorted(latest.keys() - books.keys(), key=lambda k: (k[1], k[0])):
        qty = latest[acct, symbol]["qty"]
        warnings.append(f"{acct}/{symbol}: the positions topic has qty {qty:g} but no fills")
    trades = [trade for key in sorted(books) for trade in books[key].trades]
    return PnlReport(
        account=account,
        lines=tuple(lines),
        total=_total(lines, trades, curve),
        fills=sum(book.fills for book in books.values()),
        duplicate_fills=duplicates,
        equity_curve=tuple(curve),
        warnings=tuple(warnings),
    )
