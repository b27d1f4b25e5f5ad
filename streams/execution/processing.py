"""The paper execution stage: orders and quotes of a partition in, order events and fills out.

Pure (no Kafka): the agent hands over one topic-partition's batch. Each symbol has a
`PaperBook` in the `paper-books` table, loaded on first use in a batch and written back
once at its end. The book keeps recent quotes, so an order matches the first quotes after
its own event time whichever of the two topics the worker happened to fetch first: fills
are the same in a live run, a replay and a backtest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.stage_tracing import StageTracer
from streams.edge import (
    Decoder,
    RawRecord,
    StageOutput,
    StateLoader,
    dead_letter,
    decoded,
)
from streams.exceptions import InvalidInputError
from streams.execution.fill_model import FillModel
from streams.execution.paper_book import PaperBook
from streams.execution.reports import ExecutionReport

__all__ = ["ExecutionProcessor"]

_FINAL = frozenset({"FILLED", "CANCELED", "REJECTED"})


class ExecutionProcessor:
    """Run orders and quotes through per-symbol paper books."""

    def __init__(
        self,
        model: FillModel,
        decoders: Mapping[str, tuple[str, Decoder]],
        tracer: StageTracer | None = None,
    ) -> None:
        """Map each input topic to (record name, decoder) in DECODERS."""
        self._model = model
        self._decoders = decoders
        self._tracer = tracer or StageTracer(None, "execution", "")
        self.books: dict[str, PaperBook] = {}
        # Trace headers of each open order: its fills continue the order's trace (one trace
        # per trade), not the trace of whichever quote happened to fill it.
        self.traces: dict[str, dict[str, list[list[str]]]] = {}

    def book(self, symbol: str, load: StateLoader) -> PaperBook:
        """Return SYMBOL's book, restored from the table on first use."""
        book = self.books.get(symbol)
        if book is None:
            state = load(symbol)
            if state is not None:
                book = PaperBook.from_state(state["book"], self._model)
                self.traces[symbol] = dict(state["traces"])
            else:
                book = PaperBook(symbol, self._model)
                self.traces[symbol] = {}
            self.books[symbol] = book
        return book

    def process(self, records: Iterable[RawRecord], load: StateLoader) -> StageOutput:
        """Run RECORDS (one topic-partition, in offset order) through the books."""
        out = StageOutput()
        for raw, record_name, record in decoded(records, self._decoders, out):
            symbol = record["symbol"]
            book = self.book(symbol, load)
            try:
                if record_name == "Order":
                    self._remember_trace(raw, symbol, record["id"])
                    report = book.on_order(record)
                else:
                    report = book.on_quote(record)
            except InvalidInputError as exc:
                out.deadletters.append(dead_letter(raw, "InvalidRecord", str(exc)))
                continue
            out.changed.add(symbol)
            if report:
                self._emit(out, symbol, report)
        return out

    def _remember_trace(self, raw: RawRecord, symbol: str, order_id: str) -> None:
        headers = self._tracer.continue_trace(
            raw.headers,
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            key=raw.key,
            attributes={"symbol": symbol, "order.id": order_id},
        )
        self.traces[symbol][order_id] = [[k, v.decode()] for k, v in headers]

    def _emit(self, out: StageOutput, symbol: str, report: ExecutionReport) -> None:
        traces = self.traces[symbol]
        for fill in report.fills:  # before the events: a FILLED event forgets the trace
            headers = [(k, v.encode()) for k, v in traces.get(fill["order_id"], ())]
            out.emit("fills", symbol, fill, headers)
        for event in report.events:
            order_id = event["order_id"]
            headers = [(k, v.encode()) for k, v in traces.get(order_id, ())]
            out.emit("orders.events", symbol, event, headers)
            if event["status"] in _FINAL:
                traces.pop(order_id, None)

    def state(self, symbol: str) -> dict[str, Any]:
        """Return SYMBOL's book and open orders' trace headers, the table value."""
        return {"book": self.books[symbol].state(), "traces": self.traces[symbol]}

    def forget(self) -> None:
        """Drop the working set (the table is the truth between batches)."""
        self.books.clear()
        self.traces.clear()
