"""The risk stage: signals, fills, order events and kill commands in; orders or alerts out.

Rejections and kill broadcasts go out too.
Pure (no Kafka). One `RiskBook` per partition lives in the `risk-state` table under the
key `partition-<n>`: the gate's limits are per partition (see `streams.risk.rules`), and a
kill tripped by one partition's losses is broadcast to every partition of `risk.control`,
which each gate reads in order with the rest of its input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.stage_tracing import StageTracer
from streams.edge import (
    Decoder,
    OutRecord,
    RawRecord,
    StageOutput,
    StateLoader,
    dead_letter,
    decoded,
)
from streams.exceptions import InvalidInputError
from streams.risk.config import RiskConfig
from streams.risk.rules import Decision, RiskBook

__all__ = ["RiskProcessor", "alert_record", "book_key", "broadcast_kill"]

_ENDED = frozenset({"FILLED", "CANCELED", "REJECTED"})
_UNKEYED = frozenset({"RiskControl"})  # written to every partition, not keyed by symbol


def book_key(partition: int) -> str:
    """Return the `risk-state` table key of PARTITION's book."""
    return f"partition-{partition}"


class RiskProcessor:
    """Decide on signals with one partition's RiskBook; keep it current from fills."""

    def __init__(
        self,
        config: RiskConfig,
        partitions: int,
        decoders: Mapping[str, tuple[str, Decoder]],
        tracer: StageTracer | None = None,
    ) -> None:
        """Map each input topic to (record name, decoder) in DECODERS."""
        self._config = config
        self._partitions = partitions
        self._budget = 1.0 / partitions
        self._decoders = decoders
        self._tracer = tracer or StageTracer(None, "risk", "")
        self.books: dict[str, RiskBook] = {}

    def book(self, partition: int, load: StateLoader) -> RiskBook:
        """Return PARTITION's book, restored from the table on first use."""
        key = book_key(partition)
        book = self.books.get(key)
        if book is None:
            state = load(key)
            book = (
                RiskBook.from_state(state, self._config, self._budget)
                if state is not None
                else RiskBook(self._config, self._budget)
            )
            self.books[key] = book
        return book

    def process(self, records: Iterable[RawRecord], load: StateLoader) -> StageOutput:
        """Run RECORDS (one topic-partition, in offset order) through the partition's book."""
        out = StageOutput()
        for raw, record_name, record in decoded(records, self._decoders, out, unkeyed=_UNKEYED):
            book = self.book(raw.partition, load)
            try:
                self._apply(out, raw, record_name, record, book)
            except InvalidInputError as exc:
                out.deadletters.append(dead_letter(raw, "InvalidRecord", str(exc)))
                continue
            out.changed.add(book_key(raw.partition))
        return out

    def _apply(
        self,
        out: StageOutput,
        raw: RawRecord,
        record_name: str,
        record: Mapping[str, Any],
        book: RiskBook,
    ) -> None:
        if record_name == "Signal":
            decision = book.decide(record, config=self._config, budget=self._budget)
            self._decided(out, raw, record, decision)
        elif record_name == "Fill":
            reason = book.on_fill(record)
            if reason is not None:
                self._broadcast_kill(out, reason, record["ts_event_us"], raw.partition)
        elif record_name == "OrderEvent":
            if record["status"] in _ENDED:
                book.on_order_event(record)
        elif record["action"] == "KILL":
            book.kill(record["reason"])
        else:
            book.reset()

    def _decided(
        self, out: StageOutput, raw: RawRecord, signal: Mapping[str, Any], decision: Decision
    ) -> None:
        symbol = signal["symbol"]
        if decision.rejection is not None:
            out.emit("orders.rejected", symbol, decision.rejection, [])
        if decision.order is not None:
            order = decision.order
            headers = self._tracer.continue_trace(
                raw.headers,
                topic=raw.topic,
                partition=raw.partition,
                offset=raw.offset,
                key=raw.key,
                attributes={
                    "symbol": symbol,
                    "strategy": signal["strategy"],
                    "order.id": order["id"],
                    "risk.mode": self._config.mode,
                },
            )
            if self._config.mode == "alert-only":
                out.emit("alerts", symbol, alert_record(signal, order), headers)
            else:
                out.emit("orders", symbol, order, headers)
        if decision.kill is not None:
            self._broadcast_kill(out, decision.kill, signal["ts_event_us"], raw.partition)

    def _broadcast_kill(self, out: StageOutput, reason: str, ts_us: int, partition: int) -> None:
        broadcast_kill(out, reason, ts_us, partition, self._partitions)

    def state(self, key: str) -> dict[str, Any]:
        """Return the book state of KEY, the table value."""
        return self.books[key].state()

    def forget(self) -> None:
        """Drop the working set (the table is the truth between batches)."""
        self.books.clear()


def broadcast_kill(
    out: StageOutput, reason: str, ts_us: int, partition: int, partitions: int
) -> None:
    """Queue a KILL for every partition of risk.control: one partition's loss stops all."""
    record = {
        "action": "KILL",
        "reason": reason,
        "source": f"risk/{partition}",
        "ts_event_us": ts_us,
    }
    for target in range(partitions):
        out.records.append(("risk.control", OutRecord(b"*", record, [], target)))


def alert_record(signal: Mapping[str, Any], order: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Alert of alert-only mode: the signal and the order it would have sent."""
    message = (
        f"{order['side']} {order['qty']:g} {order['symbol']} {order['order_type']}"
        f" ({signal['strategy']}, strength {signal['strength']:+.2f}, "
        f"confidence {signal['confidence']:.2f}, ref {signal['ref_price']:g})"
    )
    return {
        "signal_id": signal["id"],
        "symbol": signal["symbol"],
        "strategy": signal["strategy"],
        "message": message,
        "strength": float(signal["strength"]),
        "order": dict(order),
        "ts_event_us": signal["ts_event_us"],
    }
