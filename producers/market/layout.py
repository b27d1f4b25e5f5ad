"""How a market file's columns and times are read: names people use, and stamps without a zone.

Files come as people have them: Yahoo's `Date,Open,High,Low,Close,Adj Close,Volume`
(no symbol), backtesting.py's capitalised `Open/High/Low/Close/Volume` with a datetime
index (written to CSV its header starts with an empty name; to Parquet the index is a
column named after it, or `__index_level_0__`). So:

- **Column names** are matched case-insensitively, spaces and underscores alike, through
  `ALIASES`: `ts` is also `timestamp`, `time`, `date`, `datetime`, the empty name of a CSV
  index column and pandas' `__index_level_0__`; `symbol` is also `ticker`. Other columns
  (`Adj Close`, ...) are ignored.
- **No symbol column**: `FileLayout.symbol` (the CLI's `--symbol`) names the file's symbol.
  A file with a symbol column and `--symbol` is refused: which one would be right?
- **Times without a zone** are never guessed silently. A bare date ("2004-08-19", or a
  zone-less midnight in a file of daily or longer bars) is the bar of that day, stamped at
  its close: `close` (16:00) in `tz` (America/New_York unless given), as the bundled GOOG
  sample is. A zone-less time of day is read in `tz` when one is given, else it is an error
  row that says to pass `--tz`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from producers.exceptions import SourceError
from producers.timestamps import datetime_to_us, parse_timestamp_us

__all__ = [
    "ALIASES",
    "DEFAULT_CLOSE",
    "DEFAULT_DATE_ZONE",
    "FileLayout",
    "canonical_columns",
    "parse_close",
]

DEFAULT_DATE_ZONE = "America/New_York"
"""The zone of a bare date's close when no --tz is given (US listed shares, like GOOG)."""
DEFAULT_CLOSE = time(16, 0)
"""The time of day a bare date's bar closes at (NYSE/NASDAQ's 16:00)."""

ALIASES: dict[str, str] = {
    "ts": "ts",
    "timestamp": "ts",
    "time": "ts",
    "date": "ts",
    "datetime": "ts",
    "": "ts",  # a CSV written from a DataFrame with an unnamed index
    "indexlevel0": "ts",  # pandas' name for an unnamed index in Parquet
    "symbol": "symbol",
    "ticker": "symbol",
    "bidsize": "bid_size",
    "asksize": "ask_size",
    "intervalsecs": "interval_secs",
}
"""Normalized column name (lower case, no spaces or underscores) -> the name we read."""

_SQUEEZE = re.compile(r"[\s_]+")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$")
_SECS_PER_DAY = 86_400


def _squeezed(name: object) -> str:
    return _SQUEEZE.sub("", str(name).strip().lower())


def canonical_columns(columns: Sequence[object]) -> list[str]:
    """Return COLUMNS renamed to the names we read (aliases resolved, others lower-cased)."""
    renamed = []
    for name in columns:
        key = _squeezed(name)
        renamed.append(ALIASES.get(key, str(name).strip().lower()))
    return renamed


def parse_close(text: str) -> time:
    """Return "HH:MM" (or "HH:MM:SS") as a time; ValueError naming the expected form."""
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--close {text!r}: expected HH:MM, e.g. 16:00") from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problem = "unknown time zone (e.g. UTC, America/New_York)"
        raise SourceError(f"--tz {name}", problem) from None


@dataclass(frozen=True)
class FileLayout:
    """What a file does not say itself: its symbol, the zone of its times, a day's close.

    `tz` None: zone-less times of day are errors, bare dates close in America/New_York.
    """

    symbol: str | None = None
    tz: str | None = None
    close: time = DEFAULT_CLOSE
    _zone: ZoneInfo | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.symbol is not None and not self.symbol.strip():
            raise SourceError("--symbol", "is empty")
        object.__setattr__(self, "_zone", _zone(self.tz) if self.tz is not None else None)

    @property
    def date_zone(self) -> ZoneInfo:
        """Return the zone a bare date's close is in."""
        return self._zone or ZoneInfo(DEFAULT_DATE_ZONE)

    def close_of(self, day: date) -> int:
        """Return the close of DAY's bar (µs since the epoch)."""
        return datetime_to_us(datetime.combine(day, self.close, tzinfo=self.date_zone))

    def timestamp_us(self, cell: object, interval_secs: int) -> int:
        """Return CELL as µs since the epoch; ValueError with a short reason.

        A zone-less midnight is a bare date when the bars are daily or longer.
        """
        if isinstance(cell, str) and _DATE_ONLY.match(cell.strip()):
            return self.close_of(date.fromisoformat(cell.strip()))
        naive = _naive(cell)
        if naive is None:
            return parse_timestamp_us(cell)
        if naive.time() == time(0) and interval_secs >= _SECS_PER_DAY:
            return self.close_of(naive.date())
        if self._zone is None:
            raise ValueError(f"{_shown(cell)} has no time zone (pass --tz, e.g. --tz UTC)")
        return datetime_to_us(naive.replace(tzinfo=self._zone))


def _naive(cell: object) -> datetime | None:
    """Return CELL as a zone-less datetime if it is one (or text of one), else None."""
    if isinstance(cell, datetime):
        return cell if cell.tzinfo is None else None
    if isinstance(cell, date):
        return datetime.combine(cell, time(0))
    if isinstance(cell, str):
        if _NUMBER.match(cell.strip()):
            return None  # an epoch number, read as such
        try:
            moment = datetime.fromisoformat(cell.strip())
        except ValueError:
            return None
        return moment if moment.tzinfo is None else None
    return None


def _shown(cell: object) -> str:
    return repr(cell.isoformat()) if isinstance(cell, datetime) else repr(cell)
