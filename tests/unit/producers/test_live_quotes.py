"""Live E*TRADE quotes through the adapter's OAuth session against the fake E*TRADE server."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from infra.clock import ManualClock
from producers.exceptions import FeedUnavailableError, SourceError
from producers.market.etrade import ETradeQuoteSource, parse_quotes, parse_symbols_spec
from producers.market.stdin import StdinMarketSource, stdin_source
from producers.polling import PollSchedule, until_interrupted
from producers.validation import ValidationLimits, validate_quote
from streams.execution.etrade_session import ETradeConfig, ETradeSession
from tests.kit.etrade_server import FakeETrade, server_error

T0_US = 1_704_205_800_000_000  # 2024-01-02 14:30 UTC
T0_SECS = T0_US // 1_000_000


@pytest.fixture
def server() -> Iterator[FakeETrade]:
    with FakeETrade() as fake:
        yield fake


def session_of(server: FakeETrade, clock: ManualClock) -> ETradeSession:
    config = ETradeConfig(
        consumer_key=SecretStr("quotes-consumer-key"), consumer_secret=SecretStr("quotes-cs"),
        access_token=SecretStr("quotes-access-token"), access_token_secret=SecretStr("quotes-ats"),
        account_id_key="-", base_url=server.url, timeout_secs=5.0,
    )  # fmt: skip
    return ETradeSession(config, clock=clock)


def quote(bid: float, ask: float, *, at: int = T0_SECS, last: float = 100.0) -> dict[str, float]:
    return {"bid": bid, "ask": ask, "bidSize": 100, "askSize": 200, "lastTrade": last,
            "dateTimeUTC": at}  # fmt: skip


class Script:
    """Between polls, apply the next change to the fake (what the market did meanwhile)."""

    def __init__(self, server: FakeETrade, changes: list[dict[str, dict[str, float]]]) -> None:
        self.server, self.changes = server, changes

    def __call__(self, _secs: float) -> None:
        for symbol, fields in self.changes.pop(0).items():
            self.server.set_quote(symbol, **fields)


def test_quotes_are_polled_deduplicated_and_bad_ones_rejected(server: FakeETrade) -> None:
    clock = ManualClock(T0_US + 500)
    session = session_of(server, clock)
    server.set_quote("AAPL", **quote(185.0, 185.1))
    server.set_quote("MSFT", **quote(370.0, 370.2))
    changes = [
        {"AAPL": quote(185.0, 185.1, at=T0_SECS + 1)},  # re-stamped, same prices: a repeat
        {"AAPL": quote(185.2, 185.3, at=T0_SECS + 2), "MSFT": quote(371.0, 370.0)},  # crossed
    ]
    schedule = PollSchedule(0.25, polls=3, now=lambda: 0.0, sleep=Script(server, changes))
    source = ETradeQuoteSource(
        session.quotes, ["AAPL", "MSFT", "XYZ"], clock=clock, schedule=schedule
    )

    rows = list(source.records())

    records = [row.record for row in rows if row.record is not None]
    assert [(r["symbol"], r["bid"], r["seq"]) for r in records] == [
        ("AAPL", 185.0, 0), ("MSFT", 370.0, 0), ("AAPL", 185.2, 1), ("MSFT", 371.0, 1),
    ]  # fmt: skip
    assert records[0]["ts_event_us"] == T0_US
    assert records[0]["ask_size"] == 200.0
    assert source.repeats == 2  # MSFT on poll 1, AAPL re-stamped on poll 1
    errors = [row.error for row in rows if row.error is not None]
    assert errors == ["E*TRADE message 10033: XYZ is not a valid symbol."] * 3
    limits = ValidationLimits()
    with pytest.raises(ValueError, match=r"crossed|bid"):
        validate_quote(records[3], now_us=T0_US + 1_000_000, limits=limits)
    validate_quote(records[2], now_us=T0_US + 3_000_000, limits=limits)
    quote_requests = [r for r in server.requests if r.endpoint == "quote"]
    assert len(quote_requests) == 3
    assert quote_requests[0].path == "/v1/market/quote/AAPL,MSFT,XYZ.json"
    assert 'oauth_token="quotes-access-token"' in quote_requests[0].headers["Authorization"]


def test_more_than_25_symbols_take_several_requests(server: FakeETrade) -> None:
    symbols = [f"S{n:02d}" for n in range(30)]
    for symbol in symbols:
        server.set_quote(symbol, **quote(10.0, 10.1))
    clock = ManualClock(T0_US)
    source = ETradeQuoteSource(
        session_of(server, clock).quotes, symbols, clock=clock,
        schedule=PollSchedule(1.0, polls=1),
    )  # fmt: skip

    rows = list(source.records())

    assert sorted(row.record["symbol"] for row in rows if row.record) == symbols
    paths = [r.path for r in server.requests if r.endpoint == "quote"]
    assert [p.count(",") + 1 for p in paths] == [25, 5]


def test_an_unavailable_feed_is_retried_on_the_next_poll(server: FakeETrade) -> None:
    server.set_quote("AAPL", **quote(185.0, 185.1))
    server.script("quote", server_error())
    clock = ManualClock(T0_US)
    session = session_of(server, clock)

    def fetch(symbols: list[str]) -> dict[str, object]:
        try:
            return session.quotes(symbols)
        except Exception as err:
            raise FeedUnavailableError(str(err)) from None

    source = ETradeQuoteSource(
        fetch, ["AAPL"], clock=clock, schedule=PollSchedule(1.0, polls=2, sleep=lambda _s: None)
    )

    rows = list(source.records())

    assert [row.record["bid"] for row in rows if row.record] == [185.0]


def test_parse_quotes_names_what_is_missing() -> None:
    body = {"QuoteResponse": {"QuoteData": [
        {"dateTimeUTC": T0_SECS, "All": {"bid": "x", "ask": 1.0, "bidSize": 1, "askSize": 1},
         "Product": {"symbol": "AAPL"}},
        {"dateTimeUTC": T0_SECS, "All": {"ask": 1.0, "bidSize": 1, "askSize": 1},
         "Product": {"symbol": "MSFT"}},
        {"All": {"bid": 1.0, "ask": 1.0, "bidSize": 1, "askSize": 1},
         "Product": {"symbol": "GOOG"}},
        {"dateTimeUTC": T0_SECS, "Product": {"symbol": "TSLA"}},
    ]}}  # fmt: skip

    rows = parse_quotes(body, ingest_us=T0_US)

    assert [row.error for row in rows] == [
        "AAPL: bid 'x' is not a number",
        "MSFT: bid is missing",
        "GOOG: dateTimeUTC is missing",
        "TSLA: quote without an All block",
    ]


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("AAPL,msft", (["AAPL", "MSFT"], 1.0)),
        ("AAPL,MSFT,poll_secs=2.5", (["AAPL", "MSFT"], 2.5)),
        ("symbols=GOOG,poll_secs=0.25", (["GOOG"], 0.25)),
        ("ABC,XYZ,poll_secs=0.3", (["ABC", "XYZ"], 0.3)),
    ],
)
def test_etrade_spec(rest: str, expected: tuple[list[str], float]) -> None:
    assert parse_symbols_spec(f"etrade:{rest}", rest) == expected


@pytest.mark.parametrize(
    ("rest", "problem"),
    [("", "at least one symbol"), ("AAPL,poll_secs=0.1", "at least 0.25"),
     ("AAPL,every=3", "unknown option"),
     # 30 symbols take 2 requests a poll: 0.25 s would be 8 requests a second
     (",".join(f"S{i}" for i in range(30)) + ",poll_secs=0.25", "at least 0.5 for 30 symbols")],
)  # fmt: skip
def test_bad_etrade_specs_fail_with_one_line(rest: str, problem: str) -> None:
    with pytest.raises(SourceError, match=problem):
        parse_symbols_spec(f"etrade:{rest}", rest)


def test_poll_schedule_keeps_the_interval_from_start_to_start() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(secs: float) -> None:
        slept.append(secs)
        now[0] += secs

    schedule = PollSchedule(2.0, polls=3, now=lambda: now[0], sleep=sleep)
    for _ in schedule:
        now[0] += 0.5  # the poll's own work

    assert slept == [1.5, 1.5]


def test_until_interrupted_ends_the_rows_at_ctrl_c() -> None:
    def rows() -> Iterator[int]:
        yield 1
        yield 2
        raise KeyboardInterrupt

    assert list(until_interrupted(rows())) == [1, 2]


def test_stdin_quotes_are_json_lines_with_error_rows() -> None:
    lines = "\n".join([
        '{"symbol": "AAPL", "ts": "2024-01-02T14:30:00Z", "bid": 185.0, "ask": 185.1,'
        ' "bid_size": 100, "ask_size": 200}',
        "not json",
        '{"symbol": "AAPL", "ts": 1704205801, "bid": "185.2", "ask": 185.3, "bid_size": 1,'
        ' "ask_size": 2, "last": 185.25}',
        '{"symbol": "MSFT", "ts": "2024-01-02T14:30:00Z", "bid": 1}',
        "[1, 2]",
        "",
    ])  # fmt: skip
    source = StdinMarketSource("quote", clock=lambda: T0_US, stream=io.StringIO(lines))

    rows = list(source.records())

    assert [row.row for row in rows] == [1, 2, 3, 4, 5]
    first, third = rows[0].record, rows[2].record
    assert first is not None
    assert third is not None
    assert (first["ts_event_us"], first["seq"], first["last"]) == (T0_US, 0, None)
    assert (third["bid"], third["seq"], third["last"]) == (185.2, 1, 185.25)
    assert rows[1].error is not None
    assert rows[1].error.startswith("not valid JSON")
    assert rows[3].error == "ask is missing"
    assert rows[4].error == "expected a JSON object, got list"


def test_stdin_bars_and_bad_options() -> None:
    line = ('{"Symbol": "GOOG", "ts": 1704205800, "open": 1, "high": 2, "low": 0.5,'
            ' "close": 1.5, "volume": 10, "interval_secs": 60}\n')  # fmt: skip
    bars = StdinMarketSource("bar", clock=lambda: T0_US, stream=io.StringIO(line))

    (row,) = list(bars.records())

    assert row.record is not None
    assert row.record["interval_secs"] == 60
    assert math.isclose(row.record["close"], 1.5)
    assert stdin_source("kind=bar", clock=lambda: T0_US, spec="stdin:kind=bar").kind == "bar"
    with pytest.raises(SourceError, match="kind must be"):
        stdin_source("kind=tick", clock=lambda: T0_US, spec="stdin:kind=tick")
