"""News sentiment of one symbol, decayed exponentially in event time.

Each news item i has a score s_i in [-1, 1] (VADER compound) and an event time t_i. At
time t its weight is w_i(t) = 2^(-(t - t_i) / half_life): 1 when it is published, 1/2 one
half-life later. The decayed sentiment is

    value(t) = sum_i s_i * w_i(t) / max(1, sum_i w_i(t))

that is, the plain decayed sum while the total weight is at most 1 (one item of +0.8 reads
+0.4 one half-life later, and fades to 0 when no news follows), and the weighted mean once
more weight than one fresh item has accumulated, so a burst of news cannot push it past
+-1. The value is always in [-1, 1] and continuous in the scores and times.

Only event time moves the decay, never the wall clock. The state is the two sums taken at
its reference time, the newest event time seen; an item older than that (out of order) is
decayed *forward* to the reference time and added, which gives the same sums as if it had
arrived in order. A query before the reference time answers with the value at the
reference time: the state cannot be decayed backward, and doing so would let later items
count before they were published.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from streams.exceptions import InvalidInputError

__all__ = ["DecayedSentiment", "sentiment_key"]

_US_PER_SEC = 1_000_000


def sentiment_key(half_life_secs: float) -> str:
    """Return the snapshot key of the sentiment decayed with HALF_LIFE_SECS: `sentiment_3600`.

    Like indicator names it holds no "." (900.5 secs: `sentiment_900p5`).
    """
    return f"sentiment_{half_life_secs:g}".replace(".", "p")


class DecayedSentiment:
    """The exponentially time-decayed sentiment of one symbol (see the module docstring)."""

    __slots__ = ("_half_life_us", "_ts_us", "_weight", "_weighted_sum", "half_life_secs")

    def __init__(self, half_life_secs: float) -> None:
        if not (math.isfinite(half_life_secs) and half_life_secs > 0.0):
            raise InvalidInputError(f"half_life_secs must be positive, got {half_life_secs!r}")
        self.half_life_secs = float(half_life_secs)
        self._half_life_us = self.half_life_secs * _US_PER_SEC
        self._ts_us: int | None = None
        self._weighted_sum = 0.0
        self._weight = 0.0

    @property
    def ts_us(self) -> int | None:
        """Event time (µs) the state is taken at: the newest item's, None before any."""
        return self._ts_us

    def _decay(self, dt_us: int) -> float:
        return math.exp2(-dt_us / self._half_life_us)

    def update(self, score: float, ts_us: int) -> None:
        """Fold in a news item of SCORE (in [-1, 1]) published at TS_US (µs), in any order."""
        if not (math.isfinite(score) and -1.0 <= score <= 1.0):
            raise InvalidInputError(f"sentiment score must be in [-1, 1], got {score!r}")
        if self._ts_us is None:
            self._ts_us = ts_us
        if ts_us >= self._ts_us:
            factor = self._decay(ts_us - self._ts_us)
            self._weighted_sum = self._weighted_sum * factor + score
            self._weight = self._weight * factor + 1.0
            self._ts_us = ts_us
        else:
            weight = self._decay(self._ts_us - ts_us)
            self._weighted_sum += score * weight
            self._weight += weight

    def weight_at(self, ts_us: int) -> float:
        """Return the total decayed weight of the items at TS_US: how much news backs the value."""
        if self._ts_us is None:
            return 0.0
        return self._weight * self._decay(max(0, ts_us - self._ts_us))

    def value_at(self, ts_us: int) -> float:
        """Return the decayed sentiment at event time TS_US (µs), in [-1, 1]; 0 before any news."""
        if self._ts_us is None:
            return 0.0
        factor = self._decay(max(0, ts_us - self._ts_us))
        value = self._weighted_sum * factor / max(1.0, self._weight * factor)
        return min(1.0, max(-1.0, value))

    def state(self) -> dict[str, float | int | None]:
        """Return the state as a JSON-serializable dict (for a changelogged table)."""
        return {
            "half_life_secs": self.half_life_secs,
            "ts_us": self._ts_us,
            "weighted_sum": self._weighted_sum,
            "weight": self._weight,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> DecayedSentiment:
        """Return the sentiment saved by `state()`; raise InvalidInputError if STATE is corrupt."""
        ts_us = _field(state, "ts_us")
        if not (ts_us is None or (isinstance(ts_us, int) and not isinstance(ts_us, bool))):
            raise InvalidInputError(f"sentiment state: ts_us must be an int or null: {ts_us!r}")
        restored = cls(_finite(state, "half_life_secs"))
        weighted_sum, weight = _finite(state, "weighted_sum"), _finite(state, "weight")
        # |sum s_i w_i| <= sum w_i since every |s_i| <= 1; anything else was not saved by us.
        if weight < 0.0 or abs(weighted_sum) > weight * (1.0 + 1e-9):
            raise InvalidInputError(f"sentiment state is inconsistent: {dict(state)!r}")
        restored._ts_us = ts_us
        restored._weighted_sum = weighted_sum
        restored._weight = weight
        return restored


def _field(state: Mapping[str, object], key: str) -> object:
    if key not in state:
        raise InvalidInputError(f"sentiment state lacks {key!r}")
    return state[key]


def _finite(state: Mapping[str, object], key: str) -> float:
    value = _field(state, key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"sentiment state: {key} must be a finite number: {value!r}")
    return float(value)
