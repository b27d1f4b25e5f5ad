"""Live sources into Kafka: E*TRADE quotes, an RSS feed, stdin; Ctrl-C ends each cleanly."""

from __future__ import annotations

import signal
import subprocess

import pytest

from tests.integration.conftest import Scope
from tests.kit.etrade_server import FakeETrade
from tests.kit.feed_server import FakeFeed, FeedItem, rss
from tests.kit.topics import read_topic
from tests.kit.waiting import eventually
from tests.kit.worker import CLI

pytestmark = pytest.mark.integration

T0_SECS = 1_704_205_800  # 2024-01-02 14:30 UTC


def _start(
    scope: Scope, env: dict[str, str], *args: str, stdin: int | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, *args], env={**scope.env, **env}, stdin=stdin,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _interrupt(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def _values(scope: Scope, topic: str) -> list[dict[str, object]]:
    return [
        r.value for r in read_topic(scope.runtime, scope.topic(topic), idle_secs=1.5) if r.value
    ]


def test_etrade_quotes_are_polled_deduplicated_validated_until_ctrl_c(scope: Scope) -> None:
    with FakeETrade() as fake:
        fake.set_quote("AAPL", bid=185.0, ask=185.1, bidSize=100, askSize=200, lastTrade=185.05,
                       dateTimeUTC=T0_SECS)  # fmt: skip
        fake.set_quote("MSFT", bid=371.0, ask=370.0, bidSize=1, askSize=1, dateTimeUTC=T0_SECS)
        env = {
            "PRIMESTREAM_ETRADE_CONSUMER_KEY": "live-src-consumer-key",
            "PRIMESTREAM_ETRADE_CONSUMER_SECRET": "live-src-consumer-secret",
            "PRIMESTREAM_ETRADE_ACCESS_TOKEN": "live-src-access-token",
            "PRIMESTREAM_ETRADE_ACCESS_TOKEN_SECRET": "live-src-access-secret",
            "PRIMESTREAM_ETRADE_BASE_URL": fake.url,
        }
        spec = "etrade:AAPL,MSFT,NOPE,poll_secs=0.25"
        process = _start(scope, env, "produce", "market", "--source", spec)
        quotes = lambda: sum(r.endpoint == "quote" for r in fake.requests)  # noqa: E731
        eventually(lambda: quotes() >= 2, timeout=60, message="two polls")
        fake.set_quote("AAPL", bid=185.2, ask=185.3, bidSize=100, askSize=200, lastTrade=185.25,
                       dateTimeUTC=T0_SECS + 1)  # fmt: skip
        seen = quotes()
        eventually(lambda: quotes() >= seen + 2, timeout=60, message="the new quote polled")
        code, out, err = _interrupt(process)

    assert code == 1, err  # some quotes were rejected: 1, as for a file with bad rows
    published = _values(scope, "market.quotes")
    assert [(q["symbol"], q["bid"], q["seq"]) for q in published] == [
        ("AAPL", 185.0, 0), ("AAPL", 185.2, 1),
    ]  # fmt: skip
    assert "rejected record: E*TRADE message 10033: NOPE is not a valid symbol." in err
    assert "rejected record: bid 371.0 > ask 370.0 (crossed)" in err
    assert "Traceback" not in err
    assert "produced to" in out


def test_rss_items_reach_news_items_once_across_restarts(scope: Scope) -> None:
    items = [FeedItem("a-1", "Tesla shares crash after recall", "http://n.test/1"),
             FeedItem("a-2", "Apple beats estimates", "http://n.test/2")]  # fmt: skip
    with FakeFeed(rss("Wire", items)) as feed:
        spec = f"rss:{feed.url}#symbols=AAPL,TSLA,poll_secs=5"
        first = _start(scope, {}, "produce", "news", "--source", spec)
        eventually(lambda: len(_values(scope, "news.items")) == 2, timeout=60, message="2 items")
        assert _interrupt(first)[0] == 0
        feed.body = rss("Wire", [FeedItem("a-3", "AAPL falls", "http://n.test/3"), *items])
        second = _start(scope, {}, "produce", "news", "--source", spec)
        eventually(lambda: len(_values(scope, "news.items")) >= 3, timeout=60, message="item 3")
        code, _out, err = _interrupt(second)

    assert code == 0, err
    news = _values(scope, "news.items")
    assert sorted((n["symbol"], n["headline"]) for n in news) == [
        ("AAPL", "AAPL falls"), ("AAPL", "Apple beats estimates"),
        ("TSLA", "Tesla shares crash after recall"),
    ]  # fmt: skip
    assert all(isinstance(n["sentiment"]["compound"], float) for n in news)  # type: ignore[index]


def test_stdin_quotes_flow_until_ctrl_c_while_waiting_for_input(scope: Scope) -> None:
    sizes = '"bid_size": 1, "ask_size": 1'
    lines = [
        f'{{"symbol": "AAPL", "ts": "2024-01-02T14:30:00Z", "bid": 1, "ask": 1.1, {sizes}}}',
        "garbage",
        f'{{"symbol": "AAPL", "ts": "2024-01-02T14:30:01Z", "bid": 1.2, "ask": 1.3, {sizes}}}',
    ]
    process = _start(scope, {}, "produce", "market", "--source", "stdin", stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write("\n".join(lines) + "\n")
    process.stdin.flush()  # and leave it open: the command blocks reading the next line
    eventually(lambda: len(_values(scope, "market.quotes")) == 2, timeout=60, message="2 quotes")

    code, out, err = _interrupt(process)

    assert code == 1, err  # one line was rejected
    assert [q["bid"] for q in _values(scope, "market.quotes")] == [1.0, 1.2]
    assert "rejected row 2: not valid JSON" in err
    assert "produced to" in out
