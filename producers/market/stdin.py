"""Quotes or bars as JSON lines on standard input: any feed a user already has, piped in.

`stdin[:kind=quote|bar]` (default quote). One JSON object per line with the columns of a
market file (`producers.market.files`: symbol, ts, bid, ask, bid_size, ask_size[, last,
seq] for quotes; symbol, ts, open, high, low, close, volume[, interval_secs, seq] for
bars), keys matched case-insensitively. A line that is not such an object is an error
row, rejected and counted like a bad CSV row; the source ends at end of input (or Ctrl-C).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import IO

from infra.clock import Clock
from producers.exceptions import SourceError
from producers.market.base import MarketKind, parse_options
from producers.market.files import RowReader  # the file sources' cell rules, shared
from producers.market.layout import FileLayout
from producers.rows import SourceRow

__all__ = ["StdinMarketSource", "stdin_source"]

_OPTIONAL: dict[MarketKind, tuple[str, ...]] = {
    "quote": ("last", "seq"),
    "bar": ("interval_secs", "seq"),
}
_REQUIRED: dict[MarketKind, tuple[str, ...]] = {
    "quote": ("symbol", "ts", "bid", "ask", "bid_size", "ask_size"),
    "bar": ("symbol", "ts", "open", "high", "low", "close", "volume"),
}


class StdinMarketSource:
    """Quote or Bar records from JSON lines on STREAM (standard input by default)."""

    total: int | None = None

    def __init__(self, kind: MarketKind, *, clock: Clock, stream: IO[str] | None = None) -> None:
        self.kind: MarketKind = kind
        self._clock = clock
        self._stream = stream
        self._readers: dict[tuple[str, ...], RowReader] = {}
        self._next_seq: dict[str, int] = {}

    def records(self) -> Iterator[SourceRow]:
        """Yield a record or an error row per non-blank line, until end of input."""
        stream = self._stream or io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig")
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield self._row(number, line)

    def _row(self, number: int, line: str) -> SourceRow:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            return SourceRow(number, error=f"not valid JSON ({err.msg} at column {err.colno})")
        if not isinstance(obj, dict):
            return SourceRow(number, error=f"expected a JSON object, got {type(obj).__name__}")
        values = {str(k).strip().lower(): v for k, v in obj.items()}
        missing = [name for name in _REQUIRED[self.kind] if name not in values]
        if missing:
            return SourceRow(number, error=f"{missing[0]} is missing")
        optional = tuple(name for name in _OPTIONAL[self.kind] if values.get(name) is not None)
        columns = _REQUIRED[self.kind] + optional
        reader = self._readers.get(columns)
        if reader is None:
            reader = RowReader(
                self.kind, columns, clock=self._clock, interval_secs=86_400, layout=FileLayout()
            )
            reader._next_seq = self._next_seq  # one seq counter per symbol, whatever the columns
            self._readers[columns] = reader
        return reader.read(number, [values[name] for name in columns])


def stdin_source(rest: str, *, clock: Clock, spec: str) -> StdinMarketSource:
    """Return the `stdin[:kind=quote|bar]` source; SourceError naming SPEC if bad."""
    options = parse_options(spec, rest)
    kind = options.pop("kind", "quote")
    if options:
        raise SourceError(spec, f"unknown option(s) {', '.join(sorted(options))}; accepted: kind")
    if kind not in ("quote", "bar"):
        raise SourceError(spec, f"kind must be quote or bar, not {kind!r}")
    return StdinMarketSource("quote" if kind == "quote" else "bar", clock=clock)
