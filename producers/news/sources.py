"""News sources (a JSONL file, or seeded synthetic headlines), scored and fanned out per symbol.

Every source yields `SourceRow`s of NewsItem records, already fanned out: one record per
mentioned symbol, all with the item's `id`, scored with VADER (`sentiment.score_news`).

`jsonl:PATH`: one JSON object per line (blank lines skipped; `row` is the line number):

| field    | type                          | note                                          |
| -------- | ----------------------------- | --------------------------------------------- |
| id       | string, optional              | default: `news_id(source, headline, ts)`      |
| headline | string                        |                                               |
| body     | string or null, optional      |                                               |
| source   | string                        | publisher or feed                             |
| url      | string or null, optional      |                                               |
| symbols  | list of strings, at least one |                                               |
| ts       | ISO-8601 with zone, or epoch  | publication time; see `producers.timestamps`  |

A line that is not such an object is one error row naming the problem.

`synthetic[:k=v,...]`: options `symbols` (default AAPL,MSFT,GOOG,AMZN,TSLA), `seed` (0),
`count` (items, 100), `interval_secs` (mean gap between items, 60) and `start` (event time
of the first item, default 2024-01-02T13:00:00Z). Clearly positive, negative and neutral
headlines mention 1-3 symbols by ticker, company name or both; gaps are exponential.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from infra.clock import Clock
from producers.exceptions import SourceError, ValidationError
from producers.market.base import parse_options
from producers.news.items import COMPANY_NAMES, fan_out, news_id
from producers.rows import SourceRow
from producers.timestamps import parse_timestamp_us

__all__ = [
    "COMPANY_NAMES",
    "SAMPLE_NEWS_JSONL",
    "JsonlNewsSource",
    "NewsSource",
    "StdinNewsSource",
    "SyntheticNewsSource",
    "fan_out",
    "news_id",
    "parse_news_source",
]

SAMPLE_NEWS_JSONL = Path(__file__).parent / "samples" / "news.jsonl"
"""A bundled file of ~30 made-up 2024 headlines for demos."""


class NewsSource(Protocol):
    """A stream of fanned-out NewsItem records; no I/O until asked."""

    @property
    def total(self) -> int | None:
        """How many records to expect, None if unknown."""
        ...

    def records(self) -> Iterator[SourceRow]:
        """Yield every record (or error row); raise SourceError if the input is unusable."""
        ...


def _typed(obj: Mapping[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value = obj.get(name)
    if value is None and optional:
        return None
    if value is None:
        raise ValueError(f"{name} is missing")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{name} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _item(line: str, clock: Clock) -> dict[str, Any]:
    """Parse one JSONL line into an un-fanned item; ValueError says what is wrong."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    symbols = _typed(obj, "symbols", list)
    if not all(isinstance(s, str) for s in symbols):
        raise ValueError("symbols must be a list of strings")
    if "ts" not in obj:
        raise ValueError("ts is missing")
    try:
        ts_event_us = parse_timestamp_us(obj["ts"])
    except ValueError as err:
        raise ValueError(f"ts {err}") from None
    item_id = obj.get("id")
    return {
        "id": None if item_id is None else str(item_id),
        "symbols": symbols,
        "headline": _typed(obj, "headline", str),
        "body": _typed(obj, "body", str, optional=True),
        "source": _typed(obj, "source", str),
        "url": _typed(obj, "url", str, optional=True),
        "ts_event_us": ts_event_us,
        "ts_ingest_us": clock(),
    }


class JsonlNewsSource:
    """News items from a JSONL file (UTF-8), one object per line; see the module doc."""

    total: int | None = None

    def __init__(self, path: str | Path, *, clock: Clock) -> None:
        self.path = Path(path)
        self._clock = clock

    def open(self) -> IO[str]:
        """Open the file for reading; SourceError if it cannot be."""
        try:
            return self.path.open(encoding="utf-8-sig")
        except FileNotFoundError:
            raise SourceError(str(self.path), "does not exist") from None
        except IsADirectoryError:
            raise SourceError(str(self.path), "is a directory, not a JSONL file") from None
        except OSError as err:
            raise SourceError(str(self.path), f"cannot open: {err.strerror}") from None

    def records(self) -> Iterator[SourceRow]:
        """Yield the records of each line, or one error row for a bad line."""
        with self.open() as stream:
            try:
                for number, line in enumerate(stream, start=1):
                    if line.strip():
                        yield from self._rows(number, line)
            except UnicodeDecodeError as err:
                raise SourceError(str(self.path), f"is not UTF-8 text (byte {err.start})") from None

    def _rows(self, number: int, line: str) -> Iterator[SourceRow]:
        try:
            records = fan_out(_item(line, self._clock))
        except ValidationError as err:
            yield SourceRow(number, error=err.reason)
            return
        except ValueError as err:
            yield SourceRow(number, error=str(err))
            return
        for record in records:
            yield SourceRow(number, record)


# Templates by number of mentions, each tone clearly scored by VADER (|compound| > 0.3, or 0).
_TEMPLATES: dict[int, tuple[str, ...]] = {
    1: (
        "{0} shares surge after record profit beats estimates",
        "{0} raises guidance as strong demand delights investors",
        "Analysts upgrade {0}, praising excellent growth",
        "{0} shares plunge after disappointing earnings miss",
        "{0} faces fraud lawsuit as regulators launch probe",
        "{0} cuts jobs amid weak demand and falling sales",
        "{0} to hold annual shareholder meeting on Thursday",
        "{0} schedules quarterly earnings call for next week",
        "{0} names new chief financial officer",
    ),
    2: (
        "{0} and {1} announce exciting partnership; analysts optimistic",
        "{0} and {1} sued over antitrust abuses as shares crash",
        "{0} and {1} to present at industry conference",
    ),
    3: (
        "{0}, {1} and {2} lead strong rally as tech earnings impress",
        "{0}, {1} and {2} drag market lower amid recession fears",
        "{0}, {1} and {2} to report results this week",
    ),
}
_MENTION_ODDS = np.array([0.5, 0.3, 0.2])  # of 1, 2, 3 symbols
_DEFAULT_START_US = 1_704_200_400_000_000  # 2024-01-02T13:00:00Z


@dataclass(frozen=True)
class SyntheticNewsSource:
    """Seeded synthetic headlines about SYMBOLS; see the module doc."""

    clock: Clock
    symbols: tuple[str, ...] = ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")
    seed: int = 0
    count: int = 100
    interval_secs: float = 60.0
    start_us: int = _DEFAULT_START_US
    source: str = "synthetic-wire"

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError("symbols is empty")
        if self.count < 0 or self.interval_secs <= 0:
            raise ValueError("count must be >= 0 and interval_secs > 0")

    @classmethod
    def from_options(
        cls, options: Mapping[str, str], *, clock: Clock, spec: str
    ) -> SyntheticNewsSource:
        """Build from `synthetic:` spec OPTIONS (module doc); SourceError naming SPEC if bad."""
        parsers: dict[str, tuple[str, Any]] = {
            "symbols": ("symbols", lambda t: tuple(s.strip() for s in t.split(",") if s.strip())),
            "seed": ("seed", int),
            "count": ("count", int),
            "interval_secs": ("interval_secs", float),
            "start": ("start_us", parse_timestamp_us),
        }
        unknown = set(options) - set(parsers)
        if unknown:
            names, accepted = ", ".join(sorted(unknown)), ", ".join(parsers)
            raise SourceError(spec, f"unknown option(s) {names}; accepted: {accepted}")
        try:
            kwargs = {parsers[k][0]: parsers[k][1](v) for k, v in options.items()}
            return cls(clock=clock, **kwargs)
        except ValueError as err:
            raise SourceError(spec, str(err)) from None

    def _mentions(self) -> Any:
        # A stream of its own, so `total` can count the records without making them.
        rng = np.random.default_rng([self.seed, 1])
        odds = _MENTION_ODDS[: len(self.symbols)] / _MENTION_ODDS[: len(self.symbols)].sum()
        return rng.choice(np.arange(1, len(odds) + 1), size=self.count, p=odds)

    @property
    def total(self) -> int:
        """Records the source yields: each item's number of mentioned symbols, summed."""
        return int(self._mentions().sum())

    def records(self) -> Iterator[SourceRow]:
        """Yield `count` items' records, in event-time order."""
        rng = np.random.default_rng([self.seed, 2])
        ts_us = self.start_us
        for mentions in self._mentions().tolist():
            picked = [self.symbols[i] for i in rng.choice(len(self.symbols), mentions, False)]
            names = [self._mention(symbol, int(rng.integers(3))) for symbol in picked]
            templates = _TEMPLATES[mentions]
            headline = templates[int(rng.integers(len(templates)))].format(*names)
            item = {"symbols": picked, "headline": headline, "source": self.source,
                    "ts_event_us": ts_us, "ts_ingest_us": self.clock()}  # fmt: skip
            for record in fan_out(item):
                yield SourceRow(None, record)
            ts_us += max(1, round(rng.exponential(self.interval_secs) * 1_000_000))

    @staticmethod
    def _mention(symbol: str, style: int) -> str:
        name = COMPANY_NAMES.get(symbol, symbol)
        return (name, f"{name} ({symbol})", symbol)[style]


class StdinNewsSource(JsonlNewsSource):
    """News items as JSON lines on standard input (the `jsonl:` format), until end of input."""

    def __init__(self, *, clock: Clock, stream: IO[str] | None = None) -> None:
        super().__init__("<stdin>", clock=clock)
        self._stream = stream

    def open(self) -> IO[str]:
        """Return standard input (or the given stream) as UTF-8 text."""
        return self._stream or io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig")


_SCHEMES = ("jsonl:PATH", "synthetic[:k=v,...]", "stdin", "rss:URL#symbols=...")


def parse_news_source(spec: str, *, clock: Clock, state_dir: Path | None = None) -> NewsSource:
    """Return the news source SPEC names; SourceError if unknown or the file is unusable.

    STATE_DIR holds what live feeds remember across restarts (the ids they published);
    None: they remember nothing.
    """
    scheme, _, rest = spec.partition(":")
    if scheme == "jsonl" and rest:
        source = JsonlNewsSource(rest, clock=clock)
        source.open().close()  # an unusable file fails here, not mid-publish
        return source
    if scheme == "stdin" and not rest:
        return StdinNewsSource(clock=clock)
    if scheme == "rss" and rest:
        return _feed_source(spec, rest, clock=clock, state_dir=state_dir)
    if scheme == "synthetic":
        return SyntheticNewsSource.from_options(parse_options(spec, rest), clock=clock, spec=spec)
    raise SourceError(spec, f"unknown news source; expected one of {', '.join(_SCHEMES)}")


def _feed_source(spec: str, rest: str, *, clock: Clock, state_dir: Path | None) -> NewsSource:
    # Imported here: feedparser and httpx load only when a feed is asked for.
    from producers.news.feeds import FeedNewsSource, parse_feed_spec
    from producers.news.seen import SeenIds, seen_path
    from producers.polling import PollSchedule

    options = parse_feed_spec(spec, rest)
    seen = SeenIds(None if state_dir is None else seen_path(state_dir, options.url))
    schedule = PollSchedule(options.poll_secs)
    return FeedNewsSource(options, clock=clock, seen=seen, schedule=schedule)
