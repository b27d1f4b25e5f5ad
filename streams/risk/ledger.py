"""One symbol's risk state: position (average cost), open orders, last price, recent ids.

This is the risk gate's own view, kept from the fills and order events of its partition so
that a decision needs no remote lookup. The position is booked by the same average-cost
code as the positions table and the P&L report (`streams.positions.cost_basis`), so the
three agree on quantity, average price and realized P&L; today's realized P&L, which
only meets a limit, is a float.

Pending quantity is tracked per order: an order counts `qty - filled` until it ends. When
it ends (CANCELED, REJECTED or FILLED) it still counts the fills the end event reports
(`filled_qty`) that this ledger has not yet seen, because fills and order events come from
different topics and either may arrive first; whatever the broker reports as `leaves_qty`
(the open quantity before the cancel, or 0 after it, as FIX has it), the result is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any, Final

from streams.positions.cost_basis import CostBasis, exact

__all__ = ["OpenOrder", "SymbolLedger"]

_ZERO: Final = Decimal(0)
# Products of two floats' exact decimal forms have up to ~34 digits, sums a few more: at
# 60 digits exposure totals are exact, so the order of updates cannot change them.
_EXPOSURE: Final = Context(prec=60)
_QTY_DIGITS: Final = 9  # rounds away float residue such as 100 - 33.3 - 66.7
_EPS: Final = 1e-9


def _clean(qty: float) -> float:
    rounded = round(qty, _QTY_DIGITS)
    return 0.0 if abs(rounded) < _EPS else rounded


def _sign(qty: float) -> float:
    return 1.0 if qty > 0 else -1.0


@dataclass(slots=True)
class OpenOrder:
    """An accepted order's signed quantity, what was filled, and (once ended) its final fill."""

    qty: float
    filled: float = 0.0
    final: float | None = None

    @property
    def open_qty(self) -> float:
        """Return the signed quantity still expected to fill (0 when nothing is)."""
        expected = abs(self.qty) if self.final is None else self.final
        return _sign(self.qty) * max(_clean(expected - self.filled), 0.0)


@dataclass(slots=True)
class SymbolLedger:
    """A symbol's position, open orders, last price and accept time, and recent ids."""

    cost: CostBasis = field(default_factory=CostBasis)
    last_price: float | None = None
    last_accept_us: int | None = None
    realized_today: float = 0.0
    day: str | None = None  # the trading day realized_today belongs to
    # This symbol's share of the book's exposure totals, as last added to them (exact).
    gross_part: Decimal = _ZERO
    net_part: Decimal = _ZERO
    # Its share of the book's held totals (Σ |qty| x mark, Σ qty x mark: positions, not
    # orders), which the account's equity and free cash read.
    held_gross_part: Decimal = _ZERO
    held_net_part: Decimal = _ZERO
    orders: dict[str, OpenOrder] = field(default_factory=dict)
    signal_ids: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    fill_ids: dict[str, None] = field(default_factory=dict)
    # The sum over open orders, kept as they change: every decision reads it for every symbol.
    _pending: float = field(default=0.0, init=False, repr=False, compare=False)
    # committed_qty of the (qty, pending) it was last worked out for: round() is slow, and
    # every decision reads every symbol's (equal floats round alike; -0.0 and 0.0 give 0.0).
    _committed: tuple[float, float, float] = field(
        default=(math.nan, math.nan, 0.0), init=False, repr=False, compare=False
    )

    # float(cost.qty): every decision reads every symbol's
    _qty: float = field(default=0.0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._pending = _clean(sum(order.open_qty for order in self.orders.values()))
        self._qty = float(self.cost.qty)

    @property
    def qty(self) -> float:
        """Return the signed position (long > 0)."""
        return self._qty

    @property
    def avg_price(self) -> float:
        """Return the average price of the position (0 when flat)."""
        return float(self.cost.avg_price)

    @property
    def pending_qty(self) -> float:
        """Return the signed quantity of accepted orders not yet filled."""
        return self._pending

    @property
    def committed_qty(self) -> float:
        """Return position plus pending: what the book holds once open orders fill."""
        qty, pending = self.qty, self._pending
        memo_qty, memo_pending, committed = self._committed
        if qty == memo_qty and pending == memo_pending:
            return committed
        committed = _clean(qty + pending)
        self._committed = (qty, pending, committed)
        return committed

    def exposure_parts(self) -> tuple[Decimal, Decimal]:
        """Return (|committed| x mark, committed x mark), exact: this symbol's exposure now."""
        committed = exact(self.committed_qty)
        value = _EXPOSURE.multiply(committed, exact(self.mark))
        return abs(value), value

    def held_parts(self) -> tuple[Decimal, Decimal]:
        """Return (|qty| x mark, qty x mark), exact: the value of the position now."""
        value = _EXPOSURE.multiply(exact(self.qty), exact(self.mark))
        return abs(value), value

    def today(self, day: str | None) -> float:
        """Return the realized P&L of DAY (0 if the ledger's belongs to an earlier one)."""
        return self.realized_today if self.day == day else 0.0

    @property
    def mark(self) -> float:
        """Return the price exposure is valued at: the last price, else the average cost."""
        return self.last_price if self.last_price is not None else self.avg_price

    def seen_signal(self, signal_id: str) -> bool:
        """Return True if SIGNAL_ID is among the recent signal ids."""
        return signal_id in self.signal_ids

    def remember_signal(self, signal_id: str, bound: int) -> None:
        """Remember SIGNAL_ID, forgetting the oldest beyond BOUND ids."""
        _remember(self.signal_ids, signal_id, bound)

    def add_order(self, order_id: str, signed_qty: float) -> None:
        """Count an accepted order's SIGNED_QTY as pending until it fills or ends."""
        self._drop(order_id)
        self.orders[order_id] = order = OpenOrder(signed_qty)
        self._pending = _clean(self._pending + order.open_qty)

    def end_order(self, order_id: str, filled_qty: float) -> None:
        """Mark ORDER_ID ended with FILLED_QTY filled in all; release what will not fill."""
        order = self.orders.get(order_id)
        if order is not None:
            before = order.open_qty
            order.final = max(filled_qty, 0.0)
            self._changed(order_id, order, before)

    def apply_fill(
        self, fill_id: str, order_id: str, signed_qty: float, price: float, fee: float, bound: int
    ) -> float | None:
        """Apply a fill at average cost; return its realized P&L net of FEE, None if seen."""
        if fill_id in self.fill_ids:
            return None
        _remember(self.fill_ids, fill_id, bound)
        order = self.orders.get(order_id)
        if order is not None:
            before = order.open_qty
            order.filled = _clean(order.filled + abs(signed_qty))
            self._changed(order_id, order, before)
        self.last_price = price
        return self._move_position(signed_qty, price) - fee

    def _move_position(self, delta: float, price: float) -> float:
        """Apply DELTA shares at PRICE to the position; return the gross realized P&L."""
        realized = self.cost.apply(exact(delta), exact(price))
        self._qty = float(self.cost.qty)
        return float(realized)

    def _changed(self, order_id: str, order: OpenOrder, before: float) -> None:
        after = order.open_qty
        self._pending = _clean(self._pending + after - before)
        if after == 0.0:
            del self.orders[order_id]

    def _drop(self, order_id: str) -> None:
        order = self.orders.pop(order_id, None)
        if order is not None:
            self._pending = _clean(self._pending - order.open_qty)

    def state(self) -> dict[str, Any]:
        """Return this ledger as a JSON-able dict (`from_state` reads it back)."""
        return {
            "cost": self.cost.state(),
            "last_price": self.last_price,
            "last_accept_us": self.last_accept_us,
            "realized_today": self.realized_today,
            "day": self.day,
            "exposure": [str(self.gross_part), str(self.net_part)],
            "held": [str(self.held_gross_part), str(self.held_net_part)],
            "orders": {k: [o.qty, o.filled, o.final] for k, o in self.orders.items()},
            "signal_ids": list(self.signal_ids),
            "fill_ids": list(self.fill_ids),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SymbolLedger:
        """Return the ledger STATE (from `state`) describes."""
        cost = (
            CostBasis.from_state(state["cost"])
            if "cost" in state  # states written before the cost basis was shared had floats
            else CostBasis(exact(state["qty"]), exact(state["avg_price"]))
        )
        return cls(
            cost=cost,
            last_price=None if state["last_price"] is None else float(state["last_price"]),
            last_accept_us=state["last_accept_us"],
            realized_today=float(state["realized_today"]),
            day=state.get("day"),
            gross_part=exact(state.get("exposure", ["0", "0"])[0]),
            net_part=exact(state.get("exposure", ["0", "0"])[1]),
            held_gross_part=exact(state.get("held", ["0", "0"])[0]),
            held_net_part=exact(state.get("held", ["0", "0"])[1]),
            orders={k: OpenOrder(q, f, e) for k, (q, f, e) in state["orders"].items()},
            signal_ids=dict.fromkeys(state["signal_ids"]),
            fill_ids=dict.fromkeys(state["fill_ids"]),
        )


def _remember(ids: dict[str, None], new_id: str, bound: int) -> None:
    ids[new_id] = None
    while len(ids) > bound:
        del ids[next(iter(ids))]
