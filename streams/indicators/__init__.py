"""Pure, incremental technical indicators: O(1) updates, TA-Lib parity, JSON state.

`make_indicator(kind, **params)` builds one; `IndicatorSet` holds all of a symbol's;
`batch(kind, close, ...)` is the numpy form for backfills. No Kafka here.

kind      params (defaults)                 outputs                       first value after
sma       period (20)                       sma                           period updates
ema       period (20)                       ema                           period
wma       period (20)                       wma                           period
rsi       period (14)                       rsi                           period + 1
macd      fast (12), slow (26), signal (9)  macd, macd_signal, macd_hist  slow + signal - 1
bbands    period (20), k (2.0)              upper, middle, lower          period
atr       period (14)                       atr                           period + 1
zscore    period (20)                       zscore                        period
donchian  period (20)                       upper, lower, middle          period
vwap      session_offset_us (0),            vwap                          volume in the session
          session_length_us (1 day)
obv       -                                 obv                           the first volume

The first values fall where TA-Lib's start. Fed quotes as `update(mid, mid, mid, 0.0,
ts_us)`, vwap and obv are meaningless (no traded volume) and stay not ready; atr becomes
the mean absolute mid change and donchian the mid's range.
"""

from __future__ import annotations

from streams.indicators.averages import EMA, SMA, WMA
from streams.indicators.bands import BollingerBands, DonchianChannel
from streams.indicators.base import BaseIndicator
from streams.indicators.batch import batch
from streams.indicators.exceptions import (
    IndicatorConfigError,
    IndicatorInputError,
    IndicatorStateError,
)
from streams.indicators.indicator_set import IndicatorSet, Spec
from streams.indicators.oscillators import MACD, RSI
from streams.indicators.protocol import Indicator
from streams.indicators.registry import KINDS, make_indicator, parse_name
from streams.indicators.statistics import ZScore
from streams.indicators.volatility import ATR
from streams.indicators.volume import OBV, VWAP

__all__ = [
    "ATR",
    "EMA",
    "KINDS",
    "MACD",
    "OBV",
    "RSI",
    "SMA",
    "VWAP",
    "WMA",
    "BaseIndicator",
    "BollingerBands",
    "DonchianChannel",
    "Indicator",
    "IndicatorConfigError",
    "IndicatorInputError",
    "IndicatorSet",
    "IndicatorStateError",
    "Spec",
    "ZScore",
    "batch",
    "make_indicator",
    "parse_name",
]
