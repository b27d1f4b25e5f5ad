"""A worker that stops committing while work waits ends itself, so its supervisor restarts it.

Why: when the broker that coordinates the worker's transactions or group dies, librdkafka
calls can wait far past the timeouts they were given: a commit retried against a moving
coordinator, an abort queued behind the producer's epoch bump, a consumer close waiting for
a dead coordinator (librdkafka #3740). A restarted worker always resumes correctly from its
last commit (exactly-once across kill -9 is tested), so a worker that has committed nothing
for `stall_secs` while work waits is worth less than a new one. The watchdog runs on a
thread of its own (the loop's threads may be the stuck ones), logs why, and ends the
process at once with `STALLED_EXIT`, as kill -9 would; the units in deploy/systemd restart
it.

Work waits while a commit is in flight, while something was processed and not committed,
while a rebalance or the shutdown is under way, and after an aborted transaction until the
next commit. A worker with nothing to do is never stalled; neither is a table restore (it
has its own watch, `streams.recovery`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["STALLED_EXIT", "CommitWatch", "LoopProgress", "Watchdog"]

log = logging.getLogger("primestream.runtime")

STALLED_EXIT = 75
"""`primestream worker`'s exit code when it stopped committing (EX_TEMPFAIL: start it again)."""


@dataclass(frozen=True)
class LoopProgress:
    """One sample of the loop: does work wait, how far it got, what holds it up."""

    waiting: bool
    progress: int  # commits + assignments so far: any change is progress
    detail: str = ""


@dataclass
class CommitWatch:
    """Pure stall detection over samples of the loop's progress."""

    stall_secs: float
    _since: float | None = None  # when work began to wait without progress
    _progress: int = -1

    def observe(self, now: float, sample: LoopProgress) -> str | None:
        """Record SAMPLE; return why the loop counts as stalled, once it does."""
        if not sample.waiting or sample.progress != self._progress:
            self._progress = sample.progress
            self._since = now if sample.waiting else None
            return None
        if self._since is None:
            self._since = now
        stalled = now - self._since
        if stalled < self.stall_secs:
            return None
        detail = f" ({sample.detail})" if sample.detail else ""
        return f"no commit for {stalled:.0f} s while work waits{detail}"


class Watchdog:
    """Samples the loop every INTERVAL seconds and ends the process when it stalled."""

    def __init__(
        self,
        watch: CommitWatch,
        sample: Callable[[], LoopProgress],
        *,
        interval_secs: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        end: Callable[[int], object] = os._exit,
    ) -> None:
        self._watch = watch
        self._sample = sample
        self._interval = interval_secs
        self._clock = clock
        self._end = end
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-watchdog", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the loop has ended)."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            reason = self._watch.observe(self._clock(), self._sample())
            if reason is None or self._stopped.is_set():
                continue
            message = (
                f"the worker stops: {reason}; exiting with code {STALLED_EXIT} so that its "
                "supervisor starts it again from the last commit"
            )
            log.critical("%s", message)
            for handler in logging.getLogger().handlers:
                handler.flush()
            # The process's own stderr: faust redirects sys.stderr into its logger, which
            # would log this line a second time as a WARNING.
            stream = sys.__stderr__ or sys.stderr
            stream.write(f"error: {message}\n")
            stream.flush()
            self._end(STALLED_EXIT)
            return
