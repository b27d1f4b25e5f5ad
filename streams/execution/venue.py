"""The live execution stage: orders go to the venue, venue polls bring back events and fills.

The agent of a partition consumes `orders`, `venue.poll` (a worker's clock writes one
poll per partition every few seconds) and `orders.cancel`. For an Order it asks the
adapter to place it; for a poll it asks the venue what happened to the orders it tracks;
for an OrderCancel it cancels that order if this partition tracks it (the request is
written to every partition), or every open order it tracks when `order_id` is null. What
the venue answers becomes `orders.events` and `fills` records.

Cancels travel as records, not as a call from the command line, because only the worker
talks to the venue: the tracker that knows E*TRADE's order number lives here, and the
CANCELED event and any fill that beat the cancel are written in the same exactly-once
transaction as the tracker's new state, so positions see them once.

A cancel request older than `CANCEL_TTL_US` (5 minutes) when the agent reads it is
ignored with a warning: a cancel-all written while no live worker ran must not cancel
orders placed after it, when a worker starts hours later.

An expired session (`TokenExpiredError`: midnight US Eastern, or a renewal refused) is
not a rejection like any other: every later order would fail the same way. The order
that met it is reported REJECTED with the reason (so the books do not wait for it), and
`on_expired` is told, which stops the worker (`streams.agents.venue`).

The adapter's order tracker (what we placed and last reported) is the stage's state: one
`venue-orders` table key per partition, written in the same exactly-once transaction as
the records it explains. A crash replays a batch against the tracker of the last commit:
an order placed again carries the same client order id, so the venue refuses a second
one, and a poll repeated reports the same fill ids, which the position table applies
once. Venue calls block on the network, so they run in a thread, one at a time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from infra.clock import Clock, wall_clock_us
from streams.edge import Decoder, RawRecord, StageOutput, StateLoader, decoded
from streams.execution.broker import (
    BrokerAdapter,
    BrokerError,
    BrokerUnavailableError,
    TokenExpiredError,
)
from streams.execution.reports import EMPTY, ExecutionReport, order_event

__all__ = ["CANCEL_TTL_US", "VENUE_TABLE", "TrackingAdapter", "VenueProcessor", "partition_key"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_UNKEYED = frozenset({"VenuePoll", "OrderCancel"})
VENUE_TABLE = "venue-orders"
CANCEL_TTL_US = 300_000_000


class TrackingAdapter(BrokerAdapter, Protocol):
    """A venue adapter whose order tracker can be saved and restored (per partition)."""

    def state(self) -> dict[str, Any]:
        """Return the tracked orders, JSON-able."""
        ...

    def restore(self, state: Mapping[str, Any] | None) -> None:
        """Track the orders STATE holds instead (None: none)."""
        ...

    def open_orders(self) -> list[tuple[str, str]]:
        """Return (order id, symbol) of every tracked open order."""
        ...


def partition_key(partition: int) -> str:
    """Return the `venue-orders` table key of PARTITION's tracker."""
    return f"partition-{partition}"


async def _in_thread(call: Callable[[], T]) -> T:
    return await asyncio.to_thread(call)


class VenueProcessor:
    """Run one partition's orders and polls through a live venue adapter."""

    def __init__(
        self,
        adapter: TrackingAdapter,
        decoders: Mapping[str, tuple[str, Decoder]],
        *,
        run: Callable[[Callable[[], Any]], Awaitable[Any]] = _in_thread,
        on_expired: Callable[[str], None] | None = None,
        clock: Clock = wall_clock_us,
    ) -> None:
        """RUN executes a blocking adapter call (a thread by default; tests run it inline).

        ON_EXPIRED is called with the reason when the venue session has expired; CLOCK
        tells how old a cancel request is.
        """
        self._adapter = adapter
        self._decoders = decoders
        self._run = run
        self._on_expired = on_expired
        self._clock = clock
        self._states: dict[str, dict[str, Any]] = {}

    async def process(
        self, records: Iterable[RawRecord], load: Mapping[str, StateLoader]
    ) -> StageOutput:
        """Send the batch's orders, answer its polls; the partition's tracker is the state."""
        out = StageOutput()
        items = list(decoded(records, self._decoders, out, unkeyed=_UNKEYED))
        if not items:
            return out
        key = partition_key(items[0][0].partition)
        # The working set first: the table holds only what the last commit saw.
        state = self._states.get(key)
        self._adapter.restore(state if state is not None else load[VENUE_TABLE](key))
        for raw, name, record in items:
            if name == "Order":
                report = await self._submit(record)
                headers = list(raw.headers)
            elif name == "OrderCancel":
                report = await self._cancel(record)
                headers = []
            else:
                report = await self._poll(int(record["ts_event_us"]))
                headers = []
            for fill in report.fills:
                out.emit("fills", fill["symbol"], fill, headers)
            for event in report.events:
                out.emit("orders.events", event["symbol"], event, headers)
        self._states[key] = self._adapter.state()
        out.changed.add((VENUE_TABLE, key))
        return out

    async def _submit(self, order: Mapping[str, Any]) -> ExecutionReport:
        adapter = self._adapter
        try:
            report: ExecutionReport = await self._run(lambda: adapter.submit(order))
        except BrokerUnavailableError as err:
            # Placed or not, nobody knows yet: the order stays tracked, a poll resolves it.
            log.warning("order %s: outcome unknown, a later poll resolves it: %s", order["id"], err)
            return EMPTY
        except TokenExpiredError as err:
            self._expired(str(err))
            event = order_event(
                order, "REJECTED", filled_qty=0.0, leaves_qty=0.0, avg_fill_price=None,
                ts_event_us=int(order["ts_event_us"]), reason=f"venue session expired: {err}",
            )  # fmt: skip
            return ExecutionReport(events=(event,))
        except BrokerError as err:
            log.error("order %s refused before reaching the venue: %s", order["id"], err)
            event = order_event(
                order, "REJECTED", filled_qty=0.0, leaves_qty=0.0, avg_fill_price=None,
                ts_event_us=int(order["ts_event_us"]), reason=str(err),
            )  # fmt: skip
            return ExecutionReport(events=(event,))
        return report

    async def _cancel(self, request: Mapping[str, Any]) -> ExecutionReport:
        adapter, ts_us, wanted = self._adapter, int(request["ts_event_us"]), request["order_id"]
        age_us = self._clock() - ts_us
        if age_us > CANCEL_TTL_US:
            log.warning(
                "cancel of %s from %s ignored: %.0f s old (stale requests cancel nothing)",
                wanted or "every open order", request["source"], age_us / 1e6,
            )  # fmt: skip
            return EMPTY
        targets = [(i, s) for i, s in adapter.open_orders() if wanted is None or i == wanted]
        report = EMPTY
        for order_id, symbol in targets:
            try:
                done = await self._run(functools.partial(adapter.cancel, order_id, symbol, ts_us))
            except TokenExpiredError as err:
                self._expired(str(err))
                return report
            except BrokerError as err:
                log.warning("cancel of %s failed, cancel it again: %s", order_id, err)
                continue
            log.info("cancel of %s sent (%s)", order_id, request["reason"])
            report = report + done
        return report

    async def _poll(self, ts_event_us: int) -> ExecutionReport:
        adapter = self._adapter
        try:
            report: ExecutionReport = await self._run(lambda: adapter.poll(ts_event_us))
        except TokenExpiredError as err:
            self._expired(str(err))
            return EMPTY
        except BrokerError as err:
            log.warning("venue poll failed, the next one retries: %s", err)
            return EMPTY
        return report

    def _expired(self, reason: str) -> None:
        if self._on_expired is not None:
            self._on_expired(reason)

    def state(self, table: str, key: str) -> dict[str, Any]:
        """Return the tracker of KEY's partition after the batch (the table value)."""
        return self._states[key]

    def forget(self) -> None:
        """Drop the working set: the table is the truth between batches."""
        self._states.clear()
