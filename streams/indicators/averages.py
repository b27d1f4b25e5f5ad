"""Moving averages: SMA, EMA and WMA of the close, seeded and rounded like TA-Lib."""

from __future__ import annotations

from collections.abc import Mapping
from operator import mul
from typing import Any

from streams.indicators.base import BaseIndicator, load_floats, period_param

__all__ = ["EMA", "SMA", "WMA"]


class SMA(BaseIndicator):
    """Simple moving average of the last PERIOD closes; ready after PERIOD updates.

    A running sum over a ring buffer, re-summed from the buffer each time the ring wraps,
    so rounding never accumulates beyond one window.
    """

    kind = "sma"
    outputs = ("sma",)
    param_names = ("period",)
    stores_value = True

    __slots__ = ("_buf", "_count", "_partial", "_period", "_pos", "_value")

    def __init__(self, period: int | float = 20) -> None:
        self._period = period_param(period)
        self._buf = [0.0] * self._period
        self._pos = 0
        self._count = 0
        self._partial = 0.0  # sum of the newest PERIOD-1 values
        self._value = 0.0
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        buf = self._buf
        pos = self._pos
        buf[pos] = close
        pos += 1
        if pos == self._period:
            pos = 0
        self._pos = pos
        if not self._ready:
            self._count += 1
            if self._count < self._period:
                self._partial += close
                return
            self._ready = True
        total = self._partial + close
        self._value = total / self._period
        # buf[pos] is now the oldest value of the window: it leaves next.
        self._partial = sum(buf) - buf[0] if pos == 0 else total - buf[pos]

    def _values(self) -> tuple[float, ...]:
        return (self._value,)

    def params(self) -> dict[str, float]:
        """Return {"period": PERIOD}."""
        return {"period": self._period}

    def _dump(self) -> dict[str, Any]:
        return {
            "buf": list(self._buf),
            "pos": self._pos,
            "count": self._count,
            "partial": self._partial,
            "value": self._value,
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        self._buf = load_floats(data, "buf", self._period)
        self._pos = int(data["pos"]) % self._period
        self._count = int(data["count"])
        self._partial = float(data["partial"])
        self._value = float(data["value"])
        self._ready = self._count >= self._period


class EMA(BaseIndicator):
    """Exponential moving average, k = 2 / (PERIOD + 1), seeded with the SMA of the first PERIOD.

    Ready after PERIOD updates, like TA-Lib's EMA (its default, non-Metastock seeding).
    """

    kind = "ema"
    outputs = ("ema",)
    param_names = ("period",)
    stores_value = True

    __slots__ = ("_count", "_k", "_period", "_sum", "_value")

    def __init__(self, period: int | float = 20) -> None:
        self._period = period_param(period)
        self._k = 2.0 / (self._period + 1)
        self._count = 0
        self._sum = 0.0
        self._value = 0.0
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        if self._ready:
            prev = self._value
            self._value = (close - prev) * self._k + prev
            return
        self._sum += close
        self._count += 1
        if self._count == self._period:
            self._value = self._sum / self._period
            self._ready = True

    def _values(self) -> tuple[float, ...]:
        return (self._value,)

    def params(self) -> dict[str, float]:
        """Return {"period": PERIOD}."""
        return {"period": self._period}

    def _dump(self) -> dict[str, Any]:
        return {"count": self._count, "sum": self._sum, "value": self._value}

    def _load(self, data: Mapping[str, Any]) -> None:
        self._count = int(data["count"])
        self._sum = float(data["sum"])
        self._value = float(data["value"])
        self._ready = self._count >= self._period


class WMA(BaseIndicator):
    """Linearly weighted moving average (weights 1..PERIOD, newest heaviest); ready after PERIOD.

    Running weighted and plain sums like TA-Lib's, recomputed from the ring buffer each
    time it wraps.
    """

    kind = "wma"
    outputs = ("wma",)
    param_names = ("period",)
    stores_value = True

    __slots__ = (
        "_buf",
        "_count",
        "_divider",
        "_num",
        "_period",
        "_pos",
        "_sub",
        "_trailing",
        "_value",
        "_weights",
    )

    def __init__(self, period: int | float = 20) -> None:
        self._period = period_param(period)
        self._divider = float(self._period * (self._period + 1) // 2)
        self._weights = [float(w) for w in range(1, self._period + 1)]
        self._buf = [0.0] * self._period
        self._pos = 0
        self._count = 0
        # TA-Lib's loop variables: _sub is the plain sum, _num the weighted sum minus _sub
        # (ready for the next shift), _trailing the value leaving on the next update.
        self._sub = 0.0
        self._num = 0.0
        self._trailing = 0.0
        self._value = 0.0
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        period = self._period
        buf = self._buf
        pos = self._pos
        buf[pos] = close
        pos += 1
        if pos == period:
            pos = 0
        self._pos = pos
        if not self._ready:
            self._count += 1
            if self._count < period:
                self._sub += close
                self._num += close * self._count
                return
            self._ready = True
        if pos == 0:
            # The ring is in time order: recompute both sums from it.
            sub = sum(buf)
            weighted = sum(map(mul, buf, self._weights))
        else:
            sub = self._sub + close - self._trailing
            weighted = self._num + close * period
        self._trailing = buf[pos]
        self._value = weighted / self._divider
        self._sub = sub
        self._num = weighted - sub

    def _values(self) -> tuple[float, ...]:
        return (self._value,)

    def params(self) -> dict[str, float]:
        """Return {"period": PERIOD}."""
        return {"period": self._period}

    def _dump(self) -> dict[str, Any]:
        return {
            "buf": list(self._buf),
            "pos": self._pos,
            "count": self._count,
            "sub": self._sub,
            "num": self._num,
            "trailing": self._trailing,
            "value": self._value,
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        self._buf = load_floats(data, "buf", self._period)
        self._pos = int(data["pos"]) % self._period
        self._count = int(data["count"])
        self._sub = float(data["sub"])
        self._num = float(data["num"])
        self._trailing = float(data["trailing"])
        self._value = float(data["value"])
        self._ready = self._count >= self._period
