"""Worker health as news: a worker that stops being ready, lags too far, or leaves the group.

`HealthWatch` compares each check of the group (`consumers.group_status.WorkerRow`s) with
the previous one and returns a notice only on a change (not ready, ready again, lagging,
caught up, gone), so a worker that stays unready for an hour is told once, not every check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consumers.alerts.notices import Notice, Severity
from consumers.group_status import WorkerRow

__all__ = ["HealthWatch"]


@dataclass
class _Seen:
    ready: bool | None = None
    lagging: bool = False


class HealthWatch:
    """The last known readiness and lag of every worker of one group."""

    def __init__(self, group: str, lag_threshold: int, namespace: str = "") -> None:
        self.group, self.lag_threshold, self.namespace = group, lag_threshold, namespace
        self._seen: dict[str, _Seen] = {}

    def _notice(
        self, kind: str, severity: Severity, title: str, text: str, row: WorkerRow, now_us: int
    ) -> Notice:
        return Notice(
            kind=kind,
            severity=severity,
            title=title,
            text=text,
            key=f"health:{kind}:{row.member}:{now_us}",
            ts_event_us=now_us,
            fields={
                "group": self.group,
                "member": row.member,
                "host": row.host,
                "pid": row.pid,
                "lag": row.lag,
            },
            namespace=self.namespace,
        )

    def _readiness(self, row: WorkerRow, seen: _Seen, now_us: int) -> Notice | None:
        if row.ready is None:  # not asked, or no answer: what we knew still stands
            return None
        before, seen.ready = seen.ready, row.ready
        if row.ready is False and before is not False:
            failed = ", ".join(row.failed) or "unknown"
            last = f"; last error: {row.last_error}" if row.last_error else ""
            return self._notice(
                "worker_not_ready",
                "warning",
                f"Worker {row.member} not ready",
                f"failed checks: {failed}{last}",
                row,
                now_us,
            )
        if row.ready is True and before is False:
            return self._notice(
                "worker_ready",
                "info",
                f"Worker {row.member} ready again",
                "every readiness check passes",
                row,
                now_us,
            )
        return None

    def _lag(self, row: WorkerRow, seen: _Seen, now_us: int) -> Notice | None:
        if row.lag is None:
            return None
        lagging = row.lag > self.lag_threshold
        before, seen.lagging = seen.lagging, lagging
        if lagging and not before:
            return self._notice(
                "worker_lagging",
                "warning",
                f"Worker {row.member} lagging",
                f"{row.lag:,} records behind (threshold {self.lag_threshold:,})",
                row,
                now_us,
            )
        if before and not lagging:
            return self._notice(
                "worker_caught_up",
                "info",
                f"Worker {row.member} caught up",
                f"{row.lag:,} records behind",
                row,
                now_us,
            )
        return None

    def update(self, rows: Sequence[WorkerRow], now_us: int) -> list[Notice]:
        """Return the notices of what changed since the last check, given this one's ROWS."""
        notices = []
        current = {row.member: row for row in rows}
        for member, row in current.items():
            seen = self._seen.setdefault(member, _Seen())
            for notice in (self._readiness(row, seen, now_us), self._lag(row, seen, now_us)):
                if notice is not None:
                    notices.append(notice)
        for member in sorted(set(self._seen) - set(current)):
            del self._seen[member]
            gone = WorkerRow(member, "", None)
            notices.append(
                self._notice(
                    "worker_left",
                    "warning",
                    f"Worker {member} left the group",
                    "it stopped or was killed; its partitions went to the others",
                    gone,
                    now_us,
                )
            )
        return notices
