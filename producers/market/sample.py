"""The real OHLCV data the `backtesting` package ships (`backtesting.test`), as Bar records.

| name   | data                           | bar       | `ts_event_us`: the bar's close      |
| ------ | ------------------------------ | --------- | ----------------------------------- |
| GOOG   | NASDAQ daily, 2004-08 .. 2013  | 86400 s   | the date at 16:00 America/New_York  |
| EURUSD | forex hourly, 2017-04 .. 2018-02 | 3600 s  | the stamp (the bar's open, UTC) + 1 h |
| BTCUSD | monthly index, 2012 .. 2024    | the month | the month's last date + 1 day, UTC  |

The symbol is the sample's name; `seq` counts the bars from 0 and `row` from 1. GOOG's
close is the NASDAQ closing auction (16:00 New York: 20:00 or 21:00 UTC, with daylight
saving). The EURUSD file has no zone: it is read as UTC, its stamps as bar opens.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from infra.clock import Clock
from producers.exceptions import SourceError
from producers.rows import SourceRow
from producers.timestamps import datetime_to_us

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SAMPLES", "SampleSource", "sample_source"]

_NEW_YORK = ZoneInfo("America/New_York")

# (the zone-less stamp in the file) -> (the bar's close time, interval_secs)
_CloseOf = Callable[[datetime], tuple[datetime, int]]


def _nasdaq_daily(stamp: datetime) -> tuple[datetime, int]:
    return datetime.combine(stamp.date(), time(16, 0), tzinfo=_NEW_YORK), 86_400


def _hourly_utc(stamp: datetime) -> tuple[datetime, int]:
    return stamp.replace(tzinfo=UTC) + timedelta(hours=1), 3_600


def _monthly_utc(stamp: datetime) -> tuple[datetime, int]:
    days = calendar.monthrange(stamp.year, stamp.month)[1]
    close = datetime.combine(stamp.date(), time(0, 0), tzinfo=UTC) + timedelta(days=1)
    return close, days * 86_400


SAMPLES: dict[str, _CloseOf] = {
    "GOOG": _nasdaq_daily,
    "EURUSD": _hourly_utc,
    "BTCUSD": _monthly_utc,
}
"""The bundled samples by name, with how each one's bar close time is read."""


@dataclass(frozen=True)
class SampleSource:
    """Bars of one `backtesting.test` sample (GOOG, EURUSD, BTCUSD); see the module doc."""

    name: str
    clock: Clock
    kind: Literal["bar"] = "bar"

    @classmethod
    def named(cls, name: str, *, clock: Clock) -> SampleSource:
        """Return the sample NAME (case-insensitive); SourceError naming the known ones."""
        key = name.strip().upper()
        if key not in SAMPLES:
            known = ", ".join(SAMPLES)
            raise SourceError(f"sample:{name}", f"no such sample; bundled: {known}")
        return cls(key, clock)

    @cached_property
    def _frame(self) -> pd.DataFrame:
        # Importing backtesting.test reads its three CSVs, so it waits until asked.
        from backtesting import test

        frame: pd.DataFrame = getattr(test, self.name)
        return frame

    @property
    def total(self) -> int:
        """Bars in the sample."""
        return len(self._frame)

    def records(self) -> Iterator[SourceRow]:
        """Yield the sample's bars, oldest first."""
        close_of = SAMPLES[self.name]
        frame = self._frame
        columns = [frame[c].astype("float64").tolist() for c in ("Open", "High", "Low", "Close")]
        volumes = frame["Volume"].astype("float64").tolist()
        for seq, (stamp, open_, high, low, close, volume) in enumerate(
            zip([t.to_pydatetime() for t in frame.index], *columns, volumes, strict=True)
        ):
            ts_close, interval_secs = close_of(stamp)
            yield SourceRow(
                seq + 1,
                {
                    "symbol": self.name,
                    "ts_event_us": datetime_to_us(ts_close),
                    "ts_ingest_us": self.clock(),
                    "interval_secs": interval_secs,
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": volume,
                    "seq": seq,
                },
            )


def sample_source(rest: str, *, clock: Clock, spec: str) -> SampleSource:
    """Return the `sample:NAME` source."""
    return SampleSource.named(rest, clock=clock)
