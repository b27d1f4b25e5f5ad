"""Live E*TRADE quotes: poll the market API, parse, skip repeats, hand rows to the publisher.

`etrade:SYMBOLS[,poll_secs=S]` (built by the CLI, which owns the OAuth session: producers
do not import the execution layer). Each poll asks `/v1/market/quote/{symbols}` (JSON,
detail ALL) for up to 25 symbols per request, E*TRADE's documented limit per call; more
symbols take several requests per poll. E*TRADE does not publish a rate limit for the
market API, so the default poll is one per second and the interval may not go below
0.25 s per request a poll makes (a conservative 4 requests/s: 0.5 s for 26 to 50 symbols).

- **Parse.** A QuoteData entry becomes a Quote: bid, ask, bidSize, askSize and lastTrade
  from its `All` block, the event time from `dateTimeUTC` (epoch seconds). An entry
  without them, or a symbol E*TRADE answers with a Message instead of a quote, is an
  error row: the publisher rejects and counts it, and so does validation for a quote that
  parses but is bad (crossed, zero, NaN).
- **Deduplicate.** A symbol's quote is published only when its prices or sizes differ
  from the last one published: E*TRADE re-stamps an unchanged quote on every poll, and a
  strategy would read each repeat as a new tick. `seq` counts a symbol's published quotes.
- **Failures.** A fetch that raises `FeedUnavailableError` (network, 5xx, 429 Too Many
  Requests) is logged and the next poll tries again; any other error ends the source (an
  expired token, say).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from infra.clock import Clock
from producers.exceptions import FeedUnavailableError, SourceError
from producers.market.base import MarketKind, parse_options
from producers.polling import PollSchedule
from producers.rows import SourceRow

__all__ = [
    "MAX_SYMBOLS_PER_REQUEST",
    "MIN_POLL_SECS",
    "ETradeQuoteSource",
    "QuoteFetcher",
    "parse_quotes",
    "parse_symbols_spec",
]

log = logging.getLogger(__name__)

QuoteFetcher = Callable[[Sequence[str]], Mapping[str, Any]]
"""Symbols (at most 25) -> E*TRADE's JSON QuoteResponse body."""

MAX_SYMBOLS_PER_REQUEST = 25
MIN_POLL_SECS = 0.25
_FIELDS = (("bid", "bid"), ("ask", "ask"), ("bid_size", "bidSize"), ("ask_size", "askSize"))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _number(block: Mapping[str, Any], name: str) -> float:
    value = block.get(name)
    if value is None:
        raise ValueError(f"{name} is missing")
    if isinstance(value, bool):
        raise ValueError(f"{name} {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a number") from None


def _quote(entry: Mapping[str, Any], ingest_us: int) -> dict[str, Any]:
    symbol = str((entry.get("Product") or {}).get("symbol") or "").strip()
    if not symbol:
        raise ValueError("quote without Product.symbol")
    block = entry.get("All") or entry.get("Intraday")
    if not isinstance(block, Mapping):
        raise ValueError(f"{symbol}: quote without an All block")
    try:
        prices = {ours: _number(block, theirs) for ours, theirs in _FIELDS}
        seconds = _number(entry, "dateTimeUTC")
    except ValueError as err:
        raise ValueError(f"{symbol}: {err}") from None
    last = block.get("lastTrade")
    return {
        "symbol": symbol,
        "ts_event_us": round(seconds * 1_000_000),
        "ts_ingest_us": ingest_us,
        **prices,
        "last": None if last is None else _number(block, "lastTrade"),
        "seq": 0,
    }


def parse_quotes(body: Mapping[str, Any], *, ingest_us: int) -> list[SourceRow]:
    """Return a row per QuoteData entry of BODY (a record or its error) and per Message."""
    response = body.get("QuoteResponse") or {}
    rows: list[SourceRow] = []
    for entry in _as_list(response.get("QuoteData")):
        try:
            rows.append(SourceRow(None, record=_quote(entry, ingest_us)))
        except (ValueError, AttributeError) as err:
            rows.append(SourceRow(None, error=str(err)))
    for message in _as_list((response.get("Messages") or {}).get("Message")):
        if isinstance(message, Mapping) and message.get("type") != "WARNING":
            text = message.get("description") or "no description"
            rows.append(SourceRow(None, error=f"E*TRADE message {message.get('code')}: {text}"))
    return rows


def parse_symbols_spec(spec: str, rest: str) -> tuple[list[str], float]:
    """Return the symbols and poll interval of an `etrade:` spec's REST; SourceError if bad."""
    options = parse_options(
        spec, f"symbols={rest}" if rest and "=" not in rest.split(",")[0] else rest
    )
    unknown = set(options) - {"symbols", "poll_secs"}
    if unknown:
        raise SourceError(spec, f"unknown option(s) {', '.join(sorted(unknown))}")
    symbols = list(dict.fromkeys(s.strip().upper() for s in options.get("symbols", "").split(",")))
    symbols = [s for s in symbols if s]
    if not symbols:
        raise SourceError(spec, "name at least one symbol: etrade:AAPL,MSFT")
    try:
        poll_secs = float(options.get("poll_secs", "1"))
    except ValueError:
        raise SourceError(spec, f"poll_secs {options['poll_secs']!r} is not a number") from None
    requests = -(-len(symbols) // MAX_SYMBOLS_PER_REQUEST)  # per poll
    floor = MIN_POLL_SECS * requests
    if not poll_secs >= floor:
        raise SourceError(
            spec,
            f"poll_secs must be at least {floor:g} for {len(symbols)} symbols "
            f"({requests} request(s) a poll, at most {1 / MIN_POLL_SECS:g} a second)",
        )
    return symbols, poll_secs


class ETradeQuoteSource:
    """Quotes of SYMBOLS from E*TRADE every POLL_SECS, repeats skipped; see the module doc."""

    kind: MarketKind = "quote"
    total: int | None = None

    def __init__(
        self,
        fetch: QuoteFetcher,
        symbols: Sequence[str],
        *,
        clock: Clock,
        schedule: PollSchedule,
    ) -> None:
        self._fetch = fetch
        self._batches = [
            list(symbols[i : i + MAX_SYMBOLS_PER_REQUEST])
            for i in range(0, len(symbols), MAX_SYMBOLS_PER_REQUEST)
        ]
        self._clock = clock
        self._schedule = schedule
        self._last: dict[str, tuple[Any, ...]] = {}
        self._seq: dict[str, int] = {}
        self.repeats = 0

    def records(self) -> Iterator[SourceRow]:
        """Yield new quotes (and error rows) poll after poll; never ends by itself."""
        for _ in self._schedule:
            for batch in self._batches:
                try:
                    body = self._fetch(batch)
                except FeedUnavailableError as err:
                    log.warning("E*TRADE quotes unavailable, next poll retries: %s", err)
                    continue
                for row in parse_quotes(body, ingest_us=self._clock()):
                    fresh = self._fresh(row)
                    if fresh is not None:
                        yield fresh

    def _fresh(self, row: SourceRow) -> SourceRow | None:
        record = row.record
        if record is None:
            return row
        symbol = record["symbol"]
        content = tuple(record[name] for name in ("bid", "ask", "bid_size", "ask_size", "last"))
        if self._last.get(symbol) == content:
            self.repeats += 1
            return None
        self._last[symbol] = content
        seq = self._seq.get(symbol, 0)
        self._seq[symbol] = seq + 1
        return SourceRow(None, record={**record, "seq": seq})
