"""Each producer's records arrive in Kafka decoded, keyed, with trace headers; bad rows never do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.integration.conftest import Scope
from tests.kit.topics import read_topic

pytestmark = pytest.mark.integration

_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$")


def test_synthetic_quotes_arrive_decoded_keyed_and_traced(scope: Scope) -> None:
    scope.cli(
        "produce", "market", "--source", "synthetic:symbols=AAPL,MSFT,GOOG,seed=7", "--max", "300"
    )

    received = read_topic(scope.runtime, scope.topic("market.quotes"))

    assert len(received) == 300
    assert {r.key for r in received} == {"AAPL", "MSFT", "GOOG"}
    assert all(r.value is not None and r.value["symbol"] == r.key for r in received)
    assert all(r.value["bid"] < r.value["ask"] for r in received if r.value)
    assert all(_TRACEPARENT.match(r.headers["traceparent"]) for r in received)


def test_tail_prints_decoded_quotes_as_table_and_json(scope: Scope) -> None:
    scope.cli("produce", "market", "--source", "synthetic:symbols=AAPL,seed=1", "--max", "25")

    table = scope.cli("tail", "market.quotes", "--from-beginning", "--max", "5")
    lines = scope.cli("tail", "market.quotes", "--from-beginning", "--max", "25", "-o", "json")

    assert table.stdout.count("AAPL") == 5
    assert "bid" in table.stdout
    docs = [json.loads(line) for line in lines.stdout.splitlines() if line.startswith("{")]
    assert len(docs) == 25
    assert all(
        d["value"]["symbol"] == "AAPL" and isinstance(d["value"]["ts_event_us"], int) for d in docs
    )


def test_tail_filters_by_key(scope: Scope) -> None:
    scope.cli("produce", "market", "--source", "synthetic:symbols=AAPL,MSFT,seed=2", "--max", "40")

    out = scope.cli(
        "tail", "market.quotes", "--from-beginning", "--key", "MSFT", "--max", "0", "-o", "json"
    )

    keys = [json.loads(line)["key"] for line in out.stdout.splitlines() if line.startswith("{")]
    assert keys == ["MSFT"] * 20


def test_sample_bars_from_the_backtesting_package(scope: Scope) -> None:
    from backtesting.test import GOOG

    scope.cli("produce", "market", "--source", "sample:GOOG")

    received = read_topic(scope.runtime, scope.topic("market.bars"))

    assert len(received) == len(GOOG)
    closes = sorted((r.value["ts_event_us"], r.value["close"]) for r in received if r.value)
    assert closes[0][1] == pytest.approx(float(GOOG["Close"].iloc[0]))
    assert closes[-1][1] == pytest.approx(float(GOOG["Close"].iloc[-1]))


def test_a_yahoo_style_file_with_symbol_publishes_the_sample_s_bars(
    scope: Scope, tmp_path: Path
) -> None:
    from backtesting.test import GOOG

    from producers.market.sample import SampleSource

    yahoo = GOOG.copy()
    yahoo.index.name = "Date"
    yahoo.insert(4, "Adj Close", yahoo["Close"])
    yahoo.to_csv(tmp_path / "GOOG.csv")

    scope.cli("produce", "market", "--source", f"csv:{tmp_path / 'GOOG.csv'}", "--symbol", "GOOG")

    received = sorted(
        (r.value["ts_event_us"], r.value["symbol"], r.value["close"])
        for r in read_topic(scope.runtime, scope.topic("market.bars"))
        if r.value
    )
    sample = [
        (r.record["ts_event_us"], r.record["symbol"], r.record["close"])
        for r in SampleSource.named("GOOG", clock=int).records()
        if r.record
    ]
    assert received == sample


def test_news_is_scored_and_fanned_out_per_symbol(scope: Scope) -> None:
    scope.cli(
        "produce", "news", "--source", "synthetic:symbols=AAPL,MSFT,TSLA,seed=5", "--max", "60"
    )

    received = read_topic(scope.runtime, scope.topic("news.items"))

    assert len(received) == 60
    by_id: dict[str, set[str]] = {}
    for r in received:
        assert r.value is not None
        assert r.key == r.value["symbol"]
        assert -1.0 <= r.value["sentiment"]["compound"] <= 1.0
        by_id.setdefault(r.value["id"], set()).add(r.value["symbol"])
    assert any(len(symbols) > 1 for symbols in by_id.values()), "some item mentions several symbols"
    compounds = [r.value["sentiment"]["compound"] for r in received if r.value]
    assert min(compounds) < -0.2 < 0.2 < max(compounds)


def test_news_from_jsonl_file(scope: Scope) -> None:
    scope.cli("produce", "news", "--source", "jsonl:producers/news/samples/news.jsonl")

    received = read_topic(scope.runtime, scope.topic("news.items"))

    assert received
    assert all(r.value and r.value["headline"] for r in received)


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("symbol,ts,bid,ask,bid_size,ask_size\n" + "\n".join(rows) + "\n")
    return path


def test_csv_with_a_nan_price_names_the_row_sends_only_valid_rows(
    scope: Scope, tmp_path: Path
) -> None:
    csv = _csv(
        tmp_path / "quotes.csv",
        [
            "AAPL,2024-01-02T14:30:00Z,185.20,185.22,300,500",
            "AAPL,2024-01-02T14:30:01Z,nan,185.23,300,500",
            "MSFT,2024-01-02T14:30:01Z,370.10,370.14,200,200",
        ],
    )

    done = scope.cli("produce", "market", "--source", f"csv:{csv}", check=False)

    assert done.returncode != 0
    reject_lines = [line for line in done.stderr.splitlines() if "rejected" in line]
    assert len(reject_lines) == 1
    assert "row 2" in reject_lines[0]
    assert "bid is NaN" in reject_lines[0]
    received = read_topic(scope.runtime, scope.topic("market.quotes"))
    assert sorted(r.key or "" for r in received) == ["AAPL", "MSFT"]
    assert all(r.value and r.value["bid"] == r.value["bid"] for r in received)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("symbol,when,price\nAAPL,1,2\n", "missing"),
    ],
)
def test_unusable_file_gives_one_line_and_nonzero_exit(
    scope: Scope, tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "input.csv"
    if content is not None:
        path.write_text(content)

    done = scope.cli("produce", "market", "--source", f"csv:{path}", check=False)

    assert done.returncode == 2
    error_lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1, done.stderr
    assert expected in error_lines[0].lower()
    assert "Traceback" not in done.stderr


def test_third_party_avro_deserializer_reads_our_quotes(scope: Scope) -> None:
    url = scope.settings.schema_registry_url
    assert url, "the integration suite runs with a schema registry"
    scope.cli("produce", "market", "--source", "synthetic:symbols=AAPL,seed=3", "--max", "10")
    topic = scope.topic("market.quotes")
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": url}))
    consumer = Consumer(
        {
            "bootstrap.servers": scope.settings.bootstrap_servers,
            "group.id": f"third-party-{scope.namespace}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    values = []
    try:
        while len(values) < 10:
            message = consumer.poll(15)
            assert message is not None, f"only {len(values)} records arrived"
            if message.error():
                continue
            values.append(
                deserialize(message.value(), SerializationContext(topic, MessageField.VALUE))
            )
    finally:
        consumer.close()

    assert {v["symbol"] for v in values} == {"AAPL"}
    assert all(v["bid"] < v["ask"] for v in values)
