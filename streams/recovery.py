"""Table recovery that never hangs silently: progress is exposed, and a stall fails.

After a restart or a rebalance a worker replays its tables' changelogs before it processes
anything (`streams.runtime.restore`), and a recovery stuck on an unreachable partition (or
a transaction it waits out) would look exactly like a slow one. The restorer reports its
progress here about every second: what remains is served on the worker's web views, and
when nothing moved for `recovery_stall_secs` the worker exits with the partitions that are
stuck and their offsets, so a supervisor restarts it and an operator sees why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecoveryStalledError", "RecoveryWatch"]


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
