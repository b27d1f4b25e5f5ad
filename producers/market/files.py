"""CSV and Parquet market files: quotes or bars, streamed row by row or in batches.

Columns (names matched case-insensitively through `layout.ALIASES`, others ignored):

| kind  | required                                   | optional              |
| ----- | ------------------------------------------ | --------------------- |
| quote | symbol, ts, bid, ask, bid_size, ask_size   | last, seq             |
| bar   | symbol, ts, open, high, low, close, volume | interval_secs, seq    |

The kind is read from the header: the one whose required columns are all there. A file
without a symbol column takes `FileLayout.symbol` (`--symbol`); `ts` may be called
timestamp, time, date or datetime, or be a DataFrame's index (see `producers.market.layout`).

- `ts` is the event time (a bar's close time): ISO-8601 with a zone ("2024-01-02T14:30:00Z",
  "2024-01-02 09:30:00-05:00") or an epoch number whose unit (s, ms, µs, ns) is read from its
  magnitude, see `producers.timestamps`. A bare date is that day's bar, stamped at its
  close (`FileLayout`: 16:00 America/New_York unless told); a zone-less time of day needs
  `--tz`, else it is an error row. A Parquet `ts` may also be a timestamp or date column.
- Prices, sizes and volume are numbers. An empty cell, "nan", "NA", "N/A" or "null" reads
  as NaN and stays NaN in the record, so validation rejects it ("bid is NaN"); any other
  non-number makes the row an error row (row=17, error="bid 'abc' is not a number"). Only an
  empty optional `last` reads as null ("no last trade").
- `seq`, when absent, counts each symbol's records from 0 in file order.
- `interval_secs`, when absent, is the source's `interval_secs` (default 86400: daily bars).
- `row` is the 1-based data row: the header and blank lines are not counted, so in a CSV
  without blank lines or quoted line breaks, row N is line N + 1.

CSVs are streamed by the `csv` module (exact row numbers, and a ragged row becomes an error
row instead of aborting the file); Parquet is read in record batches. Neither is ever
loaded whole.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from infra.clock import Clock
from producers.exceptions import SourceError
from producers.market.base import MarketKind
from producers.market.layout import FileLayout, canonical_columns
from producers.rows import SourceRow

__all__ = [
    "REQUIRED_COLUMNS",
    "SAMPLE_QUOTES_CSV",
    "CsvSource",
    "ParquetSource",
    "csv_source",
    "detect_kind",
    "parquet_source",
]

SAMPLE_QUOTES_CSV = Path(__file__).parent / "samples" / "quotes.csv"
"""A small bundled quotes file (AAPL, MSFT, GOOG) for demos."""

REQUIRED_COLUMNS: dict[MarketKind, tuple[str, ...]] = {
    "quote": ("symbol", "ts", "bid", "ask", "bid_size", "ask_size"),
    "bar": ("symbol", "ts", "open", "high", "low", "close", "volume"),
}
_NUMBERS: dict[MarketKind, tuple[str, ...]] = {
    "quote": ("bid", "ask", "bid_size", "ask_size"),
    "bar": ("open", "high", "low", "close", "volume"),
}
_INTEGERS = ("interval_secs", "seq")
_NAN_MARKERS = frozenset({"", "nan", "na", "n/a", "null"})
_COUNT_ROWS_UP_TO_BYTES = 64 * 1024 * 1024


def detect_kind(source: str, columns: Sequence[str], *, symbol: str | None = None) -> MarketKind:
    """Return the kind whose required columns are all in COLUMNS; SourceError otherwise.

    SYMBOL (`--symbol`) stands for a symbol column, which the file then must not have.
    """
    present = set(columns)
    if symbol is not None:
        if "symbol" in present:
            raise SourceError(source, "has a symbol column; --symbol is for files without one")
        present.add("symbol")
    missing = {
        kind: [c for c in need if c not in present] for kind, need in REQUIRED_COLUMNS.items()
    }
    complete = [kind for kind, absent in missing.items() if not absent]
    if len(complete) == 1:
        return complete[0]
    if complete:
        raise SourceError(source, "has both quote and bar columns; keep one kind per file")
    closest: MarketKind = min(missing, key=lambda kind: len(missing[kind]))
    absent = missing[closest]
    hint = " (or pass --symbol)" if absent == ["symbol"] else ""
    raise SourceError(
        source,
        f"missing column(s) {', '.join(absent)} for {closest}s{hint} "
        f"(found: {', '.join(repr(c) for c in columns) or 'none'}; expected for bars: "
        f"{_EXPECTED['bar']}; for quotes: {_EXPECTED['quote']})",
    )


_EXPECTED: dict[MarketKind, str] = {
    "bar": "symbol (or --symbol), ts|timestamp|date|datetime|time, open, high, low, close, volume",
    "quote": "symbol (or --symbol), ts|timestamp|date|datetime|time, bid, ask, bid_size, ask_size",
}


class _CellError(ValueError):
    """A cell cannot be read as its column's type; the message names column and value."""


def _number(name: str, cell: object) -> float:
    if cell is None:
        return math.nan
    if isinstance(cell, str):
        if cell.strip().lower() in _NAN_MARKERS:
            return math.nan
        try:
            return float(cell)
        except ValueError:
            raise _CellError(f"{name} {cell!r} is not a number") from None
    if isinstance(cell, bool):
        raise _CellError(f"{name} {cell!r} is not a number")
    try:
        return float(cell)  # type: ignore[arg-type]  # ints, floats, Decimals from Parquet
    except (TypeError, ValueError):
        raise _CellError(f"{name} {cell!r} is not a number") from None


def _optional_number(name: str, cell: object) -> float | None:
    # An optional column's empty cell means "no value"; an explicit "nan" stays NaN.
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    return _number(name, cell)


def _integer(name: str, cell: object) -> int:
    number = _number(name, cell)
    if math.isnan(number):
        raise _CellError(f"{name} is empty")
    if not number.is_integer():
        raise _CellError(f"{name} {cell!r} is not an integer")
    return int(cell) if isinstance(cell, int) else int(number)


def _symbol(name: str, cell: object) -> str:
    return "" if cell is None else str(cell).strip()


class RowReader:
    """Turns the cells of one row into a Quote or Bar record, or an error row."""

    def __init__(
        self,
        kind: MarketKind,
        columns: Sequence[str],
        *,
        clock: Clock,
        interval_secs: int,
        layout: FileLayout,
    ) -> None:
        index = {name: i for i, name in reversed(list(enumerate(columns)))}
        converters: dict[str, Callable[[str, object], Any]] = {"ts": self._timestamp}
        if layout.symbol is None:
            converters["symbol"] = _symbol
        converters |= dict.fromkeys(_NUMBERS[kind], _number)
        if kind == "quote":
            converters["last"] = _optional_number
        converters |= dict.fromkeys(_INTEGERS, _integer)
        self._fields = [(name, index[name], fn) for name, fn in converters.items() if name in index]
        self._width = len(columns)
        self._kind = kind
        self._clock = clock
        self._interval_secs = interval_secs
        self._layout = layout
        self._next_seq: dict[str, int] = {}

    def _timestamp(self, name: str, cell: object) -> int:
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            raise _CellError(f"{name} is empty")
        try:
            return self._layout.timestamp_us(cell, self._interval_secs)
        except ValueError as err:
            raise _CellError(f"{name} {err}") from None

    def read(self, row: int, cells: Sequence[object]) -> SourceRow:
        if len(cells) != self._width:
            problem = f"expected {self._width} fields, got {len(cells)}"
            return SourceRow(row, error=problem)
        try:
            values = {name: fn(name, cells[i]) for name, i, fn in self._fields}
        except _CellError as err:
            return SourceRow(row, error=str(err))
        symbol: str = values.get("symbol") or self._layout.symbol or ""
        seq = values.get("seq", self._next_seq.get(symbol, 0))
        self._next_seq[symbol] = seq + 1
        head = {"symbol": symbol, "ts_event_us": values["ts"], "ts_ingest_us": self._clock()}
        if self._kind == "quote":
            prices = {name: values[name] for name in _NUMBERS["quote"]}
            tail = {"last": values.get("last"), "seq": seq}
        else:
            head["interval_secs"] = values.get("interval_secs", self._interval_secs)
            prices = {name: values[name] for name in _NUMBERS["bar"]}
            tail = {"seq": seq}
        return SourceRow(row, record=head | prices | tail)


def _normalize(columns: Sequence[object]) -> list[str]:
    return canonical_columns(columns)


def _check_unique(source: str, columns: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in columns:
        if name in seen and name:
            raise SourceError(source, f"column {name!r} appears twice")
        seen.add(name)


class CsvSource:
    """Quotes or bars from a CSV file (UTF-8, comma-separated, header row); see module doc."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock,
        interval_secs: int = 86_400,
        layout: FileLayout | None = None,
    ) -> None:
        self.path = Path(path)
        self.interval_secs = interval_secs
        self.layout = layout or FileLayout()
        self._clock = clock

    def _open(self) -> IO[str]:
        try:
            return self.path.open(newline="", encoding="utf-8-sig")
        except FileNotFoundError:
            raise SourceError(str(self.path), "does not exist") from None
        except IsADirectoryError:
            raise SourceError(str(self.path), "is a directory, not a CSV file") from None
        except OSError as err:
            raise SourceError(str(self.path), f"cannot open: {err.strerror}") from None

    def _rows(self, stream: IO[str]) -> Iterator[list[str]]:
        reader = csv.reader(stream, skipinitialspace=True)
        try:
            for cells in reader:
                if cells:  # a blank line
                    yield cells
        except UnicodeDecodeError as err:
            raise SourceError(str(self.path), f"is not UTF-8 text (byte {err.start})") from None
        except csv.Error as err:
            raise SourceError(str(self.path), f"line {reader.line_num}: {err}") from None

    def _header(self, rows: Iterator[list[str]]) -> tuple[list[str], MarketKind]:
        columns = _normalize(next(rows, []))
        if not columns:
            raise SourceError(str(self.path), "is empty (no header row)")
        _check_unique(str(self.path), columns)
        return columns, detect_kind(str(self.path), columns, symbol=self.layout.symbol)

    @cached_property
    def kind(self) -> MarketKind:
        """Quotes or bars, read from the header."""
        with self._open() as stream:
            return self._header(self._rows(stream))[1]

    @cached_property
    def total(self) -> int | None:
        """Data rows counted from line breaks for files up to 64 MiB; None for larger ones."""
        try:
            if self.path.stat().st_size > _COUNT_ROWS_UP_TO_BYTES:
                return None
            data = self.path.read_bytes()
        except OSError:
            return None  # records() reports the problem properly
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        return max(lines - 1, 0)

    def records(self) -> Iterator[SourceRow]:
        """Yield each data row as a record or error row; SourceError if the file is unusable."""
        with self._open() as stream:
            rows = self._rows(stream)
            columns, kind = self._header(rows)
            reader = RowReader(
                kind,
                columns,
                clock=self._clock,
                interval_secs=self.interval_secs,
                layout=self.layout,
            )
            for number, cells in enumerate(rows, start=1):
                yield reader.read(number, cells)


class ParquetSource:
    """Quotes or bars from a Parquet file, read in batches of `batch_rows`; see module doc."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock,
        interval_secs: int = 86_400,
        batch_rows: int = 65_536,
        layout: FileLayout | None = None,
    ) -> None:
        self.path = Path(path)
        self.interval_secs = interval_secs
        self.layout = layout or FileLayout()
        self.batch_rows = batch_rows
        self._clock = clock

    def _file(self) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        source = str(self.path)
        if not self.path.exists():
            raise SourceError(source, "does not exist")
        try:
            parquet = pq.ParquetFile(self.path)
        except (OSError, pa.ArrowException) as err:
            raise SourceError(source, f"is not a readable Parquet file ({err})") from None
        columns = _normalize(parquet.schema_arrow.names)
        _check_unique(source, columns)
        detect_kind(source, columns, symbol=self.layout.symbol)
        return parquet

    @cached_property
    def kind(self) -> MarketKind:
        """Quotes or bars, read from the schema."""
        with self._file() as parquet:
            columns = _normalize(parquet.schema_arrow.names)
            return detect_kind(str(self.path), columns, symbol=self.layout.symbol)

    @cached_property
    def total(self) -> int | None:
        """Rows in the file, from its metadata."""
        with self._file() as parquet:
            return int(parquet.metadata.num_rows)

    def records(self) -> Iterator[SourceRow]:
        """Yield each row as a record or error row; SourceError if the file is unusable."""
        with self._file() as parquet:
            columns = _normalize(parquet.schema_arrow.names)
            kind = detect_kind(str(self.path), columns, symbol=self.layout.symbol)
            reader = RowReader(
                kind,
                columns,
                clock=self._clock,
                interval_secs=self.interval_secs,
                layout=self.layout,
            )
            number = 0
            for batch in parquet.iter_batches(batch_size=self.batch_rows):
                for cells in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                    number += 1
                    yield reader.read(number, cells)


def _path(rest: str, spec: str) -> str:
    if not rest:
        raise SourceError(spec, "needs a path, e.g. csv:quotes.csv")
    return rest


def csv_source(
    rest: str, *, clock: Clock, spec: str, layout: FileLayout | None = None
) -> CsvSource:
    """Return the `csv:PATH` source; its header is read now (an unusable file fails here)."""
    source = CsvSource(_path(rest, spec), clock=clock, layout=layout)
    _ = source.kind
    return source


def parquet_source(
    rest: str, *, clock: Clock, spec: str, layout: FileLayout | None = None
) -> ParquetSource:
    """Return the `parquet:PATH` source; its schema is read now (an unusable file fails here)."""
    source = ParquetSource(_path(rest, spec), clock=clock, layout=layout)
    _ = source.kind
    return source
