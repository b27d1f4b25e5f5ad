"""When a worker is ready to trade, decided from plain facts, so the rule is tested without Kafka.

A worker is ready when it holds an assignment from its group, its tables are recovered
(and no rebalance is under way), the broker answers, and the schema registry answers if
one is configured. Each of those is a `Check`; `readiness` turns the checks into the
answer of `GET /ready`: 200 when every check passed, else 503 naming the failed ones.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Check",
    "LastError",
    "Readiness",
    "assignment_check",
    "probe_check",
    "readiness",
    "tables_check",
]


@dataclass(frozen=True)
class Check:
    """One readiness condition: its name, whether it holds, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """Every check of one `GET /ready`, and the answer they make."""

    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)

    @property
    def status(self) -> int:
        """The HTTP status: 200 ready, 503 not (yet)."""
        return 200 if self.ready else 503

    @property
    def failed(self) -> list[str]:
        """The names of the checks that failed, in check order."""
        return [check.name for check in self.checks if not check.ok]

    def body(self, **extra: Any) -> dict[str, Any]:
        """Return the JSON body: ready, failed checks, each check's detail, then EXTRA."""
        return {
            "ready": self.ready,
            "failed": self.failed,
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
            **extra,
        }


def readiness(checks: Iterable[Check]) -> Readiness:
    """Return the readiness that CHECKS make (no checks: ready)."""
    return Readiness(tuple(checks))


def assignment_check(generation: int, partitions: Collection[tuple[str, int]]) -> Check:
    """Return whether the group has assigned this worker its partitions.

    GENERATION is the group generation of the last assignment (0: never assigned).
    PARTITIONS are the input partitions it holds; a worker may hold none when the group
    has more workers than partitions, and is still ready: it stands by for a rebalance.
    """
    if generation <= 0:
        return Check("assignment", False, "waiting for the group to assign partitions")
    return Check("assignment", True, f"generation {generation}: {len(partitions)} partitions")


def tables_check(actives_ready: bool, rebalancing: bool, remaining: int) -> Check:
    """Return whether the tables are recovered for the current assignment.

    ACTIVES_READY: every active table partition was restored from its changelog;
    REBALANCING: a rebalance has started and not finished (recovery comes with it);
    REMAINING: changelog records still to replay, as the recovery watchdog last saw.
    """
    if actives_ready and not rebalancing:
        return Check("tables", True, "recovered")
    if remaining > 0:
        return Check("tables", False, f"recovering: {remaining} changelog records to go")
    return Check("tables", False, "waiting for table recovery to complete")


def probe_check(name: str, error: str | None, target: str) -> Check:
    """Return the check of a reachability probe of TARGET that failed with ERROR, or not."""
    if error is None:
        return Check(name, True, f"{target} answered")
    return Check(name, False, f"{target}: {error}")


@dataclass
class LastError:
    """The most recent thing that went wrong in a worker, for `/ready` and `status`."""

    at_us: int | None = None
    source: str = ""
    message: str = ""

    def note(self, at_us: int, source: str, message: str) -> None:
        """Remember MESSAGE from SOURCE (a dead letter, a failed probe) at AT_US."""
        self.at_us, self.source, self.message = at_us, source, message

    def snapshot(self) -> dict[str, Any] | None:
        """Return the error as a JSON-able dict, or None when nothing went wrong."""
        if self.at_us is None:
            return None
        return {"at_us": self.at_us, "source": self.source, "message": self.message}
