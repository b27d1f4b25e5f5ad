"""Live mode starts only when our positions and the venue's agree.

A difference means a fill we never saw (or one the venue never made): every later risk
decision would rest on a wrong position. So the worker reads the `positions` topic (the
position table's changelog of record), asks the venue for its positions, and refuses to
start with the differences listed. Nothing here trades.
"""

from __future__ import annotations

from cli.context import fail
from cli.topic_reading import read_whole_topic
from infra.clock import wall_clock_us
from schemas.clients import Clients
from streams.execution.broker import (
    BrokerError,
    ReconciliationError,
    TokenExpiredError,
    positions_by_symbol,
    require_reconciled,
)
from streams.execution.etrade import ETradeBroker
from streams.execution.etrade_auth import session_expired
from streams.stop_request import SESSION_EXPIRED_EXIT

__all__ = ["compared_positions", "require_live_start"]


def require_live_start(runtime: Clients) -> None:
    """Exit with the differences unless the positions topic and the venue agree."""
    ours, theirs, venue = compared_positions(runtime)
    try:
        require_reconciled(ours, theirs, venue=venue)
    except ReconciliationError as err:
        fail(str(err))


def compared_positions(runtime: Clients) -> tuple[dict[str, float], dict[str, float], str]:
    """Return (our quantities from `positions`, the venue's, the venue's name); exit if unsure."""
    topic = runtime.settings.topic("positions")
    records, undecodable = read_whole_topic(runtime, topic)
    if undecodable:
        fail(
            f"{undecodable} undecodable record(s) in {topic}: positions cannot be reconciled, "
            "live trading does not start"
        )
    try:
        venue = ETradeBroker.from_settings(runtime.settings, clock=wall_clock_us)
        return positions_by_symbol(records), venue.positions(), venue.venue
    except TokenExpiredError as err:
        fail(session_expired(str(err)), code=SESSION_EXPIRED_EXIT)
    except BrokerError as err:
        fail(f"cannot reconcile positions with the venue, live trading does not start: {err}")
