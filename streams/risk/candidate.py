"""A signal being decided: its checked fields and the book's numbers the risk rules read."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from streams.exceptions import InvalidInputError
from streams.risk.config import RiskConfig
from streams.risk.ledger import SymbolLedger
from streams.risk.sizing import SizeResult, size, size_qty

__all__ = ["Candidate", "SignalView"]

_SIDES: Final = ("BUY", "SELL", "FLAT")
_QTY_DIGITS: Final = 9
_PRICE_DIGITS: Final = 6


@dataclass(init=False, slots=True)
class SignalView:
    """The fields of a Signal record the rules read, checked (`of`); fields are `Final`.

    One is made per signal: a written-out `__init__` costs half a frozen dataclass's.
    """

    id: Final[str]
    symbol: Final[str]
    strategy: Final[str]
    side: Final[str]
    confidence: Final[float]
    ref_price: Final[float]
    ts_event_us: Final[int]
    record: Final[Mapping[str, Any]]

    def __init__(
        self,
        id: str,
        symbol: str,
        strategy: str,
        side: str,
        confidence: float,
        ref_price: float,
        ts_event_us: int,
        record: Mapping[str, Any],
    ) -> None:
        self.id = id
        self.symbol = symbol
        self.strategy = strategy
        self.side = side
        self.confidence = confidence
        self.ref_price = ref_price
        self.ts_event_us = ts_event_us
        self.record = record

    @classmethod
    def of(cls, signal: Mapping[str, Any]) -> SignalView:
        """Return SIGNAL's view; raise InvalidInputError for a field no rule can use."""
        side = signal.get("side")
        if side not in _SIDES:
            raise _unusable(signal, "side", f"must be one of {', '.join(_SIDES)}")
        ts = signal.get("ts_event_us")
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise _unusable(signal, "ts_event_us", "must be int µs since the epoch")
        price = _number(signal, "ref_price")
        if price <= 0.0:
            raise _unusable(signal, "ref_price", "must be positive")
        return cls(
            id=_text(signal, "id"),
            symbol=_text(signal, "symbol"),
            strategy=_text(signal, "strategy"),
            side=str(side),
            confidence=_number(signal, "confidence"),
            ref_price=price,
            ts_event_us=ts,
            record=signal,
        )


def _unusable(signal: Mapping[str, Any], key: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"signal {signal.get('id')!r}: {key} = {signal.get(key)!r}: {problem}")


def _text(signal: Mapping[str, Any], key: str) -> str:
    value = signal.get(key)
    if not isinstance(value, str) or not value:
        raise _unusable(signal, key, "must be a non-empty string")
    return value


def _number(signal: Mapping[str, Any], key: str) -> float:
    value = signal.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise _unusable(signal, key, "must be a finite number")


class Candidate:
    """A signal being decided, with the book's numbers its rules read, computed on demand.

    `target` is the committed quantity the signal wants (BUY: +size, SELL: -size or 0
    without shorting, FLAT: 0); the order moves the committed quantity (position + pending)
    there. Exposures sum |committed| (gross) or committed (net) x mark over the book's
    symbols, this symbol at the signal's price.

    The numbers are worked out on first read and kept (most signals are refused before the
    sizing is needed): properties over private slots, not cached_property, so that the
    class compiles with mypyc (a native class has no instance `__dict__`).
    """

    def __init__(
        self,
        signal: SignalView,
        config: RiskConfig,
        budget: float,
        ledger: SymbolLedger,
        others: tuple[float, float],
        *,
        kill_reason: str | None,
        realized_today: float,
        equity: float | None = None,
    ) -> None:
        self.signal = signal
        self.config = config
        self.limits = config.limits
        self.budget = budget
        self.ledger = ledger  # the signal's symbol's
        self.others = others  # (gross, net) exposure of the book's other symbols
        self.kill_reason = kill_reason
        self.realized_today = realized_today
        self.equity = equity  # the account's (None: no cash account), for equity sizing
        side = signal.side
        # True if the target depends on a size (FLAT and unshortable SELL do not).
        self.needs_size = side == "BUY" or (side == "SELL" and self.limits.allow_short)
        self._current: float | None = None
        self._sizing: SizeResult | None = None
        self._size_qty: float | None = None
        self._sized = False
        self._target: float | None = None
        self._order_qty: float | None = None
        self._limit_price: float | None = None
        self._priced = False
        self._exposures: tuple[float, float, float, float] | None = None

    @property
    def sizing(self) -> SizeResult:
        """The signal's size under its strategy's sizing rule, and how it came out."""
        if self._sizing is None:
            rule = self.config.sizing_for(self.signal.strategy)
            self._sizing = size(rule, self.signal.record, equity=self.equity)
        return self._sizing

    @property
    def size_qty(self) -> float | None:
        """`sizing.qty`, without writing the reason (only a refusal shows it)."""
        if not self._sized:
            rule = self.config.sizing_for(self.signal.strategy)
            self._size_qty = size_qty(rule, self.signal.record, equity=self.equity)
            self._sized = True
        return self._size_qty

    @property
    def current(self) -> float:
        """The symbol's committed quantity before the order."""
        if self._current is None:
            self._current = self.ledger.committed_qty
        return self._current

    @property
    def target(self) -> float:
        """The committed quantity the signal wants."""
        if self._target is None:
            if not self.needs_size:
                self._target = 0.0  # never -0.0: it would show in the rejection's reason
            else:
                qty = self.size_qty or 0.0
                self._target = qty if self.signal.side == "BUY" else -qty
        return self._target

    @property
    def order_qty(self) -> float:
        """The signed order quantity: target minus committed."""
        if self._order_qty is None:
            self._order_qty = round(self.target - self.current, _QTY_DIGITS)
        return self._order_qty

    @property
    def limit_price(self) -> float | None:
        """The LIMIT price (ref ± offset, paying up), None for MARKET orders."""
        if not self._priced:
            self._priced = True
            if self.config.order_type == "LIMIT":
                offset = self.config.limit_offset_bps / 1e4
                sign = 1.0 if self.order_qty > 0 else -1.0
                price = self.signal.ref_price * (1.0 + sign * offset)
                self._limit_price = round(price, _PRICE_DIGITS)
        return self._limit_price

    @property
    def exposures(self) -> tuple[float, float, float, float]:
        """(gross before, gross after, net before, net after) of the book."""
        if self._exposures is None:
            gross, net = self.others
            price = self.signal.ref_price
            before, after = self.current * price, self.target * price
            self._exposures = (gross + abs(before), gross + abs(after), net + before, net + after)
        return self._exposures
