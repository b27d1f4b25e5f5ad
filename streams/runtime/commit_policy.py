"""When a worker commits its transaction: soon when it has caught up, at least every interval.

Under exactly-once, outputs become visible to `read_committed` readers only at a commit,
so the commit cadence *is* the pipeline's visible latency. Committing costs a few round
trips to the transaction coordinator (~5 ms on a local broker, see BENCHMARKS.md), so a
worker that always has records waiting commits every `interval_secs` (throughput), and one
that has caught up with its input commits as soon as `min_interval_secs` have passed since
its last commit (latency): at a quiet feed a quote's signal is visible one commit after it
arrived, at a busy one the transactions grow instead of the commit rate.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CommitPolicy"]


@dataclass(frozen=True)
class CommitPolicy:
    """The commit cadence; times are monotonic seconds."""

    interval_secs: float = 0.1
    min_interval_secs: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_interval_secs <= self.interval_secs:
            raise ValueError(
                f"need 0 <= min interval ({self.min_interval_secs}) <= interval "
                f"({self.interval_secs})"
            )

    def due(
        self,
        *,
        now: float,
        last_commit: float,
        pending: bool,
        caught_up: bool,
        waited: bool = False,
    ) -> bool:
        """Tell whether to commit now.

        PENDING: something was processed since the last commit. CAUGHT_UP: the last fetch
        returned fewer records than asked for (nothing more is waiting locally). WAITED:
        outputs made while the last commit was in flight are waiting for this one; they
        have waited a commit already, so the minimum interval does not hold them longer.
        """
        if not pending:
            return False
        since = now - last_commit
        if since >= self.interval_secs:
            return True
        return caught_up and (waited or since >= self.min_interval_secs)
