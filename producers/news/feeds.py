"""Live RSS and Atom news: poll a feed, tag items with the symbols they mention, publish new ones.

`rss:URL[#k=v,...]` (options after `#`, which is never sent to the server):

| option    | default  | meaning                                                        |
| --------- | -------- | -------------------------------------------------------------- |
| symbols   | required | the symbols to look for, e.g. `symbols=AAPL,MSFT`              |
| match     | mention  | `mention`: an item gets the symbols it names (ticker as a word, |
|           |          | `$TICKER`, or the company's name); `all`: every item gets all   |
|           |          | of them (a feed about one company)                             |
| poll_secs | 60       | seconds between polls (at least 5: feeds are not a tick stream) |

Items that mention none of the symbols are skipped (not bad data, just not ours).
feedparser reads RSS 0.9x/1.0/2.0 and Atom; httpx fetches, with the feed's ETag and
Last-Modified sent back, so an unchanged feed answers 304 and costs nothing.

- **id**: a hash of the entry's `id` (guid), else its link, else source/title/time, so
  the same item keeps its id across polls and restarts; ids already published are
  skipped, remembered in a state file under PRIMESTREAM_HOME (`producers.news.seen`).
- **time**: `published`, else `updated`, else the fetch time (some feeds carry none).
- **text**: title as headline, the summary without HTML as body (first 1,000 chars).
- **failures**: the first fetch failing ends the source at once (a wrong URL should
  not look like a quiet feed); later failures are logged and the next poll retries.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import feedparser  # type: ignore[import-untyped]  # ships no type information
import httpx

from infra.clock import Clock
from producers.exceptions import FeedUnavailableError, SourceError
from producers.market.base import parse_options
from producers.news.items import COMPANY_NAMES, fan_out, news_id
from producers.news.seen import SeenIds
from producers.polling import PollSchedule
from producers.rows import SourceRow

__all__ = ["MIN_FEED_POLL_SECS", "FeedNewsSource", "FeedOptions", "mentioned", "parse_feed_spec"]

log = logging.getLogger(__name__)

MIN_FEED_POLL_SECS = 5.0
_BODY_CHARS = 1_000
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


class FeedOptions:
    """What an `rss:` spec asks for: the URL, the symbols, how to match, how often."""

    def __init__(self, url: str, symbols: Sequence[str], match: str, poll_secs: float) -> None:
        self.url = url
        self.symbols = tuple(symbols)
        self.match = match
        self.poll_secs = poll_secs


def parse_feed_spec(spec: str, rest: str) -> FeedOptions:
    """Return the options of an `rss:` spec's REST (`URL#k=v,...`); SourceError if bad."""
    url, _, text = rest.partition("#")
    if not url.startswith(("http://", "https://")):
        raise SourceError(spec, "expected rss:http(s)://...#symbols=AAPL,MSFT")
    options = parse_options(spec, text)
    unknown = set(options) - {"symbols", "match", "poll_secs"}
    if unknown:
        raise SourceError(spec, f"unknown option(s) {', '.join(sorted(unknown))}")
    symbols = [s.strip().upper() for s in options.get("symbols", "").split(",") if s.strip()]
    if not symbols:
        raise SourceError(spec, "name the symbols the feed is about: #symbols=AAPL,MSFT")
    match = options.get("match", "mention")
    if match not in ("mention", "all"):
        raise SourceError(spec, f"match must be mention or all, not {match!r}")
    try:
        poll_secs = float(options.get("poll_secs", "60"))
    except ValueError:
        raise SourceError(spec, f"poll_secs {options['poll_secs']!r} is not a number") from None
    if not poll_secs >= MIN_FEED_POLL_SECS:
        raise SourceError(spec, f"poll_secs must be at least {MIN_FEED_POLL_SECS:g}")
    return FeedOptions(url, symbols, match, poll_secs)


def mentioned(text: str, symbols: Sequence[str]) -> list[str]:
    """Return the SYMBOLS that TEXT names: ticker as a word, `$TICKER`, or company name."""
    found = []
    for symbol in symbols:
        name = COMPANY_NAMES.get(symbol)
        if re.search(rf"(?<![\w.]){re.escape(symbol)}(?!\w)", text) or (
            name is not None and re.search(rf"\b{re.escape(name)}\b", text, re.I)
        ):
            found.append(symbol)
    return found


def _plain(text: str) -> str:
    return _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", text))).strip()


def _event_us(entry: Mapping[str, Any], fetched_us: int) -> int:
    for name in ("published_parsed", "updated_parsed"):
        moment = entry.get(name)
        if moment is not None:
            return calendar.timegm(moment) * 1_000_000
    return fetched_us


class FeedNewsSource:
    """New items of one RSS/Atom feed, poll after poll; see the module doc."""

    total: int | None = None

    def __init__(
        self,
        options: FeedOptions,
        *,
        clock: Clock,
        seen: SeenIds,
        schedule: PollSchedule,
        timeout_secs: float = 10.0,
    ) -> None:
        self.options = options
        self._clock = clock
        self._seen = seen
        self._schedule = schedule
        self._timeout_secs = timeout_secs
        self._validators: dict[str, str] = {}

    def records(self) -> Iterator[SourceRow]:
        """Yield the records of items not published before; never ends by itself."""
        with httpx.Client(timeout=self._timeout_secs, follow_redirects=True) as client:
            try:
                for number in self._schedule:
                    try:
                        content = self._fetch(client)
                    except FeedUnavailableError as err:
                        if number == 0:
                            raise SourceError(self.options.url, str(err)) from None
                        log.warning("feed unavailable, next poll retries: %s", err)
                        continue
                    if content is not None:
                        yield from self._items(content, first=number == 0)
                    self._seen.save()
            finally:
                self._seen.save()

    def _fetch(self, client: httpx.Client) -> bytes | None:
        """Return the feed's bytes, None when unchanged (304); FeedUnavailableError if not."""
        try:
            response = client.get(self.options.url, headers=self._validators)
        except httpx.HTTPError as err:
            raise FeedUnavailableError(f"{type(err).__name__}: {err}") from None
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise FeedUnavailableError(f"HTTP {response.status_code} from {self.options.url}")
        self._validators = {
            header: response.headers[source]
            for header, source in (
                ("If-None-Match", "ETag"),
                ("If-Modified-Since", "Last-Modified"),
            )
            if source in response.headers
        }
        return response.content

    def _items(self, content: bytes, *, first: bool) -> Iterator[SourceRow]:
        parsed = feedparser.parse(content)
        if parsed.get("bozo") and not parsed.entries and first:
            reason = parsed.get("bozo_exception") or "no entries"
            raise SourceError(self.options.url, f"is not an RSS or Atom feed ({reason})")
        source = _plain(parsed.feed.get("title") or "") or self.options.url
        fetched_us = self._clock()
        for entry in reversed(parsed.entries):  # feeds list newest first: publish oldest first
            key = str(entry.get("id") or entry.get("link") or "")
            headline = _plain(entry.get("title") or "")
            ts_event_us = _event_us(entry, fetched_us)
            item_id = (
                hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
                if key
                else (news_id(source, headline, ts_event_us))
            )
            if item_id in self._seen:
                continue
            self._seen.add([item_id])
            yield from self._rows(entry, item_id, source, headline, ts_event_us, fetched_us)

    def _rows(
        self,
        entry: Mapping[str, Any],
        item_id: str,
        source: str,
        headline: str,
        ts_event_us: int,
        fetched_us: int,
    ) -> Iterator[SourceRow]:
        body = _plain(entry.get("summary") or "")[:_BODY_CHARS] or None
        symbols = list(self.options.symbols)
        if self.options.match == "mention":
            symbols = mentioned(f"{headline}\n{body or ''}", symbols)
            if not symbols:
                return
        if not headline:
            yield SourceRow(None, error=f"headline missing in item {entry.get('link') or item_id}")
            return
        item = {
            "id": item_id, "symbols": symbols, "headline": headline, "body": body,
            "source": source, "url": entry.get("link"), "ts_event_us": ts_event_us,
            "ts_ingest_us": fetched_us,
        }  # fmt: skip
        for record in fan_out(item):
            yield SourceRow(None, record)
