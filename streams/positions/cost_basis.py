"""Average-cost accounting of one position, in Decimal: the one implementation.

The position table (`PositionBook`), the risk gate's ledgers (`SymbolLedger`) and the P&L
report (`consumers.pnl.CostBook`) all book fills through `CostBasis`, so they agree to
the last digit on quantity, average price and realized P&L (a test runs one scripted
sequence through all three).

Rules, with qty signed (long > 0, short < 0):

- a fill on the side of the position (or from flat) re-averages:
  avg = (|qty| · avg + fill_qty · price) / (|qty| + fill_qty);
- a fill against it realizes (price - avg) · closed for a long, (avg - price) · closed for
  a short, closed = min(fill_qty, |qty|), and leaves avg unchanged;
- a fill through zero (a flip) realizes the closed part and opens the rest at the fill
  price; a fill that ends exactly flat sets avg to 0.

Realized P&L is gross of fees (callers keep fees apart). Arithmetic is Decimal at 28
significant digits, half-even (the default context, made explicit), never quantized
here: quantities and prices come in exact (a float through its shortest repr), and a
caller quantizes money only where it reports it. State is exact strings, so a book saved
and restored goes on to the same digits.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

__all__ = ["CONTEXT", "CostBasis", "exact"]

CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)
_ZERO = Decimal(0)


def exact(value: object) -> Decimal:
    """Return VALUE as a Decimal: a Decimal as is, a float through its shortest repr.

    Raise ValueError for what is not a finite number (bools included).
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else str(value))
        )
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


class CostBasis:
    """Quantity, average price and gross realized P&L of one position."""

    __slots__ = ("avg_price", "qty", "realized")

    def __init__(
        self, qty: Decimal = _ZERO, avg_price: Decimal = _ZERO, realized: Decimal = _ZERO
    ) -> None:
        self.qty = qty
        self.avg_price = avg_price
        self.realized = realized

    def apply(self, signed_qty: Decimal, price: Decimal) -> Decimal:
        """Book SIGNED_QTY (buy > 0, sell < 0) at PRICE; return the gross P&L it realizes."""
        ctx = CONTEXT
        qty, avg = self.qty, self.avg_price
        if qty == 0 or (qty > 0) == (signed_qty > 0):
            new_qty = ctx.add(qty, signed_qty)
            held, added = abs(qty), abs(signed_qty)
            total = ctx.add(ctx.multiply(avg, held), ctx.multiply(price, added))
            self.avg_price = ctx.divide(total, abs(new_qty))
            self.qty = new_qty
            return _ZERO
        closed = min(abs(signed_qty), abs(qty))
        per_share = ctx.subtract(price, avg) if qty > 0 else ctx.subtract(avg, price)
        gross = ctx.multiply(per_share, closed)
        self.realized = ctx.add(self.realized, gross)
        self.qty = ctx.add(qty, signed_qty)
        if self.qty == 0:
            self.avg_price = _ZERO
        elif (self.qty > 0) != (qty > 0):  # through zero: the rest opens at the fill price
            self.avg_price = price
        return gross

    def unrealized(self, mark: Decimal) -> Decimal:
        """Return (MARK - avg) · qty: what closing everything at MARK would realize."""
        return CONTEXT.multiply(CONTEXT.subtract(mark, self.avg_price), self.qty)

    def state(self) -> dict[str, str]:
        """Return the exact state (strings), for a table."""
        return {
            "qty": str(self.qty),
            "avg_price": str(self.avg_price),
            "realized": str(self.realized),
        }

    @classmethod
    def from_state(cls, state: Any) -> CostBasis:
        """Return the basis `state()` saved; raise ValueError if it is unreadable."""
        try:
            return cls(exact(state["qty"]), exact(state["avg_price"]), exact(state["realized"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"unreadable cost basis {state!r}") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CostBasis):
            return NotImplemented
        return (self.qty, self.avg_price, self.realized) == (
            other.qty,
            other.avg_price,
            other.realized,
        )

    def __repr__(self) -> str:
        return f"CostBasis(qty={self.qty}, avg_price={self.avg_price}, realized={self.realized})"
