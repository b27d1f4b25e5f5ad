"""Gaps in a symbol's updates (missing bars, a halt) and what they mean for strategies.

A gap is a step between two consecutive updates' event times longer than
`max_gap_factor` x the expected interval. After a gap the previous snapshot describes a
market that is gone: a "crossing" between it and the first update after the gap may be
nothing but the jump over the missing bars. So the first update after a gap is evaluated
with `previous=None`, and strategies that compare with the previous snapshot
(`Strategy.uses_previous`: crossovers, RSI, MACD, Donchian, sentiment) do not fire on it;
level strategies (Bollinger, VWAP) read only the current snapshot and are unaffected. The
update after that compares with the post-gap snapshot as usual.

**Calendar-aware.** With an exchange's sessions (`Sessions`), bars are counted in trading
time, not wall time: a daily bar's step is the number of sessions that closed in
(previous, now], an intraday bar's the session time in between over its interval. So a
weekend, a holiday or a daylight-saving shift (the 16:00 New York close moves from 20:00
to 21:00 UTC, and Friday -> Monday measures 73 h) is one step, not a gap; a missing
session is two. Bars longer than a day and quotes measure wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from streams.strategies.base import Snapshot

__all__ = ["GapPolicy", "Sessions", "elapsed_steps"]

_US_PER_SEC = 1_000_000
_SECS_PER_DAY = 86_400


class Sessions(Protocol):
    """An exchange's trading sessions, as the gap rule reads them (`streams.risk.session`)."""

    def closes_between(self, start_us: int, end_us: int) -> int:
        """Return how many sessions closed in (START_US, END_US]."""
        ...

    def session_us_between(self, start_us: int, end_us: int) -> int:
        """Return the µs of session time in (START_US, END_US]."""
        ...


def elapsed_steps(
    previous_ts_us: int, ts_us: int, interval_secs: float, sessions: Sessions | None = None
) -> float:
    """Return how many bar intervals passed from PREVIOUS_TS_US to TS_US (see module doc)."""
    if sessions is not None and interval_secs == _SECS_PER_DAY:
        return float(sessions.closes_between(previous_ts_us, ts_us))
    if sessions is not None and interval_secs < _SECS_PER_DAY:
        traded = sessions.session_us_between(previous_ts_us, ts_us)
        return traded / (interval_secs * _US_PER_SEC)
    return (ts_us - previous_ts_us) / (interval_secs * _US_PER_SEC)


@dataclass(frozen=True, slots=True)
class GapPolicy:
    """Decides whether two consecutive updates have a gap between them.

    `max_gap_factor` (default 3.0): a step of more than this many expected intervals is a
    gap (inf: none is). In wall time, 3.0 lets a weekend of daily bars (3 days) through and
    flags a long weekend; in sessions, both are one step.
    """

    max_gap_factor: float = 3.0

    def __post_init__(self) -> None:
        if not self.max_gap_factor >= 1.0:  # False for NaN; inf: never a gap
            raise ValueError(f"max_gap_factor must be >= 1, got {self.max_gap_factor!r}")

    def is_gap(
        self,
        previous_ts_us: int | None,
        ts_us: int,
        interval_secs: float,
        sessions: Sessions | None = None,
    ) -> bool:
        """Return True if more than max_gap_factor steps of INTERVAL_SECS passed.

        Steps are counted in SESSIONS' trading time when given (see the module doc). No
        previous update (None) is not a gap; neither is an update that is not later than
        the previous one (a duplicate or a late record: the caller's ordering concern).
        """
        if not interval_secs > 0.0:
            raise ValueError(f"interval_secs must be positive, got {interval_secs!r}")
        if previous_ts_us is None:
            return False
        if sessions is None:
            return ts_us - previous_ts_us > self.max_gap_factor * interval_secs * _US_PER_SEC
        return elapsed_steps(previous_ts_us, ts_us, interval_secs, sessions) > self.max_gap_factor

    def previous_for(
        self,
        previous: Snapshot | None,
        previous_ts_us: int | None,
        ts_us: int,
        interval_secs: float,
    ) -> Snapshot | None:
        """Return the previous snapshot to evaluate TS_US's update with: None after a gap."""
        if self.is_gap(previous_ts_us, ts_us, interval_secs):
            return None
        return previous
