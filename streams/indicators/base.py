"""The indicator contract, and the shared machinery of the implementations beside it.

Every indicator is fed one record at a time with `update(close, high, low, volume, ts_us)`
in O(1) (amortized), is silent (`ready` False, `values()` empty) during its warm-up, and
saves/restores its whole state as plain JSON (`state()` / `from_state()`), so it can live
in a faust table changelog and resume bit-for-bit.

Inputs are checked before anything changes: a NaN or infinite price, or a negative or
non-finite volume, raises `IndicatorInputError` (a `ValueError`) and leaves the state as
it was. Outputs are always finite.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Self, TypeVar

from streams.indicators.exceptions import (
    IndicatorConfigError,
    IndicatorInputError,
    IndicatorStateError,
)

__all__ = [
    "MAX_PERIOD",
    "STATE_VERSION",
    "BaseIndicator",
    "check_inputs",
    "load_floats",
    "multiplier_param",
    "period_param",
    "restore",
]

STATE_VERSION = 1
MAX_PERIOD = 100_000

_INF = math.inf


def check_inputs(close: float, high: float, low: float, volume: float) -> None:
    """Raise IndicatorInputError unless prices are finite and volume is finite and >= 0."""
    # One chained comparison per input: False for NaN, +inf and -inf alike.
    if -_INF < close < _INF and -_INF < high < _INF and -_INF < low < _INF and 0.0 <= volume < _INF:
        return
    for field, value in (("close", close), ("high", high), ("low", low)):
        if not -_INF < value < _INF:
            raise IndicatorInputError(field, value)
    raise IndicatorInputError("volume", volume)


def period_param(value: object, name: str = "period", minimum: int = 1) -> int:
    """Return VALUE as an int period in [MINIMUM, MAX_PERIOD]; integral floats are accepted."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise IndicatorConfigError(f"{name} must be an integer, got {value!r}")
    if not minimum <= value <= MAX_PERIOD:
        raise IndicatorConfigError(f"{name} must be in [{minimum}, {MAX_PERIOD}], got {value}")
    return value


def multiplier_param(value: object, name: str) -> float:
    """Return VALUE as a finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IndicatorConfigError(f"{name} must be a number, got {value!r}")
    if not 0.0 < value < _INF:
        raise IndicatorConfigError(f"{name} must be finite and > 0, got {value!r}")
    return float(value)


class BaseIndicator(ABC):
    """Shared machinery: input checks, the `values()` gate and the state envelope.

    A subclass implements `_step` (the O(1) update on already-checked inputs, which also
    keeps `_ready` current), `_values`, `params`, `_dump` and `_load`. `IndicatorSet`
    checks a record once and calls every member's `_step` directly.
    """

    __slots__ = ("_ready",)

    kind: ClassVar[str]
    outputs: ClassVar[tuple[str, ...]]
    param_names: ClassVar[tuple[str, ...]]

    def update(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        """Fold in one record; raise IndicatorInputError (state untouched) on bad input."""
        check_inputs(close, high, low, volume)
        self._step(close, high, low, volume, ts_us)

    @abstractmethod
    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        """Fold in one record whose inputs were already checked."""

    # Every subclass keeps `_ready` current in `_step`: IndicatorSet reads it directly.
    _ready: bool
    # True where the one output is kept in a `_value` slot (`_values()` is `(self._value,)`):
    # IndicatorSet's snapshot reads the slot rather than call `_values()`.
    stores_value: ClassVar[bool] = False
    _value: float

    @property
    def ready(self) -> bool:
        """Return True once the warm-up is over and `values()` is valid."""
        return self._ready

    def values(self) -> dict[str, float]:
        """Return the current outputs by name, or {} during the warm-up."""
        return dict(zip(self.outputs, self._values(), strict=True)) if self._ready else {}

    @abstractmethod
    def _values(self) -> tuple[float, ...]:
        """Return the outputs in the order of `outputs`; only called when ready."""

    @abstractmethod
    def params(self) -> dict[str, float]:
        """Return the constructor parameters, by name."""

    @abstractmethod
    def _dump(self) -> dict[str, Any]:
        """Return the mutable state as JSON-serializable data."""

    @abstractmethod
    def _load(self, data: Mapping[str, Any]) -> None:
        """Restore the mutable state written by `_dump`."""

    def state(self) -> dict[str, Any]:
        """Return the whole state as JSON-serializable data (kind, version, params, data)."""
        return {
            "kind": self.kind,
            "version": STATE_VERSION,
            "params": self.params(),
            "data": self._dump(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        """Rebuild an indicator from `state()` output; raise IndicatorStateError if foreign."""
        return restore(cls, state)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


_Built = TypeVar("_Built", bound=BaseIndicator)


def restore(cls: type[_Built], state: dict[str, Any]) -> _Built:
    """Rebuild an indicator of class CLS from `state()` output (what `from_state` does).

    A function, so a subclass's `from_state` can call it: mypyc-compiled code does not
    support `super()` in a classmethod.
    """
    if state.get("kind") != cls.kind or state.get("version") != STATE_VERSION:
        raise IndicatorStateError(
            f"state of kind {state.get('kind')!r} version {state.get('version')!r} "
            f"is not a {cls.kind!r} version {STATE_VERSION} state"
        )
    try:
        indicator = cls(**state["params"])
        indicator._load(state["data"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise IndicatorStateError(f"unreadable {cls.kind!r} state: {exc}") from exc
    return indicator


def load_floats(data: Mapping[str, Any], key: str, length: int) -> list[float]:
    """Return DATA[KEY] as a list of LENGTH floats; raise ValueError otherwise."""
    raw = data[key]
    if not isinstance(raw, list) or len(raw) != length:
        raise ValueError(f"{key} must be a list of {length} numbers")
    return [float(v) for v in raw]
