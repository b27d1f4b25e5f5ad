"""Table recovery that never hangs silently: progress is logged, exposed, and a stall fails.

After a restart or a rebalance a worker replays its tables' changelogs before it processes
anything. faust does that quietly, and a recovery stuck on an unreachable partition (or
an aborted transaction it waits out) looks exactly like a slow one. The watchdog samples
the recovery every second: the remaining records are logged as they shrink and served on
the worker's web views, and when nothing moved for `recovery_stall_secs` the worker
exits with the partitions that are stuck and their offsets, so a supervisor restarts it
and an operator sees why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecoveryStalledError", "RecoveryWatch", "install_recovery_watchdog"]

log = logging.getLogger("primestream.recovery")


class RecoveryStalledError(RuntimeError):
    """Table recovery made no progress for longer than allowed."""


@dataclass
class RecoveryWatch:
    """Pure stall detection over samples of (offsets, highwaters) per changelog partition."""

    stall_secs: float
    last_progress_at: float | None = None
    last_position: int | None = None
    remaining: int = 0
    in_recovery: bool = False
    lagging: dict[str, tuple[int, int]] = field(default_factory=dict)

    def observe(
        self,
        now: float,
        in_recovery: bool,
        offsets: Mapping[Any, int | None],
        highwaters: Mapping[Any, int | None],
    ) -> str | None:
        """Record one sample; return the stall reason once nothing moved for too long."""
        self.in_recovery = in_recovery
        if not in_recovery:
            self.last_progress_at, self.last_position, self.remaining = None, None, 0
            self.lagging = {}
            return None
        position = sum(o or 0 for o in offsets.values())
        self.lagging = {
            str(tp): (offsets.get(tp) or 0, hw)
            for tp, hw in highwaters.items()
            if hw is not None and (offsets.get(tp) or 0) < hw
        }
        self.remaining = sum(hw - off for off, hw in self.lagging.values())
        if self.last_position is None or position != self.last_position:
            self.last_position, self.last_progress_at = position, now
            return None
        assert self.last_progress_at is not None
        if now - self.last_progress_at < self.stall_secs:
            return None
        stuck = ", ".join(
            f"{tp} at {off} of {hw}" for tp, (off, hw) in sorted(self.lagging.items())
        )
        return (
            f"table recovery made no progress for {now - self.last_progress_at:.0f} s "
            f"({self.remaining} changelog records remain: {stuck or 'no highwater known'})"
        )

    def snapshot(self) -> dict[str, Any]:
        """Return the progress as a JSON-able dict (for /ready and logs)."""
        return {
            "in_recovery": self.in_recovery,
            "remaining": self.remaining,
            "lagging": {tp: {"offset": o, "highwater": h} for tp, (o, h) in self.lagging.items()},
        }


def install_recovery_watchdog(
    app: Any, stall_secs: float, clock: Callable[[], float] = time.monotonic
) -> RecoveryWatch:
    """Sample APP's table recovery every second; crash the worker loudly on a stall."""
    watch = RecoveryWatch(stall_secs)

    async def sample() -> None:
        recovery = app.tables.recovery
        before = watch.remaining
        reason = watch.observe(
            clock(),
            bool(recovery.in_recovery),
            dict(recovery.active_offsets),
            dict(recovery.active_highwaters),
        )
        if watch.in_recovery and watch.remaining != before:
            log.info("table recovery: %d changelog records to go", watch.remaining)
        if reason is not None:
            log.error("%s", reason)
            await app.crash(RecoveryStalledError(reason))

    app.timer(1.0, on_leader=False)(sample)
    return watch
