"""Live RSS/Atom news against a local feed server: tagging, sentiment, dedup across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.exceptions import SourceError
from producers.news.feeds import FeedNewsSource, FeedOptions, mentioned, parse_feed_spec
from producers.news.seen import SeenIds, seen_path
from producers.news.sources import parse_news_source
from producers.polling import PollSchedule
from producers.rows import SourceRow
from producers.validation import ValidationLimits, validate_news
from tests.kit.feed_server import FakeFeed, FeedItem, atom, rss

NOW_US = 1_800_000_000_000_000
T1 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
ITEMS = [
    FeedItem("g-3", "Tesla shares crash after disastrous recall", "http://n.test/3",
             "<p>Regulators launch a <b>fraud</b> probe.</p>", T1),
    FeedItem(None, "AAPL and Microsoft rally on excellent earnings", "http://n.test/2", "", T1),
    FeedItem("g-1", "Weather: sunny in Paris", "http://n.test/1", "", T1),
]  # fmt: skip


@pytest.fixture
def feed() -> Iterator[FakeFeed]:
    with FakeFeed(rss("Test Wire", ITEMS)) as fake:
        yield fake


def source_of(
    url: str, state: Path | None, *, polls: int, match: str = "mention"
) -> FeedNewsSource:
    options = FeedOptions(url, ["AAPL", "MSFT", "TSLA"], match, 5.0)
    schedule = PollSchedule(5.0, polls=polls, sleep=lambda _s: None)
    seen = SeenIds(None if state is None else seen_path(state, url))
    return FeedNewsSource(options, clock=lambda: NOW_US, seen=seen, schedule=schedule)


def records(rows: list[SourceRow]) -> list[dict[str, object]]:
    return [row.record for row in rows if row.record is not None]


def test_items_are_tagged_scored_and_published_once(feed: FakeFeed, tmp_path: Path) -> None:
    rows = list(source_of(feed.url, tmp_path, polls=3).records())

    got = [(r["symbol"], r["headline"]) for r in records(rows)]
    assert got == [
        ("AAPL", "AAPL and Microsoft rally on excellent earnings"),
        ("MSFT", "AAPL and Microsoft rally on excellent earnings"),
        ("TSLA", "Tesla shares crash after disastrous recall"),
    ]
    tesla = records(rows)[2]
    assert tesla["body"] == "Regulators launch a fraud probe."
    assert tesla["source"] == "Test Wire"
    assert tesla["url"] == "http://n.test/3"
    assert tesla["ts_event_us"] == int(T1.timestamp()) * 1_000_000
    assert tesla["sentiment"]["compound"] < -0.3  # type: ignore[index]
    assert records(rows)[0]["sentiment"]["compound"] > 0.3  # type: ignore[index]
    assert records(rows)[0]["id"] == records(rows)[1]["id"] != tesla["id"]
    for record in records(rows):
        validate_news(record, now_us=NOW_US, limits=ValidationLimits())
    assert feed.answers == [200, 304, 304]  # the ETag came back: unchanged polls cost nothing


def test_a_restart_does_not_publish_seen_items_again(feed: FakeFeed, tmp_path: Path) -> None:
    first = records(list(source_of(feed.url, tmp_path, polls=1).records()))
    feed.body = rss("Test Wire", [FeedItem("g-4", "MSFT beats estimates", "http://n.test/4"),
                                  *ITEMS])  # fmt: skip

    second = records(list(source_of(feed.url, tmp_path, polls=1).records()))
    forgetful = records(list(source_of(feed.url, None, polls=1).records()))

    assert len(first) == 3
    assert [r["headline"] for r in second] == ["MSFT beats estimates"]
    assert len(forgetful) == 4  # without the state file every item is new again
    assert seen_path(tmp_path, feed.url).exists()


def test_atom_and_match_all(tmp_path: Path) -> None:
    items = [FeedItem("urn:a", "Quarterly results next week", "http://n.test/a")]
    with FakeFeed(atom("Company blog", items)) as fake:
        rows = list(source_of(fake.url, tmp_path, polls=1, match="all").records())

    assert [r["symbol"] for r in records(rows)] == ["AAPL", "MSFT", "TSLA"]
    assert (
        records(rows)[0]["ts_event_us"] == int(datetime(2024, 1, 2, tzinfo=UTC).timestamp()) * 10**6
    )


def test_a_failing_first_fetch_is_one_error_and_later_ones_are_retried(
    feed: FakeFeed, tmp_path: Path
) -> None:
    feed.statuses = [404]
    with pytest.raises(SourceError, match="HTTP 404"):
        list(source_of(feed.url, tmp_path, polls=2).records())

    feed.statuses = [200, 503]
    feed.body = rss("Test Wire", ITEMS)
    rows = list(source_of(feed.url, tmp_path / "b", polls=3).records())

    assert len(records(rows)) == 3
    assert feed.answers[-3:] == [200, 503, 304]


def test_a_page_that_is_not_a_feed_fails_at_once(tmp_path: Path) -> None:
    with (
        FakeFeed(b"<html><body>hello</body></html") as fake,
        pytest.raises(SourceError, match="not an RSS or Atom feed"),
    ):
        list(source_of(fake.url, tmp_path, polls=1).records())


def test_mentions() -> None:
    text = "Apple and $TSLA rise; AAPLX is another fund; BRK.A flat"
    assert mentioned(text, ["AAPL", "TSLA", "MSFT"]) == ["AAPL", "TSLA"]
    assert mentioned("AAPLX only", ["AAPL"]) == []


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("rss:ftp://x#symbols=A", "expected rss:http"),
        ("rss:http://x", "name the symbols"),
        ("rss:http://x#symbols=A,poll_secs=1", "at least 5"),
        ("rss:http://x#symbols=A,match=some", "match must be"),
    ],
)
def test_bad_feed_specs(spec: str, problem: str) -> None:
    with pytest.raises(SourceError, match=problem):
        parse_news_source(spec, clock=lambda: NOW_US)


def test_feed_spec_options() -> None:
    options = parse_feed_spec("rss:...", "https://x.test/f?a=1#symbols=aapl,MSFT,poll_secs=30")
    assert (options.url, options.symbols, options.poll_secs) == (
        "https://x.test/f?a=1",
        ("AAPL", "MSFT"),
        30.0,
    )


def test_seen_ids_stay_bounded(tmp_path: Path) -> None:
    seen = SeenIds(tmp_path / "s.json", capacity=3)
    seen.add(["a", "b", "c", "d"])
    seen.save()

    again = SeenIds(tmp_path / "s.json", capacity=3)

    assert ("a" in again, "d" in again, len(again)) == (False, True, 3)
