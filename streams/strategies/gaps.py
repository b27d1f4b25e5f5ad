"""Gaps in a symbol's updates (missing bars, a halt) and what they mean for strategies.

A gap is a step between two consecutive updates' event times longer than
`max_gap_factor` x the expected interval. After a gap the previous snapshot describes a
market that is gone: a "crossing" between it and the first update after the gap may be
nothing but the jump over the missing bars. So the first update after a gap is evaluated
with `previous=None`, and strategies that compare with the previous snapshot
(`Strategy.uses_previous`: crossovers, RSI, MACD, Donchian, sentiment) do not fire on it;
level strategies (Bollinger, VWAP) read only the current snapshot and are unaffected. The
update after that compares with the post-gap snapshot as usual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.strategies.base import Snapshot

__all__ = ["GapPolicy"]

_US_PER_SEC = 1_000_000


@dataclass(frozen=True, slots=True)
class GapPolicy:
    """Decides whether two consecutive updates have a gap between them.

    `max_gap_factor` (default 3.0): a step of more than this many expected intervals is a
    gap. With daily bars, 3.0 lets a weekend (3 days) through and flags a long weekend.
    """

    max_gap_factor: float = 3.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_gap_factor) and self.max_gap_factor >= 1.0):
            raise ValueError(f"max_gap_factor must be >= 1, got {self.max_gap_factor!r}")

    def is_gap(self, previous_ts_us: int | None, ts_us: int, interval_secs: float) -> bool:
        """Return True if more than max_gap_factor x INTERVAL_SECS passed since PREVIOUS_TS_US.

        No previous update (None) is not a gap; neither is an update that is not later than
        the previous one (a duplicate or a late record: the caller's ordering concern).
        """
        if not interval_secs > 0.0:
            raise ValueError(f"interval_secs must be positive, got {interval_secs!r}")
        if previous_ts_us is None:
            return False
        return ts_us - previous_ts_us > self.max_gap_factor * interval_secs * _US_PER_SEC

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
