"""Every validation rule accepts at its boundary, rejects just past it, and says why."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from infra.settings import Settings
from producers.exceptions import ValidationError
from producers.validation import ValidationLimits, validate, validate_bar, validate_quote
from tests.kit import stubs

NOW_US = stubs.T0_US + 1_000_000
LIMITS = ValidationLimits(max_future_secs=300.0, max_text_chars=4000)
_ACCEPT = None

# (kind, overrides of the stub record, expected reason or _ACCEPT)
_QUOTE_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("quote", {}, _ACCEPT),
    ("quote", {"bid": math.nan}, "bid is NaN"),
    ("quote", {"ask": math.inf}, "ask is infinite"),
    ("quote", {"ask": -math.inf}, "ask is infinite"),
    ("quote", {"bid": -1.5}, "bid -1.5 is negative"),
    ("quote", {"bid": 0.0}, "bid is zero"),
    ("quote", {"bid": 1e-9}, _ACCEPT),
    ("quote", {"bid": "185.2"}, "bid is not a number (str)"),
    ("quote", {"bid": True}, "bid is not a number (bool)"),
    ("quote", {"bid": None}, "bid is missing"),
    ("quote", {"last": None}, _ACCEPT),
    ("quote", {"last": 185.21}, _ACCEPT),
    ("quote", {"last": math.nan}, "last is NaN"),
    ("quote", {"last": 0.0}, "last is zero"),
    ("quote", {"bid": 185.22, "ask": 185.22}, _ACCEPT),  # locked is not crossed
    ("quote", {"bid": 101.5, "ask": 101.2}, "bid 101.5 > ask 101.2 (crossed)"),
    ("quote", {"bid_size": 1e-9}, _ACCEPT),
    ("quote", {"bid_size": 0.0}, "bid_size 0.0 is not positive"),
    ("quote", {"ask_size": -100.0}, "ask_size -100.0 is not positive"),
    ("quote", {"ask_size": math.nan}, "ask_size is NaN"),
    ("quote", {"seq": 0}, _ACCEPT),
    ("quote", {"seq": -1}, "seq -1 is negative"),
]

_SYMBOL_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("quote", {"symbol": ""}, "symbol is empty"),
    ("quote", {"symbol": "A"}, _ACCEPT),
    ("quote", {"symbol": "ABCDEFGHIJKL"}, _ACCEPT),
    ("quote", {"symbol": "ABCDEFGHIJKLM"}, "symbol 'ABCDEFGHIJKLM' is malformed"),
    ("quote", {"symbol": "BRK.B"}, _ACCEPT),
    ("quote", {"symbol": "BF-B"}, _ACCEPT),
    ("quote", {"symbol": "aapl"}, "symbol 'aapl' is malformed"),
    ("quote", {"symbol": "1AB"}, "symbol '1AB' is malformed"),
    ("quote", {"symbol": "AAPL\n"}, "symbol 'AAPL\\n' is malformed"),
    ("quote", {"symbol": None}, "symbol is missing"),
]

_TIME_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("quote", {"ts_event_us": NOW_US + 300_000_000, "ts_ingest_us": NOW_US}, _ACCEPT),
    (
        "quote",
        {"ts_event_us": NOW_US + 300_000_001},
        "ts_event_us is 300.000001 s in the future (limit 300 s)",
    ),
    (
        "quote",
        {"ts_event_us": NOW_US + 3_600_000_000},
        "ts_event_us is 3600 s in the future (limit 300 s)",
    ),
    (
        "quote",
        {"ts_ingest_us": NOW_US + 301_000_000},
        "ts_ingest_us is 301 s in the future (limit 300 s)",
    ),
    ("quote", {"ts_event_us": 1}, _ACCEPT),
    ("quote", {"ts_event_us": 0}, "ts_event_us 0 is not after the epoch"),
    ("quote", {"ts_event_us": -5}, "ts_event_us -5 is not after the epoch"),
    ("quote", {"ts_event_us": 1.7e15}, "ts_event_us is not an integer (float)"),
    ("quote", {"ts_ingest_us": None}, "ts_ingest_us is missing"),
]

_BAR_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    # the stub bar: open 139.0, high 141.5, low 138.0, close 140.0
    ("bar", {}, _ACCEPT),
    ("bar", {"high": 140.0}, _ACCEPT),
    ("bar", {"high": 139.99}, "high 139.99 < max(open, close) 140.0"),
    ("bar", {"low": 139.0}, _ACCEPT),
    ("bar", {"low": 139.01}, "low 139.01 > min(open, close) 139.0"),
    ("bar", {"open": 0.0}, "open is zero"),
    ("bar", {"open": 139.0, "high": 141.5, "low": 138.0, "close": math.nan}, "close is NaN"),
    ("bar", {"low": -1.0}, "low -1.0 is negative"),
    ("bar", {"volume": 0.0}, _ACCEPT),
    ("bar", {"volume": -1.0}, "volume -1.0 is negative"),
    ("bar", {"volume": math.nan}, "volume is NaN"),
    ("bar", {"interval_secs": 1}, _ACCEPT),
    ("bar", {"interval_secs": 0}, "interval_secs 0 is not positive"),
]


def _sentiment(compound: float, positive: float, neutral: float, negative: float) -> dict[str, Any]:
    return {"sentiment": {"compound": compound, "positive": positive, "neutral": neutral,
                          "negative": negative}}  # fmt: skip


_NEWS_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("news", {}, _ACCEPT),
    ("news", {"headline": ""}, "headline is empty"),
    ("news", {"headline": "   "}, "headline is empty"),
    ("news", {"headline": "x" * 4000}, _ACCEPT),
    ("news", {"headline": "x" * 4001}, "headline is 4001 chars (limit 4000)"),
    ("news", {"body": "x" * 4001}, "body is 4001 chars (limit 4000)"),
    ("news", {"body": None}, _ACCEPT),
    ("news", {"id": ""}, "id is empty"),
    ("news", {"source": None}, "source is missing"),
    ("news", {"symbols": ["MSFT"]}, "symbol 'AAPL' is not among symbols ['MSFT']"),
    ("news", {"symbols": ["AAPL", "msft"]}, "symbols[1] 'msft' is malformed"),
    ("news", _sentiment(1.0, 1.0, 0.0, 0.0), _ACCEPT),
    ("news", _sentiment(1.0000001, 0.5, 0.5, 0.0),
     "sentiment.compound 1.0000001 is out of range [-1, 1]"),
    ("news", _sentiment(-1.0, 0.0, 0.5, 0.5), _ACCEPT),
    ("news", _sentiment(0.0, 0.0, 1.0, -0.1), "sentiment.negative -0.1 is out of range [0, 1]"),
    ("news", _sentiment(math.nan, 0.0, 1.0, 0.0), "sentiment.compound is NaN"),
    ("news", {"sentiment": None}, "sentiment is missing"),
]  # fmt: skip

_STUBS: dict[str, Callable[..., dict[str, Any]]] = {
    "quote": stubs.quote,
    "bar": stubs.bar,
    "news": stubs.news_item,
}


@pytest.mark.parametrize(
    ("kind", "overrides", "reason"),
    _QUOTE_CASES + _SYMBOL_CASES + _TIME_CASES + _BAR_CASES + _NEWS_CASES,
)
def test_rule_table(kind: str, overrides: dict[str, Any], reason: str | None) -> None:
    record = _STUBS[kind](**overrides)

    if reason is None:
        validate(kind, record, now_us=NOW_US, limits=LIMITS)  # type: ignore[arg-type]
        return
    with pytest.raises(ValidationError) as caught:
        validate(kind, record, now_us=NOW_US, limits=LIMITS)  # type: ignore[arg-type]
    assert caught.value.reason == reason
    assert str(caught.value) == reason


def test_missing_field_is_named() -> None:
    record = stubs.quote()
    del record["ask_size"]

    with pytest.raises(ValidationError) as caught:
        validate_quote(record, now_us=NOW_US, limits=LIMITS)

    assert (caught.value.reason, caught.value.field) == ("ask_size is missing", "ask_size")


def test_crossed_quote_names_the_bid_field_and_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="crossed") as caught:
        validate_quote(stubs.quote(bid=2.0, ask=1.0), now_us=NOW_US, limits=LIMITS)

    assert isinstance(caught.value, ValidationError)
    assert caught.value.field == "bid"


def test_unknown_symbol_only_when_symbols_are_configured() -> None:
    known = ValidationLimits(symbols=frozenset({"AAPL"}))

    validate_bar(stubs.bar("AAPL"), now_us=NOW_US, limits=known)
    validate_bar(stubs.bar("MSFT"), now_us=NOW_US, limits=ValidationLimits())
    with pytest.raises(ValidationError, match=r"^symbol 'MSFT' is not a known symbol$"):
        validate_bar(stubs.bar("MSFT"), now_us=NOW_US, limits=known)


def test_first_broken_rule_wins_in_table_order() -> None:
    record = stubs.quote(symbol="", bid=math.nan)

    with pytest.raises(ValidationError) as caught:
        validate_quote(record, now_us=NOW_US, limits=LIMITS)

    assert caught.value.field == "symbol"


def test_limits_from_settings() -> None:
    settings = Settings(max_future_secs=5.0, max_text_chars=10, symbols=["AAPL", "MSFT"])

    limits = ValidationLimits.from_settings(settings)

    assert limits == ValidationLimits(5.0, 10, frozenset({"AAPL", "MSFT"}))


def test_quote_fast_path_agrees_with_the_rule_table() -> None:
    import random

    from producers.validation import validate

    rng = random.Random(4)
    limits = ValidationLimits(symbols=frozenset({"AAPL", "MSFT"}))
    now = 1_704_205_800_000_000
    odd_values = [
        0.0,
        -1.0,
        float("nan"),
        float("inf"),
        1e-9,
        100.0,
        100.01,
        99.99,
        5,
        True,
        "1",
        None,
    ]
    for _ in range(20_000):
        rec = {
            "symbol": rng.choice(["AAPL", "MSFT", "IBM", "aapl", ""]),
            "ts_event_us": now,
            "ts_ingest_us": now,
            "bid": 100.0,
            "ask": 100.01,
            "bid_size": 100.0,
            "ask_size": 200.0,
            "last": None,
            "seq": 1,
        }
        for field in rng.sample(["bid", "ask", "bid_size", "ask_size", "last", "seq"], 2):
            rec[field] = rng.choice(odd_values)
        rec["ts_event_us"] = now + rng.choice([-1, 0, 1, 300_000_000, 300_000_001, -now])

        outcomes = []
        for check in (validate_quote, lambda r, **kw: validate("quote", r, **kw)):
            try:
                check(rec, now_us=now, limits=limits)
                outcomes.append("ok")
            except ValidationError as exc:
                outcomes.append(exc.reason)
        assert outcomes[0] == outcomes[1], rec
