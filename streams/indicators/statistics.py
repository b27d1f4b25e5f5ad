"""Rolling window statistics: numerically stable moments and the rolling z-score."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from streams.indicators.base import BaseIndicator, load_floats, period_param

__all__ = ["WindowMoments", "ZScore"]


class WindowMoments:
    """Mean and population variance of the last PERIOD values, O(1) per push.

    Sums of deviations from a shift (a recent value) instead of raw sums, so the
    variance does not cancel catastrophically when it is tiny next to the mean (FX
    prices); the shift and both sums are recomputed from the ring buffer each time it
    wraps, so rounding never accumulates beyond one window. A window of identical values
    has variance exactly 0.
    """

    __slots__ = ("_buf", "_count", "_period", "_pos", "_run", "_s1", "_s2", "_shift")

    def __init__(self, period: int) -> None:
        self._period = period
        self._buf = [0.0] * period
        self._pos = 0
        self._count = 0
        self._shift = 0.0
        self._s1 = 0.0  # sum of (x - shift) over the window
        self._s2 = 0.0  # sum of (x - shift) ** 2 over the window
        self._run = 0  # how many of the newest values are equal to the newest

    def push(self, value: float) -> None:
        """Add VALUE to the window, dropping the oldest once it holds PERIOD values."""
        buf = self._buf
        pos = self._pos
        shift = self._shift
        if self._count == self._period:
            gone = buf[pos] - shift
            self._s1 -= gone
            self._s2 -= gone * gone
        elif self._count == 0:
            shift = self._shift = value
            self._count = 1
        else:
            self._count += 1
        self._run = self._run + 1 if value == buf[pos - 1] else 1
        buf[pos] = value
        dev = value - shift
        self._s1 += dev
        self._s2 += dev * dev
        pos += 1
        if pos == self._period:
            pos = 0
            if self._count == self._period:
                self._recompute()
        self._pos = pos

    def _recompute(self) -> None:
        shift = self._buf[-1]
        devs = [v - shift for v in self._buf]
        self._shift = shift
        self._s1 = sum(devs)
        self._s2 = sum([d * d for d in devs])

    @property
    def full(self) -> bool:
        """Return True once the window holds PERIOD values."""
        return self._count == self._period

    @property
    def last(self) -> float:
        """Return the newest value."""
        return self._buf[self._pos - 1]

    def mean_var(self) -> tuple[float, float]:
        """Return (mean, population variance) of the values in the window."""
        if self._run >= self._count:
            return self._buf[self._pos - 1], 0.0
        n = self._count
        mean_dev = self._s1 / n
        var = self._s2 / n - mean_dev * mean_dev
        return self._shift + mean_dev, var if var > 0.0 else 0.0

    def dump(self) -> dict[str, Any]:
        """Return the state as JSON-serializable data."""
        return {
            "buf": list(self._buf),
            "pos": self._pos,
            "count": self._count,
            "shift": self._shift,
            "s1": self._s1,
            "s2": self._s2,
            "run": self._run,
        }

    def load(self, data: Mapping[str, Any]) -> None:
        """Restore the state written by `dump`."""
        self._buf = load_floats(data, "buf", self._period)
        self._pos = int(data["pos"]) % self._period
        self._count = min(int(data["count"]), self._period)
        self._shift = float(data["shift"])
        self._s1 = float(data["s1"])
        self._s2 = float(data["s2"])
        self._run = int(data["run"])


class ZScore(BaseIndicator):
    """(close - mean) / std over the last PERIOD closes, population std; ready after PERIOD.

    Equals (close - SMA) / STDDEV of TA-Lib. A flat window (std 0) reads 0. Bounded by
    +-sqrt(PERIOD - 1), the largest z-score a window can hold, which also caps rounding
    noise on windows whose spread is a few ulps.
    """

    kind = "zscore"
    outputs = ("zscore",)
    param_names = ("period",)

    __slots__ = ("_bound", "_moments", "_period")

    def __init__(self, period: int | float = 20) -> None:
        self._period = period_param(period, minimum=2)
        self._bound = math.sqrt(self._period - 1)
        self._moments = WindowMoments(self._period)
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        self._moments.push(close)
        if not self._ready:
            self._ready = self._moments.full

    def _values(self) -> tuple[float, ...]:
        mean, var = self._moments.mean_var()
        if var == 0.0:
            return (0.0,)
        z = (self._moments.last - mean) / math.sqrt(var)
        bound = self._bound
        return (bound if z > bound else -bound if z < -bound else z,)

    def params(self) -> dict[str, float]:
        """Return {"period": PERIOD}."""
        return {"period": self._period}

    def _dump(self) -> dict[str, Any]:
        return self._moments.dump()

    def _load(self, data: Mapping[str, Any]) -> None:
        self._moments.load(data)
        self._ready = self._moments.full
