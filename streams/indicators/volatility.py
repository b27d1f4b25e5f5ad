"""Volatility: ATR, the Wilder-smoothed true range, seeded like TA-Lib."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.indicators.base import BaseIndicator, period_param

__all__ = ["ATR"]


class ATR(BaseIndicator):
    """Average true range with Wilder smoothing; ready after PERIOD + 1 updates.

    The true range needs the previous close, so the first bar has none; the average is
    seeded with the mean of the first PERIOD true ranges (TA-Lib's ATR). On a quote stream
    (high = low = close = mid) the true range is |mid - previous mid|.
    """

    kind = "atr"
    outputs = ("atr",)
    param_names = ("period",)
    stores_value = True

    __slots__ = ("_count", "_period", "_prev_close", "_value")

    def __init__(self, period: int | float = 14) -> None:
        self._period = period_param(period)
        self._count = 0  # updates seen, saturating at PERIOD + 1
        self._prev_close = 0.0
        self._value = 0.0  # the running sum during the warm-up, then the ATR
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        prev_close = self._prev_close
        self._prev_close = close
        if self._count == 0:
            self._count = 1
            return
        true_range = high - low
        gap = abs(prev_close - high)
        if gap > true_range:
            true_range = gap
        gap = abs(low - prev_close)
        if gap > true_range:
            true_range = gap
        if self._ready:
            period = self._period
            self._value = (self._value * (period - 1) + true_range) / period
            return
        self._value += true_range
        self._count += 1
        if self._count > self._period:
            self._value /= self._period
            self._ready = True

    def _values(self) -> tuple[float, ...]:
        return (self._value,)

    def params(self) -> dict[str, float]:
        """Return {"period": PERIOD}."""
        return {"period": self._period}

    def _dump(self) -> dict[str, Any]:
        return {"count": self._count, "prev_close": self._prev_close, "value": self._value}

    def _load(self, data: Mapping[str, Any]) -> None:
        self._count = int(data["count"])
        self._prev_close = float(data["prev_close"])
        self._value = float(data["value"])
        self._ready = self._count > self._period
