"""Oscillators: RSI (Wilder) and MACD, seeded like TA-Lib so they match it from its first value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.indicators.base import BaseIndicator, load_floats, period_param
from streams.indicators.exceptions import IndicatorConfigError

__all__ = ["MACD", "RSI"]


class RSI(BaseIndicator):
    """Relative strength index with Wilder smoothing; ready after PERIOD + 1 updates.

    The averages are seeded with the plain mean of the first PERIOD changes (TA-Lib's
    default). A window with no change at all reads 50 (TA-Lib returns 0 there).
    """

    kind = "rsi"
    outputs = ("rsi",)
    param_names = ("period",)

    __slots__ = ("_count", "_gain", "_loss", "_period", "_prev")

    def __init__(self, period: int | float = 14) -> None:
        self._period = period_param(period)
        self._count = 0  # updates seen, saturating at PERIOD + 1
        self._prev = 0.0
        self._gain = 0.0
        self._loss = 0.0
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        change = close - self._prev
        self._prev = close
        if self._ready:
            period = self._period
            gain = self._gain * (period - 1)
            loss = self._loss * (period - 1)
            if change < 0.0:
                loss -= change
            else:
                gain += change
            self._gain = gain / period
            self._loss = loss / period
            return
        self._count += 1
        if self._count == 1:
            return
        if change < 0.0:
            self._loss -= change
        else:
            self._gain += change
        if self._count > self._period:
            self._gain /= self._period
            self._loss /= self._period
            self._ready = True

    def _values(self) -> tuple[float, ...]:
        total = self._gain + self._loss
        return (100.0 * (self._gain / total) if total > 0.0 else 50.0,)

    def params(self) -> dict[str, float]:
        """Return {"period": PERIOD}."""
        return {"period": self._period}

    def _dump(self) -> dict[str, Any]:
        return {"count": self._count, "prev": self._prev, "gain": self._gain, "loss": self._loss}

    def _load(self, data: Mapping[str, Any]) -> None:
        self._count = int(data["count"])
        self._prev = float(data["prev"])
        self._gain = float(data["gain"])
        self._loss = float(data["loss"])
        self._ready = self._count > self._period


class MACD(BaseIndicator):
    """MACD line (EMA FAST - EMA SLOW), its EMA SIGNAL, and the histogram (line - signal).

    Seeded exactly like TA-Lib's MACD, which matters for its first values: the slow EMA
    starts as the mean of the first SLOW closes, the fast EMA as the mean of the FAST
    closes ending at that same bar (not of the first FAST), and the signal as the mean of
    the first SIGNAL MACD values. Ready after SLOW + SIGNAL - 1 updates, where TA-Lib's
    output starts. Requires FAST < SLOW.
    """

    kind = "macd"
    outputs = ("macd", "macd_signal", "macd_hist")
    param_names = ("fast", "slow", "signal")

    __slots__ = (
        "_fast",
        "_fast_ema",
        "_k_fast",
        "_k_signal",
        "_k_slow",
        "_macd",
        "_seed",
        "_signal",
        "_signal_count",
        "_signal_ema",
        "_signal_sum",
        "_slow",
        "_slow_ema",
    )

    def __init__(
        self, fast: int | float = 12, slow: int | float = 26, signal: int | float = 9
    ) -> None:
        self._fast = period_param(fast, "fast")
        self._slow = period_param(slow, "slow", minimum=2)
        self._signal = period_param(signal, "signal")
        if self._fast >= self._slow:
            raise IndicatorConfigError(f"macd needs fast < slow, got {self._fast}, {self._slow}")
        self._k_fast = 2.0 / (self._fast + 1)
        self._k_slow = 2.0 / (self._slow + 1)
        self._k_signal = 2.0 / (self._signal + 1)
        self._seed: list[float] = []  # the first SLOW closes, emptied once the EMAs start
        self._fast_ema = 0.0
        self._slow_ema = 0.0
        self._macd = 0.0
        self._signal_count = 0
        self._signal_sum = 0.0
        self._signal_ema = 0.0
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        if self._signal_count == 0:
            self._start(close)
            return
        fast = self._fast_ema
        slow = self._slow_ema
        fast = (close - fast) * self._k_fast + fast
        slow = (close - slow) * self._k_slow + slow
        self._fast_ema = fast
        self._slow_ema = slow
        macd = fast - slow
        self._macd = macd
        if self._ready:
            prev = self._signal_ema
            self._signal_ema = (macd - prev) * self._k_signal + prev
        else:
            self._add_to_signal_seed(macd)

    def _start(self, close: float) -> None:
        # Collect the first SLOW closes, then seed both EMAs as TA-Lib does.
        seed = self._seed
        seed.append(close)
        if len(seed) < self._slow:
            return
        self._slow_ema = sum(seed) / self._slow
        self._fast_ema = sum(seed[self._slow - self._fast :]) / self._fast
        self._seed = []
        self._macd = self._fast_ema - self._slow_ema
        self._add_to_signal_seed(self._macd)

    def _add_to_signal_seed(self, macd: float) -> None:
        self._signal_sum += macd
        self._signal_count += 1
        if self._signal_count == self._signal:
            self._signal_ema = self._signal_sum / self._signal
            self._ready = True

    def _values(self) -> tuple[float, ...]:
        macd = self._macd
        signal = self._signal_ema
        return (macd, signal, macd - signal)

    def params(self) -> dict[str, float]:
        """Return {"fast": FAST, "slow": SLOW, "signal": SIGNAL}."""
        return {"fast": self._fast, "slow": self._slow, "signal": self._signal}

    def _dump(self) -> dict[str, Any]:
        return {
            "seed": list(self._seed),
            "fast_ema": self._fast_ema,
            "slow_ema": self._slow_ema,
            "macd": self._macd,
            "signal_count": self._signal_count,
            "signal_sum": self._signal_sum,
            "signal_ema": self._signal_ema,
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        seed = data["seed"]
        if not isinstance(seed, list) or len(seed) >= self._slow:
            raise ValueError("seed must be a list shorter than slow")
        self._seed = load_floats(data, "seed", len(seed))
        self._fast_ema = float(data["fast_ema"])
        self._slow_ema = float(data["slow_ema"])
        self._macd = float(data["macd"])
        self._signal_count = int(data["signal_count"])
        self._signal_sum = float(data["signal_sum"])
        self._signal_ema = float(data["signal_ema"])
        self._ready = self._signal_count >= self._signal
