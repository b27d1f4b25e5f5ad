"""A signal being decided: its checked fields and the book's numbers the risk rules read."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, Self, TypeVar, overload

from streams.exceptions import InvalidInputError
from streams.risk.config import RiskConfig
from streams.risk.ledger import SymbolLedger
from streams.risk.sizing import SizeResult, size, size_qty

__all__ = ["Candidate", "SignalView"]

_SIDES: Final = ("BUY", "SELL", "FLAT")
_QTY_DIGITS: Final = 9
_PRICE_DIGITS: Final = 6

_T = TypeVar("_T")


class Lazy(Generic[_T]):
    """functools.cached_property without its lock (Python 3.11 takes one on every read).

    The value goes in the instance's __dict__, which then answers every later read.
    """

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> _T | Self:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


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

    @Lazy
    def needs_size(self) -> bool:
        """Return True if the target depends on a size (FLAT and unshortable SELL do not)."""
        side = self.signal.side
        return side == "BUY" or (side == "SELL" and self.limits.allow_short)

    @Lazy
    def sizing(self) -> SizeResult:
        """Return the signal's size under its strategy's sizing rule, and how it came out."""
        rule = self.config.sizing_for(self.signal.strategy)
        return size(rule, self.signal.record, equity=self.equity)

    @Lazy
    def size_qty(self) -> float | None:
        """Return `sizing.qty`, without writing the reason (only a refusal shows it)."""
        rule = self.config.sizing_for(self.signal.strategy)
        return size_qty(rule, self.signal.record, equity=self.equity)

    @Lazy
    def current(self) -> float:
        """Return the symbol's committed quantity before the order."""
        return self.ledger.committed_qty

    @Lazy
    def target(self) -> float:
        """Return the committed quantity the signal wants."""
        if not self.needs_size:
            return 0.0
        qty = self.size_qty or 0.0
        return qty if self.signal.side == "BUY" else -qty

    @Lazy
    def order_qty(self) -> float:
        """Return the signed order quantity: target minus committed."""
        return round(self.target - self.current, _QTY_DIGITS)

    @Lazy
    def limit_price(self) -> float | None:
        """Return the LIMIT price (ref ± offset, paying up), None for MARKET orders."""
        if self.config.order_type != "LIMIT":
            return None
        offset = self.config.limit_offset_bps / 1e4
        sign = 1.0 if self.order_qty > 0 else -1.0
        return round(self.signal.ref_price * (1.0 + sign * offset), _PRICE_DIGITS)

    @Lazy
    def exposures(self) -> tuple[float, float, float, float]:
        """Return (gross before, gross after, net before, net after) of the book."""
        gross, net = self.others
        price = self.signal.ref_price
        before, after = self.current * price, self.target * price
        return gross + abs(before), gross + abs(after), net + before, net + after
