"""Volume indicators: session-anchored VWAP and OBV.

Both are meaningless without traded volume. A quote stream feeds volume 0.0, so they stay
not ready there rather than emit garbage: VWAP until its session has seen volume, OBV
until any volume at all has been seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self

from streams.indicators.base import BaseIndicator, restore
from streams.indicators.exceptions import IndicatorConfigError, IndicatorStateError

__all__ = ["DAY_US", "OBV", "VWAP"]

DAY_US = 86_400_000_000

SessionKey = Callable[[int], int]


def _whole_us(value: object, name: str, *, positive: bool) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise IndicatorConfigError(f"{name} must be a whole number of microseconds, got {value!r}")
    if positive and value <= 0:
        raise IndicatorConfigError(f"{name} must be > 0, got {value}")
    return value


class VWAP(BaseIndicator):
    """Volume-weighted average of the typical price (H + L + C) / 3 since the session start.

    The session of a record is `(ts_us - session_offset_us) // session_length_us`: by
    default the UTC date, so the VWAP resets at 00:00 UTC; `session_offset_us` moves the
    boundary (e.g. 22 h for an FX day rolling at 22:00 UTC). Or pass `session_key`, a
    callable from ts_us to an int session id (an exchange calendar); its state then needs
    the same callable back in `from_state(state, session_key=...)`. Not ready until the
    current session has seen volume.
    """

    kind = "vwap"
    outputs = ("vwap",)
    param_names = ("session_offset_us", "session_length_us")

    __slots__ = ("_key", "_length_us", "_offset_us", "_pv", "_session", "_volume")

    def __init__(
        self,
        session_offset_us: int | float = 0,
        session_length_us: int | float = DAY_US,
        session_key: SessionKey | None = None,
    ) -> None:
        self._offset_us = _whole_us(session_offset_us, "session_offset_us", positive=False)
        self._length_us = _whole_us(session_length_us, "session_length_us", positive=True)
        self._key = session_key
        self._session: int | None = None
        self._pv = 0.0
        self._volume = 0.0
        self._ready = False

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        key = self._key
        session = key(ts_us) if key is not None else (ts_us - self._offset_us) // self._length_us
        if session != self._session:
            self._session = session
            self._pv = 0.0
            self._volume = 0.0
        self._pv += (high + low + close) / 3.0 * volume
        self._volume += volume
        self._ready = self._volume > 0.0

    def _values(self) -> tuple[float, ...]:
        return (self._pv / self._volume,)

    def params(self) -> dict[str, float]:
        """Return {"session_offset_us": ..., "session_length_us": ...}."""
        return {"session_offset_us": self._offset_us, "session_length_us": self._length_us}

    def _dump(self) -> dict[str, Any]:
        return {
            "session": self._session,
            "pv": self._pv,
            "volume": self._volume,
            "custom_session": self._key is not None,
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        session = data["session"]
        self._session = None if session is None else int(session)
        self._pv = float(data["pv"])
        self._volume = float(data["volume"])
        self._ready = self._volume > 0.0

    @classmethod
    def from_state(cls, state: dict[str, Any], session_key: SessionKey | None = None) -> Self:
        """Rebuild a VWAP; pass SESSION_KEY again if the saved one used a custom calendar."""
        custom = bool(state.get("data", {}).get("custom_session"))
        if custom != (session_key is not None):
            raise IndicatorStateError(
                "this vwap state used a custom session_key: pass it to from_state"
                if custom
                else "this vwap state used the session offset: pass no session_key"
            )
        indicator = restore(cls, state)
        indicator._key = session_key
        return indicator


class OBV(BaseIndicator):
    """On-balance volume: running sum of volume signed by the close's direction.

    Starts at the first bar's volume and is flat on an unchanged close (TA-Lib's OBV).
    Not ready until some volume has been seen.
    """

    kind = "obv"
    outputs = ("obv",)
    param_names = ()
    stores_value = True

    __slots__ = ("_count", "_prev", "_value")

    def __init__(self) -> None:
        self._count = 0
        self._prev = 0.0
        self._value = 0.0
        self._ready = False  # set by the first nonzero volume

    def _step(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        if self._count == 0:
            self._count = 1
            self._value = float(volume)
        elif close > self._prev:
            self._value += volume
        elif close < self._prev:
            self._value -= volume
        self._prev = close
        if volume > 0.0:
            self._ready = True

    def _values(self) -> tuple[float, ...]:
        return (self._value,)

    def params(self) -> dict[str, float]:
        """Return {} (OBV takes no parameters)."""
        return {}

    def _dump(self) -> dict[str, Any]:
        return {
            "count": self._count,
            "prev": self._prev,
            "value": self._value,
            "seen_volume": self._ready,
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        self._count = min(int(data["count"]), 1)
        self._prev = float(data["prev"])
        self._value = float(data["value"])
        self._ready = bool(data["seen_volume"])
