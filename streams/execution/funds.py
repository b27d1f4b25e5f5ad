"""The port through which a paper book asks the account how much an order may fill.

A paper book knows its symbol's orders and quotes, not the account's money. At an order's
first fill it asks `Funds` for the quantity the account can carry at the price the order
fills at (equity sizing, a cash cap): the core answers from its risk book
(`streams.trading.funds`); without an account (`None` funds) orders fill as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from streams.execution.book_entries import RestingOrder

__all__ = ["FundedQty", "Funds"]


@dataclass(frozen=True, slots=True)
class FundedQty:
    """The quantity an order may fill (0: none) and why it differs from the order's."""

    qty: float
    reason: str


class Funds(Protocol):
    """The account's answer to "how much of ORDER at PRICE?" (see the module doc)."""

    def funded(
        self, symbol: str, order: RestingOrder, price: Decimal, position: float
    ) -> FundedQty | None:
        """Return the quantity SYMBOL's ORDER may fill at PRICE; None: as sent.

        POSITION is the book's signed quantity before the fill.
        """
        ...
