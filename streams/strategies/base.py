"""The strategy contract: a pure function of indicator snapshots returning a `StrategyView`.

A strategy is called as `strategy(snapshot, previous, price, params)`:

- `snapshot` maps indicator names (`sma_10`, `bbands_20_2.upper`, ...) to the values of the
  indicators that are *ready*; a missing key means "still warming up", and the strategy
  then returns None. A NaN or infinite value is treated the same way: no signal is better
  than a signal computed from corrupt data.
- `previous` is the snapshot of the symbol's previous update, or None on the first update
  and after a gap (see `streams.strategies.gaps`). Strategies that compare with it
  (`uses_previous`, the crossover type) return None without it.
- `price` is the reference price of the update (the bar's close).
- `params` are the strategy's complete parameters, as `Strategy.resolve` returns them.

Two firing styles exist. *Crossing* strategies fire once, on the update where a line
crosses another. *Level* strategies (`uses_previous=False`) fire on every update while
their condition holds; consumers treat a view as "what the strategy wants now".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from streams.exceptions import ParamError

__all__ = [
    "CONFIDENCE",
    "MAX_PERIOD",
    "SIDE_TEXT",
    "Bound",
    "IndicatorParams",
    "IndicatorSpecs",
    "Param",
    "ParamValue",
    "Params",
    "Side",
    "Snapshot",
    "Strategy",
    "StrategyView",
    "crossing",
    "directional",
    "read",
]

ParamValue = int | float | str | bool
Params = Mapping[str, ParamValue]
Snapshot = Mapping[str, float]
IndicatorParams = dict[str, int | float]
IndicatorSpecs = dict[str, tuple[str, IndicatorParams]]
"""IndicatorSet specs: indicator name -> (kind, kind parameters)."""

Evaluate = Callable[[Snapshot, Snapshot | None, float, Params], "StrategyView | None"]
Bound = Callable[[Snapshot, Snapshot | None, float], "StrategyView | None"]
"""A strategy's evaluation with its parameters bound: `bound(snapshot, previous, price)`."""


class Side(StrEnum):
    """What a strategy wants: the `SignalSide` enum of Signal.avsc."""

    BUY = "BUY"
    SELL = "SELL"
    FLAT = "FLAT"


# Each side's text: a dict lookup, where `.value` is an enum property run as Python code.
SIDE_TEXT: dict[Side, str] = {side: side.value for side in Side}


@dataclass(init=False, slots=True)
class StrategyView:
    """A strategy's view: side, signed strength in [-1, 1], confidence in [0, 1], features.

    The sign of `strength` agrees with `side`: positive for BUY, negative for SELL, zero
    for FLAT. `features` holds the indicator values (and derived numbers) the view used.
    Immutable to the type checker (`Final` fields). The `__init__` is written out, not
    generated: compiled (mypyc) it costs ~25 ns where a frozen dataclass's generated one
    runs interpreted at ~500 ns, and strategies make one or more views per quote
    (BENCHMARKS.md, "Compiled hot path").
    """

    side: Final[Side]
    strength: Final[float]
    confidence: Final[float]
    features: Final[Mapping[str, float]]

    def __init__(
        self,
        side: Side,
        strength: float,
        confidence: float,
        features: Mapping[str, float] | None = None,
    ) -> None:
        if not -1.0 <= strength <= 1.0:
            raise ValueError(f"strength {strength!r} is outside [-1, 1]")
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence {confidence!r} is outside [0, 1]")
        if side == Side.BUY:
            agrees = strength > 0.0
        elif side == Side.SELL:
            agrees = strength < 0.0
        else:
            agrees = strength == 0.0
        if not agrees:
            raise ValueError(f"strength {strength!r} does not agree with side {side}")
        self.side = side
        self.strength = strength
        self.confidence = confidence
        self.features = features if features is not None else {}


def read(snapshot: Snapshot, *names: str) -> tuple[float, ...] | None:
    """Return the values of NAMES in SNAPSHOT, or None if one is missing or not finite."""
    values = []
    for name in names:
        value = snapshot.get(name)
        if value is None or not math.isfinite(value):
            return None
        values.append(value)
    return tuple(values)


def crossing(before: float, now: float) -> int:
    """Return +1 if a difference rose through zero (BEFORE <= 0 < NOW), -1 if it fell, else 0.

    Touching the line counts as being on the other side: 0 -> positive is a crossing up.
    """
    if before <= 0.0 < now:
        return 1
    if before >= 0.0 > now:
        return -1
    return 0


def directional(
    sign: int, magnitude: float, confidence: float, features: Mapping[str, float]
) -> StrategyView | None:
    """Return a BUY (SIGN > 0) or SELL view of MAGNITUDE clamped to 1; None for no conviction."""
    if not magnitude > 0.0:  # also catches NaN
        return None
    strength = min(1.0, magnitude)
    if sign > 0:
        return StrategyView(Side.BUY, strength, confidence, dict(features))
    return StrategyView(Side.SELL, -strength, confidence, dict(features))


@dataclass(frozen=True, slots=True)
class Param:
    """A declared strategy parameter: its default (which fixes its type) and its bounds.

    An int default takes only integers; a float default takes integers and floats; a str
    default takes one of `choices` (any string if empty); a bool default takes booleans.
    `low` and `high` are inclusive bounds for numbers.
    """

    default: ParamValue
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""

    def coerce(self, key: str, value: object) -> ParamValue:
        """Return VALUE as this parameter's type; raise ParamError naming KEY if it does not fit."""
        if isinstance(self.default, bool):
            if not isinstance(value, bool):
                raise ParamError(key, value, "must be true or false")
            return value
        if isinstance(self.default, str):
            return self._coerce_str(key, value)
        return self._coerce_number(key, value)

    def _coerce_number(self, key: str, value: object) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamError(key, value, "must be a number")
        number: int | float
        if isinstance(self.default, int):
            if not isinstance(value, int):
                raise ParamError(key, value, "must be an integer")
            number = value
        else:
            try:
                number = float(value)
            except OverflowError:  # an int too large for a float
                number = math.inf
            if not math.isfinite(number):
                raise ParamError(key, value, "must be finite")
        if self.low is not None and number < self.low:
            raise ParamError(key, value, f"must be >= {self.low:g}")
        if self.high is not None and number > self.high:
            raise ParamError(key, value, f"must be <= {self.high:g}")
        return number

    def _coerce_str(self, key: str, value: object) -> str:
        if not isinstance(value, str):
            raise ParamError(key, value, "must be a string")
        if self.choices and value not in self.choices:
            raise ParamError(key, value, f"must be one of {', '.join(self.choices)}")
        return value


MAX_PERIOD = 100_000
"""The longest indicator period a strategy may ask for (the indicators' own bound)."""

CONFIDENCE = Param(
    0.5, 0.0, 1.0, doc="Confidence of the strategy's views: a configured prior, in [0, 1]."
)
"""The `confidence` parameter every strategy takes."""


def _no_check(params: Params) -> ParamError | None:
    return None


def _no_sentiment(params: Params) -> float | None:
    return None


@dataclass(frozen=True, slots=True)
class Strategy:
    """A strategy kind: its pure evaluation, its parameters and the indicators it reads.

    Call it as `strategy(snapshot, previous, price, params)` with `params` from `resolve`.
    """

    kind: str
    evaluate: Evaluate
    indicators: Callable[[Params], IndicatorSpecs]
    params: Mapping[str, Param]
    uses_previous: bool
    check: Callable[[Params], ParamError | None] = _no_check
    sentiment_half_life_secs: Callable[[Params], float | None] = _no_sentiment
    """The half-life of the decayed news sentiment the strategy reads, if it reads one."""
    bind: Callable[[Params], Bound] | None = None
    """Optional: `evaluate` with resolved params bound once (names built, numbers read), for
    the engine, which calls it on every update; it must return exactly what `evaluate` does."""

    def bound(self, params: Params) -> Bound:
        """Return the evaluation of resolved PARAMS: `bind(params)`, else `evaluate` wrapped."""
        if self.bind is not None:
            return self.bind(params)
        evaluate = self.evaluate

        def call(
            snapshot: Snapshot, previous: Snapshot | None, price: float
        ) -> StrategyView | None:
            return evaluate(snapshot, previous, price, params)

        return call

    def __call__(
        self, snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
    ) -> StrategyView | None:
        """Return the strategy's view of this update, or None when it has nothing to say."""
        return self.evaluate(snapshot, previous, price, params)

    def resolve(self, params: Mapping[str, object] | None = None) -> Mapping[str, ParamValue]:
        """Return PARAMS completed with the defaults and checked; raise ParamError if bad."""
        given = dict(params or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise ParamError(
                unknown[0],
                given[unknown[0]],
                f"unknown parameter (known: {', '.join(self.params)})",
            )
        resolved = {
            key: spec.coerce(key, given[key]) if key in given else spec.default
            for key, spec in self.params.items()
        }
        problem = self.check(resolved)
        if problem is not None:
            raise problem
        return MappingProxyType(resolved)
