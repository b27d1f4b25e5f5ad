"""Where a worker's time goes, summed over a window and logged as one line.

Fetch, process, commit: the three things the loop does. The line (INFO, every
`window_secs`) says how many records went through, how long each step took in total and at
most, how many commits, and how old the records were when fetched (their Kafka timestamp
to the fetch: the input's delay before the worker saw it), and the cycle collector's full
(generation 2) pauses, which stop the loop too. Operators read it in the log;
the latency benchmark reads it to tell the worker's share from the broker's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LoopTimings"]


@dataclass
class _Step:
    count: int = 0
    total: float = 0.0
    most: float = 0.0

    def add(self, secs: float) -> None:
        self.count += 1
        self.total += secs
        self.most = max(self.most, secs)

    def text(self, name: str) -> str:
        if not self.count:
            return f"{name} -"
        mean_ms = 1000 * self.total / self.count
        return f"{name} {self.count}x {mean_ms:.1f}/{1000 * self.most:.1f} ms"


@dataclass
class LoopTimings:
    """Per-window totals of the loop's steps (mean/max per step)."""

    window_secs: float = 10.0
    started: float = 0.0
    records: int = 0
    fetch: _Step = field(default_factory=_Step)
    process: _Step = field(default_factory=_Step)
    commit: _Step = field(default_factory=_Step)
    age: _Step = field(default_factory=_Step)
    full_gc: _Step = field(default_factory=_Step)

    def fetched(self, records: int, secs: float, age_secs: float | None) -> None:
        """Count a fetch of RECORDS that took SECS; AGE_SECS: its first record's age."""
        self.records += records
        self.fetch.add(secs)
        if age_secs is not None:
            self.age.add(max(0.0, age_secs))

    def processed(self, secs: float) -> None:
        """Count one batch's processing time."""
        self.process.add(secs)

    def committed(self, secs: float) -> None:
        """Count one commit's time."""
        self.commit.add(secs)

    def collected(self, generation: int, secs: float) -> None:
        """Count a collector pause (only full ones are worth a line: the others are ~1 ms)."""
        if generation == 2:
            self.full_gc.add(secs)

    def report(self, now: float) -> str | None:
        """Return the window's line and start a new window, once the window is over."""
        if now - self.started < self.window_secs:
            return None
        span = now - self.started if self.started else self.window_secs
        line = (
            f"{self.records} records in {span:.0f} s ({self.records / span:,.0f}/s); "
            + "; ".join(
                step.text(name)
                for name, step in (
                    ("fetch", self.fetch),
                    ("process", self.process),
                    ("commit", self.commit),
                    ("age at fetch", self.age),
                    ("full gc", self.full_gc),
                )
            )
        )
        fresh = LoopTimings(self.window_secs, started=now)
        self.__dict__.update(fresh.__dict__)
        return line
