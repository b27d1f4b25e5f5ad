"""Bands and channels: Bollinger Bands and the Donchian channel."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from streams.indicators.base import BaseIndicator, multiplier_param, period_param
from streams.indicators.statistics import WindowMoments

__all__ = ["BollingerBands", "DonchianChannel"]


class BollingerBands(BaseIndicator):
    """SMA of the last PERIOD closes +- K population standard deviations; ready after PERIOD.

    Outputs upper, middle, lower; TA-Lib's BBANDS(PERIOD, K, K, SMA).
    """

    kind = "bbands"
    outputs = ("upper", "middle", "lower")
    param_names = ("period", "k")

    __slots__ = ("_k", "_moments", "_period")

    def __init__(self, period: int | float = 20, k: float = 2.0) -> None:
        self._period = period_param(period, minimum=2)
        self._k = multiplier_param(k, "k")
        self._moments = WindowMoments(self._period)
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        self._moments.push(close)
        if not self._ready:
            self._ready = self._moments.full

    def _values(self) -> tuple[float, ...]:
        mean, var = self._moments.mean_var()
        width = self._k * math.sqrt(var)
        return (mean + width, mean, mean - width)

    def params(self) -> dict[str, float]:
        """Return {"period": PERIOD, "k": K}."""
        return {"period": self._period, "k": self._k}

    def _dump(self) -> dict[str, Any]:
        return self._moments.dump()

    def _load(self, data: Mapping[str, Any]) -> None:
        self._moments.load(data)
        self._ready = self._moments.full


class DonchianChannel(BaseIndicator):
    """Highest high and lowest low of the last PERIOD bars, and their midpoint.

    Outputs upper, lower, middle; TA-Lib's MAX(high) and MIN(low). Monotonic
    deques of (index, price) give amortized O(1) per update. Ready after PERIOD updates.
    """

    kind = "donchian"
    outputs = ("upper", "lower", "middle")
    param_names = ("period",)

    __slots__ = ("_count", "_highs", "_lows", "_period")

    def __init__(self, period: int | float = 20) -> None:
        self._period = period_param(period)
        self._count = 0
        # Candidates for the max (decreasing prices) and the min (increasing prices).
        self._highs: deque[tuple[int, float]] = deque()
        self._lows: deque[tuple[int, float]] = deque()
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        index = self._count
        self._count = index + 1
        expired = index - self._period
        highs = self._highs
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((index, high))
        if highs[0][0] == expired:
            highs.popleft()
        lows = self._lows
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((index, low))
        if lows[0][0] == expired:
            lows.popleft()
        if not self._ready:
            self._ready = index + 1 >= self._period

    def _values(self) -> tuple[float, ...]:
        upper = float(self._highs[0][1])
        lower = float(self._lows[0][1])
        return (upper, lower, (upper + lower) / 2.0)

    def params(self) -> dict[str, float]:
        """Return {"period": PERIOD}."""
        return {"period": self._period}

    def _dump(self) -> dict[str, Any]:
        return {
            "count": self._count,
            "highs": [[i, p] for i, p in self._highs],
            "lows": [[i, p] for i, p in self._lows],
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        self._count = int(data["count"])
        self._highs = deque((int(i), float(p)) for i, p in data["highs"])
        self._lows = deque((int(i), float(p)) for i, p in data["lows"])
        if self._count and not (self._highs and self._lows):
            raise ValueError("a started channel needs both deques")
        self._ready = self._count >= self._period
