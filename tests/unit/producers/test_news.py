"""News: VADER scoring, fan-out per symbol, the JSONL reader and the synthetic headlines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from producers.exceptions import SourceError, ValidationError
from producers.news.sentiment import score, score_news
from producers.news.sources import (
    SAMPLE_NEWS_JSONL,
    SyntheticNewsSource,
    fan_out,
    news_id,
    parse_news_source,
)
from producers.validation import ValidationLimits, validate_news
from tests.kit import stubs

NOW_US = 1_800_000_000_000_000  # 2027: every sample and synthetic item is before it


def _clock() -> int:
    return NOW_US


def _item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "symbols": ["AAPL", "MSFT", "GOOG"],
        "headline": "Apple, Microsoft and Alphabet rally on strong earnings",
        "source": "test-wire",
        "ts_event_us": stubs.T0_US,
        "ts_ingest_us": stubs.T0_US + 150,
    }
    return item | overrides


def test_vader_scores_obvious_headlines() -> None:
    good = score("Apple posts record profit, shares soar as investors cheer strong growth")
    bad = score("Tesla shares crash after disastrous earnings miss and fraud probe")
    plain = score("Microsoft to hold annual meeting on Thursday")

    assert good["compound"] > 0.3
    assert good["positive"] > good["negative"]
    assert bad["compound"] < -0.3
    assert bad["negative"] > bad["positive"]
    assert plain == {"compound": 0.0, "positive": 0.0, "neutral": 1.0, "negative": 0.0}


def test_the_body_counts_toward_the_score() -> None:
    headline = "Amazon to hold annual meeting on Thursday"

    assert score_news(headline)["compound"] == 0.0
    assert score_news(headline, "Profits collapsed and the outlook is terrible.")["compound"] < -0.3


def test_fan_out_gives_one_record_per_symbol_with_one_id() -> None:
    records = fan_out(_item())

    assert [r["symbol"] for r in records] == ["AAPL", "MSFT", "GOOG"]
    assert len({r["id"] for r in records}) == 1
    assert all(r["symbols"] == ["AAPL", "MSFT", "GOOG"] for r in records)
    assert all(r["sentiment"]["compound"] > 0.3 for r in records)
    records[0]["sentiment"]["compound"] = 0.0  # copies do not share mutable parts
    assert records[1]["sentiment"]["compound"] > 0.3
    for record in records:
        validate_news(record, now_us=NOW_US, limits=ValidationLimits())


def test_fan_out_ids_are_deterministic_and_kept_when_given() -> None:
    first, again = fan_out(_item())[0]["id"], fan_out(_item())[0]["id"]
    later = fan_out(_item(ts_event_us=stubs.T0_US + 1))[0]["id"]

    assert first == again == news_id("test-wire", _item()["headline"], stubs.T0_US)
    assert later != first
    assert fan_out(_item(id="n-42"))[0]["id"] == "n-42"


def test_fan_out_drops_repeated_symbols_and_refuses_none() -> None:
    assert [r["symbol"] for r in fan_out(_item(symbols=["AAPL", "AAPL"]))] == ["AAPL"]
    with pytest.raises(ValidationError, match="symbols is empty"):
        fan_out(_item(symbols=[]))


def _jsonl(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _line(**fields: Any) -> str:
    obj = {"headline": "Apple wins award", "source": "wire", "symbols": ["AAPL"],
           "ts": "2024-01-02T14:30:00Z"} | fields  # fmt: skip
    return json.dumps({k: v for k, v in obj.items() if v is not ...})


def test_jsonl_bad_lines_become_error_rows_naming_the_line(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "news.jsonl",
        _line(symbols=["AAPL", "MSFT"]),
        "{not json",
        "",
        _line(headline=...),
        _line(symbols="AAPL"),
        '["a", "list"]',
        _line(ts="2024-01-02 14:30"),
        _line(ts=1_704_205_800, id=7, body="Details.", url="https://example.com/a"),
        _line(symbols=[]),
    )

    rows = list(parse_news_source(f"jsonl:{path}", clock=_clock).records())

    assert [(r.row, r.error) for r in rows if r.error] == [
        (2, "not valid JSON (Expecting property name enclosed in double quotes at column 2)"),
        (4, "headline is missing"),
        (5, "symbols must be a list, not str"),
        (6, "expected a JSON object, got list"),
        (7, "ts '2024-01-02 14:30' has no time zone"),
        (9, "symbols is empty"),
    ]
    good = [(r.row, r.record) for r in rows if r.record]
    assert [(row, rec["symbol"]) for row, rec in good] == [(1, "AAPL"), (1, "MSFT"), (8, "AAPL")]
    last = good[-1][1]
    assert (last["id"], last["ts_event_us"], last["body"], last["url"]) == (
        "7", stubs.T0_US, "Details.", "https://example.com/a",
    )  # fmt: skip
    assert last["ts_ingest_us"] == NOW_US


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("jsonl:/no/such/news.jsonl", "does not exist"),
        ("rss:https://example.com", "name the symbols the feed is about"),
        ("atom:https://example.com", "expected one of jsonl:PATH, synthetic[:k=v,...]"),
        ("synthetic:count=many", "invalid literal"),
        ("synthetic:tone=happy", "unknown option(s) tone"),
    ],
)
def test_unusable_news_specs_are_source_errors(spec: str, problem: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_news_source(spec, clock=_clock)

    assert problem in str(caught.value)


def test_bundled_sample_news_is_valid_and_mixed() -> None:
    rows = list(parse_news_source(f"jsonl:{SAMPLE_NEWS_JSONL}", clock=_clock).records())

    assert all(r.error is None for r in rows)
    records = [r.record or {} for r in rows]
    assert len({r["id"] for r in records}) == 30
    for record in records:
        validate_news(record, now_us=NOW_US, limits=ValidationLimits())
    compounds = [r["sentiment"]["compound"] for r in records]
    assert min(compounds) < -0.3
    assert max(compounds) > 0.3


def test_synthetic_news_is_seeded_mixed_and_valid() -> None:
    source = SyntheticNewsSource(clock=_clock, symbols=("AAPL", "MSFT", "TSLA"), seed=5, count=200)

    records = [row.record or {} for row in source.records()]

    assert records == [row.record for row in source.records()]
    assert len(records) == source.total
    by_id: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        validate_news(record, now_us=NOW_US, limits=ValidationLimits())
        by_id.setdefault(record["id"], []).append(record)
    assert len(by_id) == 200
    assert {len(copies) for copies in by_id.values()} == {1, 2, 3}
    compounds = [r["sentiment"]["compound"] for r in records]
    assert min(compounds) < -0.3
    assert max(compounds) > 0.3
    assert 0.0 in compounds
    times = [r["ts_event_us"] for r in records]
    assert times == sorted(times)
    assert len(set(times)) == 200
    names = " ".join(r["headline"] for r in records)
    assert "Tesla" in names
    assert "(TSLA)" in names


def test_synthetic_news_spec() -> None:
    source = parse_news_source("synthetic:symbols=AAPL,MSFT,seed=1,count=10,interval_secs=5",
                               clock=_clock)  # fmt: skip

    records = [row.record or {} for row in source.records()]

    assert len({r["id"] for r in records}) == 10
    assert {r["symbol"] for r in records} <= {"AAPL", "MSFT"}
