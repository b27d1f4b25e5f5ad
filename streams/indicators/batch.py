"""The batch form of every indicator, for backfills: arrays in, arrays out, NaN in warm-up."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from streams.indicators.exceptions import IndicatorConfigError
from streams.indicators.registry import build_indicator

__all__ = ["batch"]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


def _column(values: ArrayLike | None, name: str, size: int, default: FloatArray) -> FloatArray:
    if values is None:
        return default
    column = np.asarray(values, dtype=np.float64)
    if column.shape != (size,):
        raise IndicatorConfigError(f"{name} has shape {column.shape}, close has ({size},)")
    return column


def batch(
    kind: str,
    close: ArrayLike,
    high: ArrayLike | None = None,
    low: ArrayLike | None = None,
    volume: ArrayLike | None = None,
    ts_us: ArrayLike | None = None,
    **params: float,
) -> dict[str, FloatArray]:
    """Run indicator KIND over whole columns; return {output: array}, NaN while not ready.

    Missing columns default as on a quote stream: high = low = close, volume 0 (so vwap and
    obv stay NaN), ts_us 0. The result equals, bit for bit, feeding the rows one by one to
    `make_indicator(kind, **params)`, because that is how it is computed; a NaN or
    infinite input raises IndicatorInputError.
    """
    closes = np.asarray(close, dtype=np.float64)
    if closes.ndim != 1:
        raise IndicatorConfigError(f"close must be one-dimensional, got shape {closes.shape}")
    size = closes.shape[0]
    highs = _column(high, "high", size, closes)
    lows = _column(low, "low", size, closes)
    volumes = _column(volume, "volume", size, np.zeros(size))
    if ts_us is None:
        stamps: list[int] = [0] * size
    else:
        stamp_array = np.asarray(ts_us, dtype=np.int64)
        if stamp_array.shape != (size,):
            raise IndicatorConfigError(f"ts_us has shape {stamp_array.shape}, close has ({size},)")
        stamps = stamp_array.tolist()
    indicator = build_indicator(kind, params)
    outputs = indicator.outputs
    columns: list[list[float]] = [[] for _ in outputs]
    nan = float("nan")
    update = indicator.update
    rows = zip(
        closes.tolist(), highs.tolist(), lows.tolist(), volumes.tolist(), stamps, strict=True
    )
    for c, h, lo, v, t in rows:
        update(c, h, lo, v, t)
        if indicator.ready:
            values = indicator.values()
            for column, key in zip(columns, outputs, strict=True):
                column.append(values[key])
        else:
            for column in columns:
                column.append(nan)
    return {
        key: np.array(column, dtype=np.float64)
        for key, column in zip(outputs, columns, strict=True)
    }
