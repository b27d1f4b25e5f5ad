"""Exchange trading sessions and trading days, from exchange-calendars, in O(log n) per lookup.

A calendar is built once per code and kept (about 0.5 s for XNYS): its session opens and
closes (and lunch breaks, where an exchange has them) become sorted lists of µs since the
epoch, searched with `bisect`, so a lookup is a few hundred nanoseconds with no pandas.

The sessions cover a fixed span, 2000-01-01 to 2040-12-31 (clipped to the calendar's own
bounds), not exchange-calendars' default of "20 years back to 1 year ahead of today": that
default depends on the wall clock, and a replay must decide the same whenever it runs.
An instant outside the span is never in a session.

A session includes its close: a daily bar stamped at the 16:00 close (producers' GOOG
sample) is inside it, as the boundary rule of the risk gate has it (equal is allowed).
"""

from __future__ import annotations

import functools
import warnings
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TradingCalendar", "is_open", "trading_calendar", "trading_day", "us_to_iso"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER_DAY: Final = 86_400_000_000
_FIRST: Final = "2000-01-01"
_LAST: Final = "2040-12-31"
_NO_BREAK: Final = -1


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def us_to_iso(ts_us: int) -> str:
    """Return TS_US (µs since the epoch) as an ISO-8601 UTC string, for messages."""
    return (_EPOCH + timedelta(microseconds=ts_us)).isoformat()


@dataclass(slots=True)
class _Day:
    name: str
    start_us: int
    end_us: int


class TradingCalendar:
    """One exchange's sessions as sorted µs arrays, and its local trading day."""

    __slots__ = ("_break_ends", "_break_starts", "_closes", "_day", "_opens", "code", "tz")

    def __init__(
        self,
        code: str,
        tz: tzinfo,
        opens: Sequence[int],
        closes: Sequence[int],
        break_starts: Sequence[int] | None = None,
        break_ends: Sequence[int] | None = None,
    ) -> None:
        self.code = code
        self.tz = tz
        self._opens = list(opens)
        self._closes = list(closes)
        self._break_starts = list(break_starts or [_NO_BREAK] * len(self._opens))
        self._break_ends = list(break_ends or [_NO_BREAK] * len(self._opens))
        self._day = _Day("", 0, 0)  # memo of the last local day: days change rarely

    @classmethod
    def from_exchange(cls, code: str) -> TradingCalendar:
        """Build CODE's calendar from exchange-calendars (slow: use `trading_calendar`)."""
        # Deferred: importing it loads pandas. It ships no type information.
        import exchange_calendars  # type: ignore[import-untyped]

        with warnings.catch_warnings():
            # exchange-calendars 4.x reads tz-aware Series.values, deprecated by pandas 3.1.
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            cal = exchange_calendars.get_calendar(code, start=_FIRST, end=_LAST)
        breaks = bool(cal.break_starts.notna().any())
        return cls(
            code,
            cal.tz,
            _column_us(cal.opens),
            _column_us(cal.closes),
            _column_us(cal.break_starts) if breaks else None,
            _column_us(cal.break_ends) if breaks else None,
        )

    @property
    def first_open_us(self) -> int:
        """Return the first session's open (µs), the start of what this calendar knows."""
        return self._opens[0]

    @property
    def last_close_us(self) -> int:
        """Return the last session's close (µs), the end of what this calendar knows."""
        return self._closes[-1]

    def is_open(self, ts_us: int) -> bool:
        """Return True if TS_US is inside a session: open <= ts <= close, not in a break."""
        i = bisect_right(self._opens, ts_us) - 1
        if i < 0 or ts_us > self._closes[i]:
            return False
        start = self._break_starts[i]
        return start == _NO_BREAK or not start <= ts_us < self._break_ends[i]

    def closes_between(self, start_us: int, end_us: int) -> int:
        """Return how many sessions closed in (START_US, END_US] (the gap rule's daily step)."""
        return max(bisect_right(self._closes, end_us) - bisect_right(self._closes, start_us), 0)

    def session_us_between(self, start_us: int, end_us: int) -> int:
        """Return the µs of session time (breaks excluded) in (START_US, END_US]."""
        total = 0
        i = max(bisect_right(self._closes, start_us), 0)  # the first session closing after START
        while i < len(self._opens) and self._opens[i] < end_us:
            lo, hi = max(self._opens[i], start_us), min(self._closes[i], end_us)
            if hi > lo:
                total += hi - lo
                b_lo, b_hi = self._break_starts[i], self._break_ends[i]
                if b_lo != _NO_BREAK:
                    total -= max(min(b_hi, hi) - max(b_lo, lo), 0)
            i += 1
        return total

    def last_open_us(self, ts_us: int) -> int | None:
        """Return the latest session open at or before TS_US; None before the first."""
        i = bisect_right(self._opens, ts_us) - 1
        return self._opens[i] if i >= 0 else None

    def next_open_us(self, ts_us: int) -> int | None:
        """Return the first session open (or end of a break) after TS_US; None past the end."""
        i = bisect_right(self._opens, ts_us) - 1
        if i >= 0 and self._break_starts[i] <= ts_us < self._break_ends[i]:
            return self._break_ends[i]  # in a break (none: both -1, never true)
        return self._opens[i + 1] if i + 1 < len(self._opens) else None

    def trading_day(self, ts_us: int) -> str:
        """Return the ISO date of TS_US in the exchange's time zone (its trading day)."""
        day = self._day
        if not day.start_us <= ts_us < day.end_us:
            local = (_EPOCH + timedelta(microseconds=ts_us)).astimezone(self.tz).date()
            day = self._day = _Day(
                local.isoformat(),
                _local_midnight_us(local, self.tz),
                _local_midnight_us(local + timedelta(days=1), self.tz),
            )
        return day.name


def _local_midnight_us(day: date, tz: tzinfo) -> int:
    return _to_us(datetime.combine(day, time(0), tzinfo=tz))


def _column_us(column: pd.Series) -> list[int]:
    # datetime64[ns, UTC] -> int ns -> µs; NaT (no break that day) becomes _NO_BREAK.
    nanos = column.to_numpy(dtype="datetime64[ns]").astype("int64")
    missing = column.isna().to_numpy()
    return [_NO_BREAK if gone else int(ns) // 1000 for ns, gone in zip(nanos, missing, strict=True)]


@functools.cache
def trading_calendar(code: str) -> TradingCalendar:
    """Return CODE's calendar, built once per process (exchange-calendars, e.g. "XNYS")."""
    return TradingCalendar.from_exchange(code)


def is_open(calendar: str | None, ts_us: int) -> bool:
    """Return True if TS_US is in a session of CALENDAR; always True for None."""
    return calendar is None or trading_calendar(calendar).is_open(ts_us)


def trading_day(calendar: str | None, ts_us: int) -> str:
    """Return the trading day (ISO date) of TS_US: CALENDAR's local date, UTC's for None."""
    if calendar is None:
        return _utc_day(ts_us // _US_PER_DAY)
    return trading_calendar(calendar).trading_day(ts_us)


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


@functools.lru_cache(maxsize=64)
def _utc_day(days: int) -> str:
    """Return the ISO date DAYS days after 1970-01-01 (every decision and fill asks)."""
    return date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
