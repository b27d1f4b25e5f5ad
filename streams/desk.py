"""The paper desk: a partition's whole loop — signals, risk, paper fills, positions — in one agent.

Why one agent in paper mode, not a chain of agents through topics: the paper broker must
fill an order on the first quote *after* it, and a chain cannot promise that. Its agents
read `orders` and `market.quotes` independently, so in a backfill or a backtest (where a
day of quotes is already on the topic) the broker sees the quotes long before the orders
the same quotes caused, and fills depend on fetch timing. Here each quote of a symbol is
applied in event-time order to everything at once: resting orders fill on it, then its
signals are decided and their orders rest for the next quote. Fills are then the same in
a live run, a replay and a backtest; one transaction covers a batch's whole chain (one hop
of latency, not four); and every intermediate record still goes to its topic —
`signals`, `orders`, `orders.rejected`, `orders.events`, `fills`, `positions` — for the
users who consume them. Live mode keeps separate agents: real orders leave the process.

Tables: `signal-state` (engines by symbol), `paper-books` (book and open orders' trace
headers by symbol), `positions` (books by symbol and account), `risk-state` (one book per
partition).

Tracing: a sampled quote's trace goes on through one span per stage, each the child of the
one before: signals → risk (the decision) → order (the paper book takes it) → fill (on a
later quote) → position. Every span carries the messaging attributes of the quote the desk
was processing when it happened; each output record carries its stage's context.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from infra.stage_tracing import OutHeaders, StageTracer
from streams.edge import RawRecord, StageOutput, TableLoaders, dead_letter, decoded
from streams.engine import Event
from streams.exceptions import InvalidInputError
from streams.execution.bars import bar_close, bar_open
from streams.execution.processing import ExecutionProcessor
from streams.execution.reports import ExecutionReport
from streams.positions.accounting import PositionBook
from streams.positions.processing import PositionProcessor, position_record
from streams.risk.config import RiskConfig
from streams.risk.processing import RiskProcessor, book_key, broadcast_kill
from streams.risk.rules import RiskBook
from streams.signals.processing import SignalProcessor

__all__ = ["TABLES", "TRACED_STAGES", "DeskProcessor"]

SIGNALS, BOOKS, POSITIONS, RISK = "signal-state", "paper-books", "positions", "risk-state"
TABLES = (SIGNALS, BOOKS, POSITIONS, RISK)
_KIND = {"Quote": "quote", "Bar": "bar", "NewsItem": "news"}
_ENDED = frozenset({"FILLED", "CANCELED", "REJECTED"})
TRACED_STAGES = ("signals", "risk", "order", "fill", "position")
_UNKEYED = frozenset({"RiskControl"})


class DeskProcessor:
    """Quotes, bars, news and kill commands of one partition → every trading topic."""

    def __init__(
        self,
        signals: SignalProcessor,
        risk: RiskProcessor,
        execution: ExecutionProcessor,
        positions: PositionProcessor,
        *,
        config: RiskConfig,
        partitions: int,
        decoders: Mapping[str, tuple[str, Any]],
        tracers: Mapping[str, StageTracer],
    ) -> None:
        """Hold the four stages' state caches; DECODERS map input topics to records.

        TRACERS by stage (`TRACED_STAGES`); a missing one records nothing.
        """
        self.signals, self.risk, self.execution, self.positions = (
            signals,
            risk,
            execution,
            positions,
        )
        self._config = config
        self._partitions = partitions
        self._budget = 1.0 / partitions
        self._decoders = decoders
        self._tracers = {s: tracers.get(s) or StageTracer(None, s, "") for s in TRACED_STAGES}

    def process(self, records: Iterable[RawRecord], load: TableLoaders) -> StageOutput:
        """Run RECORDS (one topic-partition, in offset order) through the whole loop."""
        out = StageOutput()
        marked: dict[tuple[str, str], PositionBook] = {}
        partition = 0
        for raw, record_name, record in decoded(records, self._decoders, out, unkeyed=_UNKEYED):
            partition = raw.partition
            risk = self.risk.book(raw.partition, load[RISK])
            if record_name == "RiskControl":
                out.changed.add((RISK, book_key(raw.partition)))
                if record["action"] == "KILL":
                    risk.kill(record["reason"])
                else:
                    risk.reset()
                continue
            try:
                self._market(out, raw, _KIND[record_name], record, risk, load, marked)
            except InvalidInputError as exc:
                out.deadletters.append(dead_letter(raw, "InvalidRecord", str(exc)))
        for book in marked.values():
            out.records.append(("positions", position_record(book, partition, [])))
        return out

    def _market(
        self,
        out: StageOutput,
        raw: RawRecord,
        kind: str,
        record: Mapping[str, Any],
        risk: RiskBook,
        load: TableLoaders,
        marked: dict[tuple[str, str], PositionBook],
    ) -> None:
        symbol = record["symbol"]
        engine = self.signals.engine(symbol, load[SIGNALS])
        output = engine.on_event(Event(kind, record["ts_event_us"], dict(record)))
        out.changed.add((SIGNALS, symbol))
        for late in output.late:
            out.deadletters.append(dead_letter(raw, "LateRecord", late.reason))
        for event, signals in output.steps:
            if event.kind in ("quote", "bar"):
                self._trade(out, raw, event.kind, event.record, risk, load, marked)
            if signals:
                strategies = ",".join(sorted({signal["strategy"] for signal in signals}))
                headers = self._continue("signals", raw, {"symbol": symbol, "strategy": strategies})
                for signal in signals:
                    out.emit("signals", symbol, signal, headers)
                    self._decide(out, raw, signal, headers, risk, load)

    def _trade(
        self,
        out: StageOutput,
        raw: RawRecord,
        kind: str,
        record: Mapping[str, Any],
        risk: RiskBook,
        load: TableLoaders,
        marked: dict[tuple[str, str], PositionBook],
    ) -> None:
        """Match the symbol's open orders against a quote (or a bar's open), then mark."""
        symbol = record["symbol"]
        bar = kind == "bar"
        book = self.execution.book(symbol, load[BOOKS])
        out.changed.add((BOOKS, symbol))
        try:
            report = book.on_quote(bar_open(record) if bar else record)
        except InvalidInputError as exc:
            out.deadletters.append(dead_letter(raw, "InvalidRecord", str(exc)))
            return
        self._executed(out, raw, symbol, report, risk, load)
        self._mark(out, symbol, bar_close(record) if bar else record, load, marked)

    def _decide(
        self,
        out: StageOutput,
        raw: RawRecord,
        signal: Mapping[str, Any],
        headers: OutHeaders,
        risk: RiskBook,
        load: TableLoaders,
    ) -> None:
        symbol = signal["symbol"]
        decision = risk.decide(signal, config=self._config, budget=self._budget)
        out.changed.add((RISK, book_key(raw.partition)))
        if decision.rejection is not None:
            out.emit("orders.rejected", symbol, decision.rejection, headers)
        if decision.order is not None:
            order = decision.order
            attributes = {"symbol": symbol, "strategy": signal["strategy"], "order.id": order["id"]}
            order_headers = self._continue("risk", raw, attributes, headers)
            out.emit("orders", symbol, order, order_headers)
            book = self.execution.book(symbol, load[BOOKS])
            taken = self._continue(
                "order", raw, {**attributes, "order.side": order["side"]}, order_headers
            )
            self.execution.traces[symbol][order["id"]] = [[k, v.decode()] for k, v in taken]
            self._executed(out, raw, symbol, book.on_order(order), risk, load)
        if decision.kill is not None:
            broadcast_kill(
                out, decision.kill, signal["ts_event_us"], raw.partition, self._partitions
            )

    def _executed(
        self,
        out: StageOutput,
        raw: RawRecord,
        symbol: str,
        report: ExecutionReport,
        risk: RiskBook,
        load: TableLoaders,
    ) -> None:
        if not report:
            return
        partition = raw.partition
        out.changed.add((RISK, book_key(partition)))  # fills and ended orders move the book
        traces = self.execution.traces[symbol]
        accounts = self.positions.accounts(symbol, load[POSITIONS])
        for fill in report.fills:
            order_id = fill["order_id"]
            taken = [(k, v.encode()) for k, v in traces.get(order_id, ())]
            attributes = {"symbol": symbol, "order.id": order_id, "fill.id": fill["id"]}
            headers = self._continue("fill", raw, attributes, taken)
            out.emit("fills", symbol, fill, headers)
            reason = risk.on_fill(fill)
            if reason is not None:
                broadcast_kill(out, reason, fill["ts_event_us"], partition, self._partitions)
            account = fill.get("account", "default")
            book = accounts.get(account) or PositionBook(account, symbol)
            if book.apply_fill(fill):
                accounts[account] = book
                out.changed.add((POSITIONS, symbol))
                moved = self._continue("position", raw, {**attributes, "account": account}, headers)
                out.records.append(("positions", position_record(book, partition, moved)))
        for event in report.events:
            headers = [(k, v.encode()) for k, v in traces.get(event["order_id"], ())]
            out.emit("orders.events", symbol, event, headers)
            if event["status"] in _ENDED:
                risk.on_order_event(event)
                traces.pop(event["order_id"], None)

    def _mark(
        self,
        out: StageOutput,
        symbol: str,
        quote: Mapping[str, Any],
        load: TableLoaders,
        marked: dict[tuple[str, str], PositionBook],
    ) -> None:
        mid = (float(quote["bid"]) + float(quote["ask"])) / 2.0
        for account, book in self.positions.accounts(symbol, load[POSITIONS]).items():
            if book.qty != 0.0 and book.mark(mid, quote["ts_event_us"]):
                marked[(account, symbol)] = book
                out.changed.add((POSITIONS, symbol))

    def _continue(
        self,
        stage: str,
        raw: RawRecord,
        attributes: dict[str, Any],
        parent: Sequence[tuple[str, bytes]] | None = None,
    ) -> OutHeaders:
        # PARENT: the previous stage's output headers; None: the consumed record's own.
        return self._tracers[stage].continue_trace(
            raw.headers if parent is None else parent,
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            key=raw.key,
            attributes=attributes,
        )

    def state(self, table: str, key: str) -> Any:
        """Return KEY's value in TABLE after the batch."""
        if table == SIGNALS:
            return self.signals.state(key)
        if table == BOOKS:
            return self.execution.state(key)
        if table == POSITIONS:
            return self.positions.state(key)
        return self.risk.state(key)

    def forget(self) -> None:
        """Drop every cached state: the tables are the truth between batches."""
        for stage in (self.signals, self.risk, self.execution, self.positions):
            stage.forget()
