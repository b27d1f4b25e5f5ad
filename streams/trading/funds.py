"""The account's money at a paper fill: equity sizing at the fill price, and the cash cap.

The risk gate sizes an order at its signal's price (a bar's close); the order fills at the
next open. So the paper venue asks, at the order's first fill, how much the account can
carry at the price it really fills at (slippage included) with the fees it will pay:

- **pct_equity / all_in** orders are sized again: `pct x equity / unit cost`, rounded
  down to the rule's lot, minus what the position already holds (a SELL that only closes
  a long is not resized); **fixed_notional** ones as `notional / fill price` (with or
  without an account: the notional is at the price paid, not the signal's). The equity
  here is the one the order meets: the symbol's position marked at the fill price, less
  the fees of closing it when the order reverses it (backtesting.py's
  `exclusive_orders=True`: it closes the trade at the open, then sizes the new one from
  the cash that leaves);
- **every order** that opens or adds to a position is capped by the free cash (equity less
  the value of every open position: margin 1, shorts included), as backtesting.py's
  broker does; what only closes a position needs none, and what it frees (a flip) counts.
  Nothing affordable: CANCELED.

The unit cost is `price x (1 + commission_bps) + commission_per_share`, and the minimum
commission must fit beside it. Equity is the risk book's: cash plus positions at their
last known prices (last fill or signal price of each symbol), the order's own symbol at
the fill price. Orders funded within one call reserve what they will pay, since the risk
book learns of their fills after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from streams.execution.book_entries import RestingOrder
from streams.execution.fill_model import FillModel
from streams.execution.funds import FundedQty
from streams.risk.config import EQUITY_SIZING, RiskConfig
from streams.risk.rules import RiskBook
from streams.risk.sizing import round_to_lot

__all__ = ["AccountFunds"]

_QTY_DIGITS = 9


def _floor_lots(qty: float, lot: float) -> float:
    """Return QTY rounded down to LOT, with no slack: never more than the cash allows."""
    return round(max(math.floor(qty / lot), 0) * lot, _QTY_DIGITS)


@dataclass(slots=True)
class AccountFunds:
    """A partition's account, from its risk book, as the paper books ask for it."""

    risk: RiskBook
    config: RiskConfig
    model: FillModel
    reserved: float = field(default=0.0)

    def funded(
        self, symbol: str, order: RestingOrder, price: Decimal, position: float
    ) -> FundedQty | None:
        """Return how much SYMBOL's ORDER may fill at PRICE (see the module doc); None: as sent."""
        fill_price = float(price)
        unit = fill_price * (1.0 + self.model.commission_bps / 1e4) + float(
            self.model.commission_per_share
        )
        rule = self.config.sizing_for(order.strategy)
        sign = 1.0 if order.side == "BUY" else -1.0
        qty, reasons = order.qty, []
        equity = self.risk.equity()
        held, gross_move = self._repriced(symbol, fill_price)
        sized = sign > 0 or self.config.limits.allow_short  # not a SELL that only closes
        target = None
        if sized and rule.kind in EQUITY_SIZING and equity is not None:
            share = 1.0 if rule.kind == "all_in" else rule.pct
            # What reversing the opposite position costs in fees is not there to size with.
            reversed_qty = max(-sign * position, 0.0)
            equity += held - reversed_qty * (unit - fill_price)
            target = round_to_lot(min(share * equity / unit, rule.max_qty), rule.lot)
            how = f"{share:g} x equity {equity:,.2f}"
        elif sized and rule.kind == "fixed_notional":
            target = round_to_lot(min(rule.notional / fill_price, rule.max_qty), rule.lot)
            how = f"{rule.notional:,.2f} / {fill_price:g}"
        if target is not None:
            qty = round(max(target - sign * position, 0.0), _QTY_DIGITS)
            reasons.append(f"sized at the fill price {fill_price:g}: {how} -> {target:g}")
        free = self.risk.free_cash()
        if free is None:  # no account: no cash to cap orders with
            return None if qty == order.qty else FundedQty(qty, "; ".join(reasons))
        free += held - gross_move - self.reserved
        closing = min(qty, max(-sign * position, 0.0))  # what reduces an opposite position
        opening = qty - closing
        # Closing frees what that part of the position held, less its fees (a flip's new
        # side may use it): q x price back, q x (unit - price) paid.
        free += closing * (2.0 * fill_price - unit)
        minimum = float(self.model.commission_min)
        affordable = _floor_lots(min(free / unit, (free - minimum) / fill_price), rule.lot)
        if opening > affordable:
            reasons.append(f"reduced to {closing + affordable:g}: free cash {free:,.2f}")
            opening = affordable
        qty = round(closing + opening, _QTY_DIGITS)
        self.reserved += opening * unit
        if qty == order.qty:
            return None
        if qty <= 0.0:
            return FundedQty(0.0, "insufficient cash: " + "; ".join(reasons))
        return FundedQty(qty, "; ".join(reasons))

    def _repriced(self, symbol: str, fill_price: float) -> tuple[float, float]:
        """Return how SYMBOL's (net, gross) value moves from its mark to FILL_PRICE."""
        ledger = self.risk.ledgers.get(symbol)
        if ledger is None or ledger.qty == 0.0:
            return 0.0, 0.0
        move = fill_price - ledger.mark
        return ledger.qty * move, abs(ledger.qty) * move
