"""The position stage: fills and quotes of a partition in, position changes out.

Pure (no Kafka). The `positions` table is keyed by symbol; its value holds one
`PositionBook` per account (account-aware, and a symbol's accounts stay in the symbol's
partition). A fill is applied once by its id: a fill id the book already applied is
dead-lettered as `DuplicateFill` instead of counted again, so fills consumed = fills
applied + fills dead-lettered, always. Quotes mark open positions to the mid; a batch
emits at most one `positions` record per (account, symbol) for marks — the latest — and
one for every applied fill, so the compacted topic sees every fill's effect without a
record per quote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.stage_tracing import OutHeaders, StageTracer
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
from streams.positions.accounting import PositionBook

__all__ = ["PositionProcessor", "position_key", "position_record"]


def position_key(account: str, symbol: str) -> str:
    """Return the `positions` topic key: compaction keeps one record per account and symbol."""
    return symbol if account == "default" else f"{account}/{symbol}"


def position_record(book: PositionBook, partition: int, headers: OutHeaders) -> OutRecord:
    """Return BOOK as a `positions` record, placed in its symbol's PARTITION explicitly.

    The key may name an account too, so the partitioner could not be trusted with it.
    """
    key = position_key(book.account, book.symbol).encode()
    return OutRecord(key, book.to_record(), headers, partition)


class PositionProcessor:
    """Apply fills idempotently and mark positions to market."""

    def __init__(
        self, decoders: Mapping[str, tuple[str, Decoder]], tracer: StageTracer | None = None
    ) -> None:
        """Map each input topic to (record name, decoder) in DECODERS."""
        self._decoders = decoders
        self._tracer = tracer or StageTracer(None, "positions", "")
        self.books: dict[str, dict[str, PositionBook]] = {}
        self.applied = 0
        self.duplicates = 0

    def accounts(self, symbol: str, load: StateLoader) -> dict[str, PositionBook]:
        """Return SYMBOL's books by account, restored from the table on first use."""
        books = self.books.get(symbol)
        if books is None:
            state = load(symbol) or {}
            books = {account: PositionBook.from_state(s) for account, s in state.items()}
            self.books[symbol] = books
        return books

    def process(self, records: Iterable[RawRecord], load: StateLoader) -> StageOutput:
        """Run RECORDS (one topic-partition, in offset order) into the books."""
        out = StageOutput()
        marked: dict[tuple[str, str], tuple[PositionBook, int]] = {}
        for raw, record_name, record in decoded(records, self._decoders, out):
            symbol = record["symbol"]
            if record_name == "Fill":
                self._fill(out, raw, record, load)
            else:
                mid = (float(record["bid"]) + float(record["ask"])) / 2.0
                for account, book in self.accounts(symbol, load).items():
                    if book.qty != 0.0 and book.mark(mid, record["ts_event_us"]):
                        marked[(account, symbol)] = (book, raw.partition)
                        out.changed.add(symbol)
        for book, partition in marked.values():
            out.records.append(("positions", position_record(book, partition, [])))
        return out

    def _fill(
        self, out: StageOutput, raw: RawRecord, fill: Mapping[str, Any], load: StateLoader
    ) -> None:
        symbol, account = fill["symbol"], fill.get("account", "default")
        books = self.accounts(symbol, load)
        book = books.get(account) or PositionBook(account, symbol)
        try:
            applied = book.apply_fill(fill)
        except InvalidInputError as exc:
            out.deadletters.append(dead_letter(raw, "InvalidFill", str(exc)))
            return
        if not applied:
            self.duplicates += 1
            reason = f"fill {fill['id']} was already applied to {account}/{symbol}"
            out.deadletters.append(dead_letter(raw, "DuplicateFill", reason))
            return
        self.applied += 1
        books[account] = book
        out.changed.add(symbol)
        headers = self._tracer.continue_trace(
            raw.headers,
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            key=raw.key,
            attributes={"symbol": symbol, "fill.id": fill["id"], "order.id": fill["order_id"]},
        )
        out.records.append(("positions", position_record(book, raw.partition, headers)))

    def state(self, symbol: str) -> dict[str, Any]:
        """Return SYMBOL's books by account, the table value."""
        return {account: book.state() for account, book in self.books[symbol].items()}

    def forget(self) -> None:
        """Drop the working set (the table is the truth between batches)."""
        self.books.clear()
