"""The contract every live venue adapter keeps, its errors, and position reconciliation.

An adapter turns Order records into venue requests and the venue's answers into an
`ExecutionReport` (OrderEvent and Fill records). The execution agent only sees this
protocol, so paper and live venues are interchangeable. In live mode trading starts only
after `require_reconciled` agrees that our positions table and the venue hold the same
quantities: a silent difference would make every later risk decision wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from infra.exceptions import PrimestreamError
from streams.execution.reports import ExecutionReport

__all__ = [
    "BrokerAdapter",
    "BrokerConfigError",
    "BrokerError",
    "BrokerUnavailableError",
    "PositionDifference",
    "ReconciliationError",
    "TokenExpiredError",
    "positions_by_symbol",
    "reconcile",
    "require_reconciled",
]


@runtime_checkable
class BrokerAdapter(Protocol):
    """A venue that accepts orders and reports their lifecycle and fills."""

    venue: str

    def submit(self, order: Mapping[str, Any]) -> ExecutionReport:
        """Send an Order record: NEW (accepted) or REJECTED with the reason, maybe fills."""
        ...

    def cancel(self, order_id: str, symbol: str, ts_event_us: int) -> ExecutionReport:
        """Ask the venue to cancel ORDER_ID; report what is already known of the outcome."""
        ...

    def poll(self, ts_event_us: int) -> ExecutionReport:
        """Return the order events and fills that happened since the last call."""
        ...

    def positions(self) -> dict[str, float]:
        """Return symbol -> signed quantity held at the venue."""
        ...


class BrokerError(PrimestreamError):
    """Root of the errors of a live venue adapter."""


class BrokerConfigError(BrokerError, ValueError):
    """The adapter's settings are missing or unusable (says which)."""


class BrokerUnavailableError(BrokerError, ConnectionError):
    """The venue did not answer after bounded retries; the operation's outcome is unknown."""

    def __init__(self, venue: str, operation: str, attempts: int, cause: str) -> None:
        super().__init__(
            f"{venue}: {operation} failed after {attempts} attempt(s): {cause}",
        )
        self.venue = venue
        self.operation = operation
        self.attempts = attempts
        self.cause = cause


class TokenExpiredError(BrokerError, PermissionError):
    """The venue's access token expired; an operator must re-authorize in a browser.

    The text says what happened only; the caller adds the instruction
    (`etrade_auth.session_expired`), so it is worded once.
    """


@dataclass(frozen=True, slots=True)
class PositionDifference:
    """One symbol whose quantity differs between our books and the venue."""

    symbol: str
    ours: float
    theirs: float

    @property
    def delta(self) -> float:
        """Venue minus ours: what our books miss."""
        return self.theirs - self.ours

    def __str__(self) -> str:
        return (
            f"{self.symbol}: ours {self.ours:g}, venue {self.theirs:g} "
            f"(venue - ours = {self.delta:+g})"
        )


class ReconciliationError(BrokerError, RuntimeError):
    """Our positions and the venue's disagree; live trading must not start."""

    def __init__(self, differences: Sequence[PositionDifference], *, venue: str) -> None:
        lines = "\n".join(f"  {diff}" for diff in differences)
        super().__init__(
            f"positions disagree with {venue} on {len(differences)} symbol(s); "
            f"trading does not start until they agree:\n{lines}"
        )
        self.differences = tuple(differences)
        self.venue = venue


def reconcile(
    ours: Mapping[str, float], theirs: Mapping[str, float], *, tolerance: float = 1e-9
) -> list[PositionDifference]:
    """Return the symbols whose quantities differ by more than TOLERANCE, sorted by symbol.

    A symbol missing on one side counts as 0 there, so a flat position on one side and no
    entry on the other agree.
    """
    differences = []
    for symbol in sorted(set(ours) | set(theirs)):
        mine, venue = float(ours.get(symbol, 0.0)), float(theirs.get(symbol, 0.0))
        if abs(mine - venue) > tolerance:
            differences.append(PositionDifference(symbol, mine, venue))
    return differences


def require_reconciled(
    ours: Mapping[str, float],
    theirs: Mapping[str, float],
    *,
    venue: str,
    tolerance: float = 1e-9,
) -> None:
    """Raise `ReconciliationError` listing every difference unless OURS and THEIRS agree."""
    differences = reconcile(ours, theirs, tolerance=tolerance)
    if differences:
        raise ReconciliationError(differences, venue=venue)


def positions_by_symbol(records: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Return symbol -> quantity from `positions` records read in order (latest wins).

    The topic holds one record per account and symbol after compaction, older ones before
    it; the venue account is one account, so quantities of every account are summed.
    """
    latest: dict[tuple[str, str], float] = {}
    for record in records:
        latest[(record.get("account", "default"), record["symbol"])] = float(record["qty"])
    totals: dict[str, float] = {}
    for (_account, symbol), qty in latest.items():
        totals[symbol] = totals.get(symbol, 0.0) + qty
    return totals
