"""The trading core: a partition's loop, signals → risk → orders → fills → positions, any mode.

One core runs alert-only, paper, backtests, replays and live; what differs is the venue
(`streams.trading.venue`). Each record kind has one handler:

- a **quote** or a **bar**: the venue (paper) first matches the symbol's open orders
  against it, the fills move positions and the risk book, positions are marked to it,
  then the symbol's engine turns it into signals and the risk gate decides on each: an
  order (to the venue, and to `orders`), an alert (alert-only mode), or a rejection;
- a **news item**: the engine's sentiment, then signals as above;
- a **risk command** (`risk.control`): the partition's kill switch, tripped or reset, or
  an operator's FLATTEN of a symbol: a FLAT signal decided by the same risk gate;
- a **fill** and an **order event** (live mode): what the live venue's agent reports,
  applied by the same code that applies the paper venue's fills.

Why one core, in event-time order, rather than a chain of agents: the paper venue must
fill an order on the first quote *after* it, and a chain cannot promise that. In a
backfill or a backtest a day of quotes is already on the topic, so a venue agent would see
the quotes long before the orders the same quotes caused, and fills would depend on fetch
timing. Here each quote of a symbol is applied to everything at once: open orders fill on
it, then its signals are decided and their orders rest for the next quote. Fills are then
the same in a live run, a replay and a backtest, and a backtest runs the code that trades
live (nautilus_trader's model: one engine, many venues). Every intermediate record still
goes to its topic for the users who consume them.

Pure: no Kafka, no clock. The core keeps its working set (engines, books, positions, risk
books) between batches; the runtime asks it for the state of every key it changed at each
commit (`state`) and drops the working set after an abort or a rebalance (`forget`).

Tables: `signal-state` (engines by symbol), `paper-books` (paper venue: books and open
orders' trace headers by symbol), `positions` (books by symbol and account), `risk-state`
(one risk book per partition: kill switch, day, exposure totals) and `risk-ledgers` (the
risk gate's ledger of each symbol), so a commit writes what changed, not a partition.

Tracing: a sampled quote's trace goes on through one span per stage, each the child of the
one before: signals → risk (the decision) → order (the venue takes it) → fill → position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, cast

from infra.stage_tracing import OutHeaders, StageTracer
from schemas.records import Bar, Fill, NewsItem, OrderEvent, Quote, RiskControl, Signal
from streams.edge import Decoder, RawRecord, StageOutput, TableLoaders, dead_letter, decoded
from streams.engine import EngineSettings, Event, SymbolEngine
from streams.exceptions import InvalidInputError
from streams.execution.bars import bar_close, bar_open
from streams.execution.reports import ExecutionReport
from streams.positions.accounting import PositionBook
from streams.risk.checks import OPERATOR_FLATTEN
from streams.risk.config import RiskConfig
from streams.risk.rules import RiskBook
from streams.risk.session import trading_calendar
from streams.strategies import StrategyConfig
from streams.strategies.config import AUTO_CALENDAR
from streams.trading.funds import AccountFunds
from streams.trading.outputs import (
    alert_record,
    book_key,
    broadcast_kill,
    position_record,
)
from streams.trading.venue import PaperVenue

__all__ = [
    "BOOKS",
    "LEDGERS",
    "POSITIONS",
    "RISK",
    "SIGNALS",
    "TRACED_STAGES",
    "Mode",
    "TradingCore",
    "tables_of",
]

SIGNALS, BOOKS, POSITIONS = "signal-state", "paper-books", "positions"
RISK, LEDGERS = "risk-state", "risk-ledgers"  # a partition's risk book; its symbols' ledgers
TRACED_STAGES = ("signals", "risk", "order", "fill", "position")
Mode = Literal["alert-only", "paper", "live"]
_KIND = {"Quote": "quote", "Bar": "bar", "NewsItem": "news"}
_ENDED = frozenset({"FILLED", "CANCELED", "REJECTED"})
_UNKEYED = frozenset({"RiskControl"})
_DAY_SECS = 86_400
_Marked = dict[tuple[str, str], PositionBook]


class TradingCore:
    """One partition's market data, news, commands and executions → every trading topic."""

    def __init__(
        self,
        strategies: StrategyConfig,
        settings: EngineSettings,
        risk: RiskConfig,
        *,
        partitions: int,
        decoders: Mapping[str, tuple[str, Decoder]],
        venue: PaperVenue | None = None,
        tracers: Mapping[str, StageTracer] | None = None,
    ) -> None:
        """Run RISK's mode; VENUE is the paper venue (paper mode), None otherwise.

        DECODERS map each input topic to (record name, decoder). TRACERS by stage
        (`TRACED_STAGES`); a missing one records nothing.
        """
        mode = risk.mode
        if (mode == "paper") != (venue is not None):
            raise ValueError(f"{mode} mode takes {'a' if mode == 'paper' else 'no'} paper venue")
        self.mode: Mode = mode
        self._strategies = strategies
        self._settings = settings
        self._config = risk
        self._partitions = partitions
        self._budget = 1.0 / partitions
        self._decoders = decoders
        self.venue = venue
        # fixed_notional orders are sized again at the fill price, account or not.
        self._notional_sizing = any(r.kind == "fixed_notional" for r in risk.sizing.values())
        self._sessions: dict[str, str | None] = {}  # symbol -> calendar its bars open on
        given = tracers or {}
        self._tracers = {s: given.get(s) or StageTracer(None, s, "") for s in TRACED_STAGES}
        self.engines: dict[str, SymbolEngine] = {}
        self.positions: dict[str, dict[str, PositionBook]] = {}
        self.risk_books: dict[str, RiskBook] = {}
        self._ledger_books: dict[str, RiskBook] = {}  # symbol -> the risk book holding its ledger
        self._migrated: list[str] = []  # ledgers read from a version-1 book: write them out

    # --------------------------------------------------------------- the batch
    def process(self, records: Iterable[RawRecord], load: TableLoaders) -> StageOutput:
        """Run RECORDS (one topic-partition, in offset order) through the loop."""
        out = StageOutput()
        marked: _Marked = {}
        partition, topic = 0, ""
        tracer = self._tracers["signals"]
        traced: list[Sequence[tuple[str, bytes]]] = []  # sampled or not: the batch span decides
        for raw, name, record in decoded(records, self._decoders, out, unkeyed=_UNKEYED):
            partition, topic = raw.partition, raw.topic
            if tracer.enabled:
                traced.append(raw.headers)
            keyed = name != "RiskControl" or record.get("symbol") is not None
            risk = self._risk_of(out, partition, record if keyed else None, load)
            try:
                if name == "RiskControl":
                    self._command(out, raw, cast(RiskControl, record), risk, load)
                elif name == "Fill":
                    self._reported_fill(out, raw, cast(Fill, record), risk, load)
                elif name == "OrderEvent":
                    self._reported_event(out, partition, cast(OrderEvent, record), risk)
                else:
                    market = cast(Quote | Bar | NewsItem, record)
                    self._market(out, raw, _KIND[name], market, risk, load, marked)
            except InvalidInputError as exc:
                error_type = "InvalidFill" if name == "Fill" else "InvalidRecord"
                out.deadletters.append(dead_letter(raw, error_type, str(exc)))
        for book in marked.values():
            out.records.append(("positions", position_record(book, partition, [])))
        if traced:  # one span linking the batch's sampled records, as the conventions ask
            tracer.batch(traced, topic=topic, partition=partition, size=out.processed)
        return out

    # ------------------------------------------------------------ by record kind
    def _command(
        self,
        out: StageOutput,
        raw: RawRecord,
        record: RiskControl,
        risk: RiskBook,
        load: TableLoaders,
    ) -> None:
        out.changed.add((RISK, book_key(raw.partition)))
        action = record["action"]
        if action == "KILL":
            risk.kill(record["reason"])
        elif action == "RESET":
            risk.reset()
        else:
            self._flatten(out, raw, record, risk, load)

    def _flatten(
        self,
        out: StageOutput,
        raw: RawRecord,
        record: RiskControl,
        risk: RiskBook,
        load: TableLoaders,
    ) -> None:
        """Decide a FLAT signal for the command's symbol: the order that closes its position."""
        symbol = record.get("symbol")
        ledger = risk.ledgers.get(symbol) if symbol else None
        if symbol is None or ledger is None:
            raise InvalidInputError(f"FLATTEN of {symbol!r}: this partition holds no such symbol")
        price = ledger.last_price or ledger.avg_price
        ts_us = record["ts_event_us"]
        signal = {
            "id": f"flatten-{ts_us}-{symbol}", "symbol": symbol, "strategy": OPERATOR_FLATTEN,
            "side": "FLAT", "strength": 0.0, "confidence": 1.0, "ref_price": price,
            "ts_event_us": ts_us, "params": {}, "features": {}, "trigger_ids": [],
        }  # fmt: skip
        headers = self._continue("signals", raw, {"symbol": symbol, "strategy": OPERATOR_FLATTEN})
        out.emit("signals", symbol, signal, headers)
        self._decide(out, raw, cast(Signal, signal), headers, risk, load)

    def _market(
        self,
        out: StageOutput,
        raw: RawRecord,
        kind: str,
        record: Quote | Bar | NewsItem,
        risk: RiskBook,
        load: TableLoaders,
        marked: _Marked,
    ) -> None:
        symbol = record["symbol"]
        engine = self.engine(symbol, load)
        output = engine.on_event(Event(kind, record["ts_event_us"], dict(record)))
        out.changed.add((SIGNALS, symbol))
        for late in output.late:
            out.deadletters.append(dead_letter(raw, "LateRecord", late.reason))
        for event, signals in output.steps:
            if event.kind == "quote":
                self._trade(out, raw, cast(Quote, event.record), risk, load, marked)
            elif event.kind == "bar":
                self._trade_bar(out, raw, cast(Bar, event.record), risk, load, marked)
            if signals:
                strategies = ",".join(sorted({signal["strategy"] for signal in signals}))
                headers = self._continue("signals", raw, {"symbol": symbol, "strategy": strategies})
                for signal in signals:
                    out.emit("signals", symbol, signal, headers)
                    self._decide(out, raw, cast(Signal, signal), headers, risk, load)

    def _trade(
        self,
        out: StageOutput,
        raw: RawRecord,
        quote: Mapping[str, Any],
        risk: RiskBook,
        load: TableLoaders,
        marked: _Marked,
        mark: Mapping[str, Any] | None = None,
    ) -> None:
        """Match the symbol's open orders against QUOTE, then mark positions (to MARK)."""
        symbol = quote["symbol"]
        venue = self.venue
        if venue is not None:
            out.changed.add((BOOKS, symbol))
            try:
                report = venue.on_quote(symbol, quote, load[BOOKS], self._funds(risk))
            except InvalidInputError as exc:
                out.deadletters.append(dead_letter(raw, "InvalidRecord", str(exc)))
                return
            self._executed(out, raw, symbol, report, risk, load)
        if self.mode != "alert-only":
            self._mark(out, symbol, mark if mark is not None else quote, load, marked)

    def _trade_bar(
        self,
        out: StageOutput,
        raw: RawRecord,
        bar: Bar,
        risk: RiskBook,
        load: TableLoaders,
        marked: _Marked,
    ) -> None:
        """Trade at BAR's open (orders of the last close fill there), mark at its close."""
        opened = bar_open(bar, self._session_open(bar))
        self._trade(out, raw, opened, risk, load, marked, mark=bar_close(bar))

    def _decide(
        self,
        out: StageOutput,
        raw: RawRecord,
        signal: Signal,
        headers: OutHeaders,
        risk: RiskBook,
        load: TableLoaders,
    ) -> None:
        symbol = signal["symbol"]
        decision = risk.decide(signal, config=self._config, budget=self._budget)
        self._risk_changed(out, raw.partition, symbol)
        if decision.rejection is not None:
            out.emit("orders.rejected", symbol, decision.rejection, headers)
        if decision.order is not None:
            order = decision.order
            attributes = {
                "symbol": symbol,
                "strategy": signal["strategy"],
                "order.id": order["id"],
                "risk.mode": self.mode,
            }
            order_headers = self._continue("risk", raw, attributes, headers)
            if self.mode == "alert-only":
                out.emit("alerts", symbol, alert_record(signal, order), order_headers)
            else:
                out.emit("orders", symbol, order, order_headers)
                self._route(out, raw, order, attributes, order_headers, risk, load)
        if decision.kill is not None:
            broadcast_kill(
                out, decision.kill, signal["ts_event_us"], raw.partition, self._partitions
            )

    def _route(
        self,
        out: StageOutput,
        raw: RawRecord,
        order: Mapping[str, Any],
        attributes: dict[str, Any],
        headers: OutHeaders,
        risk: RiskBook,
        load: TableLoaders,
    ) -> None:
        """Hand ORDER to the paper venue (live: it left on `orders`, the venue agent takes it)."""
        venue = self.venue
        if venue is None:
            return
        symbol = order["symbol"]
        taken = self._continue("order", raw, {**attributes, "order.side": order["side"]}, headers)
        out.changed.add((BOOKS, symbol))
        headers_taken = [[k, v.decode()] for k, v in taken]
        report = venue.on_order(order, headers_taken, load[BOOKS], self._funds(risk))
        self._executed(out, raw, symbol, report, risk, load)

    def _funds(self, risk: RiskBook) -> AccountFunds | None:
        """Return the account's funds for one venue call; None when nothing asks them."""
        if self.venue is None or (risk.cash is None and not self._notional_sizing):
            return None
        return AccountFunds(risk, self._config, self.venue.model)

    # ------------------------------------------------------------ executions
    def _executed(
        self,
        out: StageOutput,
        raw: RawRecord,
        symbol: str,
        report: ExecutionReport,
        risk: RiskBook,
        load: TableLoaders,
    ) -> None:
        """Publish and apply what the paper venue reports: fills, then order events."""
        if not report:
            return
        venue = self.venue
        assert venue is not None  # only the paper venue reports in the process
        partition = raw.partition
        self._risk_changed(out, partition, symbol)  # fills and ended orders move the book
        for fill in report.fills:
            attributes = {"symbol": symbol, "order.id": fill["order_id"], "fill.id": fill["id"]}
            taken = venue.trace_of(symbol, fill["order_id"])
            headers = self._continue("fill", raw, attributes, taken)
            out.emit("fills", symbol, fill, headers)
            self._apply_fill(out, raw, cast(Fill, fill), headers, attributes, risk, load)
        for event in report.events:
            out.emit("orders.events", symbol, event, venue.trace_of(symbol, event["order_id"]))
            if event["status"] in _ENDED:
                risk.on_order_event(event)
                venue.ended(symbol, event["order_id"])

    def _reported_fill(
        self, out: StageOutput, raw: RawRecord, fill: Fill, risk: RiskBook, load: TableLoaders
    ) -> None:
        """Apply a fill the live venue reported, once by its id (a repeat is dead-lettered)."""
        attributes = {"symbol": fill["symbol"], "order.id": fill["order_id"], "fill.id": fill["id"]}
        self._risk_changed(out, raw.partition, fill["symbol"])
        if not self._apply_fill(out, raw, fill, list(raw.headers), attributes, risk, load):
            account = fill.get("account", "default")
            reason = f"fill {fill['id']} was already applied to {account}/{fill['symbol']}"
            out.deadletters.append(dead_letter(raw, "DuplicateFill", reason))

    def _reported_event(
        self, out: StageOutput, partition: int, event: OrderEvent, risk: RiskBook
    ) -> None:
        """Apply an order event the live venue reported: an ended order frees its quantity."""
        if event["status"] in _ENDED:
            self._risk_changed(out, partition, event["symbol"])
            risk.on_order_event(event)

    def _apply_fill(
        self,
        out: StageOutput,
        raw: RawRecord,
        fill: Fill,
        headers: Sequence[tuple[str, bytes]],
        attributes: dict[str, Any],
        risk: RiskBook,
        load: TableLoaders,
    ) -> bool:
        """Apply FILL to the risk book and its position; False if the position had it already.

        Raise InvalidInputError (nothing changed) for a corrupt fill.
        """
        symbol, account = fill["symbol"], fill.get("account", "default")
        accounts = self.accounts(symbol, load)
        book = accounts.get(account) or PositionBook(account, symbol)
        if not book.apply_fill(fill):
            return False
        accounts[account] = book
        out.changed.add((POSITIONS, symbol))
        reason = risk.on_fill(fill)
        if reason is not None:
            broadcast_kill(out, reason, fill["ts_event_us"], raw.partition, self._partitions)
        moved = self._continue("position", raw, {**attributes, "account": account}, headers)
        out.records.append(("positions", position_record(book, raw.partition, moved)))
        return True

    def _mark(
        self,
        out: StageOutput,
        symbol: str,
        quote: Mapping[str, Any],
        load: TableLoaders,
        marked: _Marked,
    ) -> None:
        mid = (float(quote["bid"]) + float(quote["ask"])) / 2.0
        for account, book in self.accounts(symbol, load).items():
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

    # ---------------------------------------------------------- working set
    def engine(self, symbol: str, load: TableLoaders) -> SymbolEngine:
        """Return SYMBOL's signal engine, restored from the table on first use."""
        engine = self.engines.get(symbol)
        if engine is None:
            state = load[SIGNALS](symbol)
            calendar = self.calendar_of(symbol)
            engine = (
                SymbolEngine.from_state(symbol, self._strategies, self._settings, state, calendar)
                if state is not None
                else SymbolEngine(symbol, self._strategies, self._settings, calendar)
            )
            self.engines[symbol] = engine
        return engine

    def _session_open(self, bar: Bar) -> int | None:
        """Return the open of a daily BAR's session on its symbol's calendar; None otherwise."""
        if bar["interval_secs"] != _DAY_SECS:
            return None
        code = self._sessions_of(bar["symbol"])
        return None if code is None else trading_calendar(code).last_open_us(bar["ts_event_us"])

    def _sessions_of(self, symbol: str) -> str | None:
        """Return the calendar SYMBOL's bars open on: its [risk] one, else its strategies'."""
        if symbol in self._sessions:
            return self._sessions[symbol]
        code = self.calendar_of(symbol)
        if code is None:
            named = (s.calendar for s in self._strategies.for_symbol(symbol))
            code = next((c for c in named if c is not None and c != AUTO_CALENDAR), None)
        self._sessions[symbol] = code  # config, not state: kept across forget()
        return code

    def calendar_of(self, symbol: str) -> str | None:
        """Return SYMBOL's exchange calendar: the [risk] one, if it filters the symbol."""
        limits = self._config.limits
        return limits.calendar if limits.session_filtered(symbol) else None

    def accounts(self, symbol: str, load: TableLoaders) -> dict[str, PositionBook]:
        """Return SYMBOL's position books by account, restored from the table on first use."""
        books = self.positions.get(symbol)
        if books is None:
            state = load[POSITIONS](symbol) or {}
            books = {account: PositionBook.from_state(s) for account, s in state.items()}
            self.positions[symbol] = books
        return books

    def _risk_changed(self, out: StageOutput, partition: int, symbol: str) -> None:
        out.changed.add((RISK, book_key(partition)))
        out.changed.add((LEDGERS, symbol))

    def _risk_of(
        self, out: StageOutput, partition: int, record: Any, load: TableLoaders
    ) -> RiskBook:
        """Return PARTITION's risk book with RECORD's symbol's ledger in it (if it has one)."""
        risk = self.risk_book(partition, load)
        if self._migrated:
            self._write_migrated(out, partition)
        if record is not None:
            self._attach(risk, record["symbol"], load)
        return risk

    def _attach(self, book: RiskBook, symbol: str, load: TableLoaders) -> None:
        """Bring SYMBOL's ledger into BOOK from the table, the first time it is met."""
        if symbol not in book.ledgers:
            state = load[LEDGERS](symbol)
            if state is not None:
                book.attach(symbol, state)
        self._ledger_books[symbol] = book

    def risk_book(self, partition: int, load: TableLoaders) -> RiskBook:
        """Return PARTITION's risk book, restored from the table on first use."""
        key = book_key(partition)
        book = self.risk_books.get(key)
        if book is None:
            state = load[RISK](key)
            book = (
                RiskBook.from_state(state, self._config, self._budget)
                if state is not None
                else RiskBook(self._config, self._budget)
            )
            self.risk_books[key] = book
            if state is not None and state.get("version") == 1:  # it held its ledgers
                self._ledger_books.update(dict.fromkeys(book.ledgers, book))
                self._migrated.extend(book.ledgers)
        return book

    def _write_migrated(self, out: StageOutput, partition: int) -> None:
        """Write a version-1 book's ledgers to their own table, once, with the book itself."""
        out.changed.add((RISK, book_key(partition)))
        out.changed.update((LEDGERS, symbol) for symbol in self._migrated)
        self._migrated.clear()

    def state(self, table: str, key: str) -> Any:
        """Return KEY's value in TABLE from the working set (JSON-able)."""
        if table == SIGNALS:
            return self.engines[key].state()
        if table == POSITIONS:
            return {account: book.state() for account, book in self.positions[key].items()}
        if table == RISK:
            return self.risk_books[key].state()
        if table == LEDGERS:
            return self._ledger_books[key].ledger_state(key)
        if self.venue is None or table != BOOKS:
            raise KeyError(f"no table {table!r} in {self.mode} mode")
        return self.venue.state(key)

    def forget(self) -> None:
        """Drop the working set: the tables are the truth again (abort, rebalance)."""
        self.engines.clear()
        self.positions.clear()
        self.risk_books.clear()
        self._ledger_books.clear()
        self._migrated.clear()
        if self.venue is not None:
            self.venue.forget()

    def tables(self) -> tuple[str, ...]:
        """Return the tables this core's mode keeps."""
        return tables_of(self.mode)


def tables_of(mode: str) -> tuple[str, ...]:
    """Return the tables the core keeps in MODE."""
    if mode == "paper":
        return (SIGNALS, BOOKS, POSITIONS, RISK, LEDGERS)
    if mode == "live":
        return (SIGNALS, POSITIONS, RISK, LEDGERS)
    return (SIGNALS, RISK, LEDGERS)
