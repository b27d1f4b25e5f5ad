"""The paper broker's price and fee rules, and the trading date that ends a DAY order.

`FillModel` is frozen configuration: slippage for market orders, a commission schedule,
whether displayed size caps a fill, and how many quotes a book keeps for late orders.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from streams.exceptions import InvalidInputError
from streams.execution.reports import money

__all__ = ["FillModel", "trading_day"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEW_YORK = ZoneInfo("America/New_York")
_BPS = Decimal(10_000)


# The last New York date asked for, as [first µs, first µs of the next date, ordinal]: a
# book asks for every quote, and the date changes once a day (a time-zone conversion costs
# more than the rest of a quote's checks).
_DAY: list[int] = [1, 0, 0]


def trading_day(ts_event_us: int) -> int:
    """Return the America/New_York calendar date of TS_EVENT_US (µs) as a date ordinal."""
    start_us, end_us, day = _DAY
    if start_us <= ts_event_us < end_us:
        return day
    local = (_EPOCH + timedelta(microseconds=ts_event_us)).astimezone(_NEW_YORK)
    local_date = local.date()
    start_us = _local_midnight_us(local_date)
    end_us = _local_midnight_us(local_date + timedelta(days=1))
    if start_us <= ts_event_us < end_us:  # New York's midnights exist (DST moves 02:00)
        _DAY[:] = [start_us, end_us, local_date.toordinal()]
    return local.toordinal()


def _local_midnight_us(day: date) -> int:
    midnight = datetime.combine(day, time(0), tzinfo=_NEW_YORK)
    return (midnight - _EPOCH) // timedelta(microseconds=1)


def _per_bps(bps: float) -> Decimal:
    """Return BPS as a fraction, through its shortest repr (worked out once per value)."""
    return _fraction(repr(float(bps)))  # keyed by the repr: -0.0 is not 0.0 here


@functools.lru_cache(maxsize=64)
def _fraction(bps: str) -> Decimal:
    return Decimal(bps) / _BPS


def _slipped(bps: float) -> tuple[Decimal, Decimal]:
    """Return (1 + slip, 1 - slip) of a slippage of BPS: what buys and sells pay."""
    return _slip_factors(repr(float(bps)))


@functools.lru_cache(maxsize=64)
def _slip_factors(bps: str) -> tuple[Decimal, Decimal]:
    slip = _fraction(bps)
    return 1 + slip, 1 - slip


@dataclass(frozen=True, slots=True)
class FillModel:
    """How the paper broker prices and sizes fills; the defaults fill for free at the quote.

    - slippage_bps: what a market order pays beyond the touch: a buy at ask * (1 + bps/1e4),
      a sell at bid * (1 - bps/1e4). Limit orders pay none (never worse than their limit).
    - commission_per_share, commission_min, commission_bps: an order's commission is
      max(min, per_share * qty + bps/1e4 * notional) over its filled qty and notional,
      quantized to 6 places; each fill pays the increase, so the minimum applies once per
      order, not once per partial fill (see `PaperBook`).
    - fill_displayed_size: a quote fills at most its ask_size (buys) or bid_size (sells),
      shared first come first served by the book's open orders.
    - quote_history: quotes a book keeps to fill orders that arrive after newer quotes.
    """

    slippage_bps: float = 0.0
    commission_per_share: Decimal = Decimal(0)
    commission_min: Decimal = Decimal(0)
    commission_bps: float = 0.0
    fill_displayed_size: bool = True
    quote_history: int = 256

    def __post_init__(self) -> None:
        for name in ("slippage_bps", "commission_bps"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0.0):
                raise InvalidInputError(f"FillModel.{name} must be >= 0, got {value!r}")
        for name in ("commission_per_share", "commission_min"):
            value = getattr(self, name)
            if not (isinstance(value, Decimal) and value.is_finite() and value >= 0):
                raise InvalidInputError(f"FillModel.{name} must be a Decimal >= 0, got {value!r}")
        if isinstance(self.quote_history, bool) or not (
            isinstance(self.quote_history, int) and self.quote_history >= 1
        ):
            raise InvalidInputError(
                f"FillModel.quote_history must be an int >= 1, got {self.quote_history!r}"
            )

    def market_price(self, side: str, bid: float, ask: float) -> Decimal:
        """Return what a market order on SIDE pays against a BID/ASK quote, slippage included."""
        up, down = _slipped(self.slippage_bps)
        if side == "BUY":
            return money(Decimal(repr(ask)) * up)
        return money(Decimal(repr(bid)) * down)

    def commission(self, qty: float, notional: Decimal) -> Decimal:
        """Return the commission of an order that filled QTY shares for NOTIONAL in all."""
        bps = _per_bps(self.commission_bps)
        variable = self.commission_per_share * Decimal(repr(qty)) + bps * notional
        return money(max(self.commission_min, variable))

    def state(self) -> dict[str, object]:
        """Return the model as a JSON-serializable dict (Decimals as strings)."""
        saved = asdict(self)
        saved["commission_per_share"] = str(self.commission_per_share)
        saved["commission_min"] = str(self.commission_min)
        return saved

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> FillModel:
        """Return the model saved by `state()`; raise InvalidInputError if STATE is unusable."""
        try:
            return cls(
                slippage_bps=float(str(state["slippage_bps"])),
                commission_per_share=Decimal(str(state["commission_per_share"])),
                commission_min=Decimal(str(state["commission_min"])),
                commission_bps=float(str(state["commission_bps"])),
                fill_displayed_size=state["fill_displayed_size"] is True,
                quote_history=int(str(state["quote_history"])),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise InvalidInputError(f"fill model state is unusable: {exc!r}") from exc
