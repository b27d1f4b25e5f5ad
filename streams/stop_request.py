"""Why a worker asked itself to stop, so `primestream worker` exits with that reason and code.

A stage that finds the worker cannot go on (the live venue's session expired) records the
reason here and stops the worker the way Ctrl-C does: the batch in hand is committed,
the group is left cleanly. The command then prints the reason as one line and exits
with the code recorded, instead of the 0 of an operator's stop.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SESSION_EXPIRED_EXIT", "StopRequest"]

SESSION_EXPIRED_EXIT = 4
"""`primestream worker`'s exit code when the live venue's session expired: re-authorize."""


@dataclass
class StopRequest:
    """The first reason a worker was asked to stop (later ones are the same story)."""

    reason: str | None = None
    exit_code: int = 0

    def request(self, reason: str, exit_code: int) -> bool:
        """Record REASON and EXIT_CODE unless a reason is already there; True if recorded."""
        if self.reason is not None:
            return False
        self.reason, self.exit_code = reason, exit_code
        return True
