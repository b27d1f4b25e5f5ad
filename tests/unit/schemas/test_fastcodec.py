"""Specialized codecs write exactly fastavro's bytes, read them back, and refuse bad records."""

from __future__ import annotations

import enum
import random
from decimal import Decimal
from typing import Any

import pytest
from fastavro import parse_schema

from schemas import primitives
from schemas.catalog import RECORD_NAMES, parsed_schema
from schemas.decoder_gen import decoder_source
from schemas.encoder_gen import compile_encoder, encoder_source
from schemas.exceptions import DecodeError, EncodeError
from schemas.fastcodec import decoder_for_schema, encoder_for_schema, record_decoder, record_encoder
from schemas.samples import random_record
from tests.kit import stubs
from tests.unit.schemas.support import fastavro_bytes, same_record

RECORDS_PER_SCHEMA = 400


@pytest.mark.parametrize("name", RECORD_NAMES)
@pytest.mark.parametrize("edge", [False, True], ids=["typical", "edge"])
def test_encoder_writes_fastavros_bytes_and_decoder_reads_them_back(name: str, edge: bool) -> None:
    schema = parsed_schema(name)
    encode, decode = record_encoder(name), record_decoder(name)
    rng = random.Random(f"{name}-{edge}")

    for i in range(RECORDS_PER_SCHEMA):
        record = random_record(schema, rng, edge=edge)
        expected = fastavro_bytes(schema, record)

        assert encode(record) == expected, f"record #{i}: {record}"
        assert same_record(decode(expected, 0), record), f"record #{i}: {record}"


def _fast_variant_only(schema: dict[str, Any]) -> Any:
    text, namespace = decoder_source(schema, fast_ts=True)

    def gave_up(data: bytes, offset: int) -> None:
        raise AssertionError("the fast path gave up")

    namespace["GENERAL"] = gave_up
    exec(compile(text, "<fast decoder>", "exec"), namespace)
    return namespace["decode"]


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_typical_records_decode_on_the_fast_path(name: str) -> None:
    schema = parsed_schema(name)
    fast_only = _fast_variant_only(schema)
    rng = random.Random(name)

    for _ in range(200):
        record = random_record(schema, rng)
        assert same_record(fast_only(fastavro_bytes(schema, record), 0), record)


def test_timestamps_outside_the_fast_range_take_the_general_path() -> None:
    schema = parsed_schema("Quote")
    encode = record_encoder("Quote")

    for ts in (0, 1, -1, 2**48 - 1, 2**48, 2**55 - 1, 2**55, 2**63 - 1, -(2**63)):
        record = stubs.quote(ts_event_us=ts, ts_ingest_us=ts)
        assert encode(record) == fastavro_bytes(schema, record), ts
        assert record_decoder("Quote")(encode(record), 0) == record


def test_defaults_fill_missing_fields_like_fastavro() -> None:
    schema = parsed_schema("Order")
    order = {
        "id": "o-1",
        "signal_id": "s-1",
        "symbol": "AAPL",
        "side": "BUY",
        "qty": 10.0,
        "order_type": "MARKET",
        "tif": "DAY",
        "strategy": "x",
        "ts_event_us": stubs.T0_US,
    }  # no account (default "default"), no limit_price (default null)

    assert record_encoder("Order")(order) == fastavro_bytes(schema, order)
    assert record_decoder("Order")(record_encoder("Order")(order), 0)["account"] == "default"


def test_str_enums_and_tuples_are_accepted() -> None:
    class Side(enum.StrEnum):
        BUY = "BUY"

    signal = stubs.signal(side=Side.BUY, trigger_ids=("a", "b"))

    assert record_encoder("Signal")(signal) == record_encoder("Signal")(
        stubs.signal(trigger_ids=["a", "b"])
    )


def test_prefix_is_written_before_the_body() -> None:
    quote = stubs.quote()

    assert record_encoder("Quote", b"\xc3\x01" + bytes(8))(quote) == b"\xc3\x01" + bytes(
        8
    ) + record_encoder("Quote")(quote)


BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("Quote", {"bid": "185.2"}, "Quote.bid"),
    ("Quote", {"bid": None}, "Quote.bid"),
    ("Quote", {"symbol": 42}, "Quote.symbol"),
    ("Quote", {"symbol": b"AAPL"}, "Quote.symbol"),
    ("Quote", {"ts_ingest_us": 1.7e15}, "Quote.ts_ingest_us"),
    ("Quote", {"ts_ingest_us": "2024-01-02"}, "Quote.ts_ingest_us"),
    ("Quote", {"seq": 2**63}, "Quote.seq"),
    ("Quote", {"seq": -(2**63) - 1}, "Quote.seq"),
    ("Quote", {"last": "x"}, "Quote.last"),
    ("Quote", {"symbol": "\ud800"}, "Quote.symbol"),
    ("Bar", {"interval_secs": 2**31}, "Bar.interval_secs"),
    ("Bar", {"volume": 1e400j}, "Bar.volume"),
    ("Signal", {"side": "HOLD"}, "Signal.side"),
    ("Signal", {"params": [("fast", 1.0)]}, "Signal.params"),
    ("Signal", {"params": {"fast": "1"}}, "Signal.params['fast']"),
    ("Signal", {"params": {1: 1.0}}, "Signal.params"),
    ("Signal", {"trigger_ids": "abc"}, "Signal.trigger_ids"),
    ("Signal", {"trigger_ids": [1]}, "Signal.trigger_ids[0]"),
    ("NewsItem", {"sentiment": {"compound": 0.1}}, "NewsItem.sentiment.positive"),
    ("NewsItem", {"sentiment": None}, "NewsItem.sentiment"),
    ("Fill", {"price": "185.22"}, "Fill.price"),
    ("Fill", {"price": Decimal("NaN")}, "Fill.price"),
    ("Fill", {"price": Decimal("1e12")}, "Fill.price"),
]
_STUBS = {
    "Quote": stubs.quote,
    "Bar": stubs.bar,
    "Signal": stubs.signal,
    "NewsItem": stubs.news_item,
    "Fill": stubs.fill,
}


@pytest.mark.parametrize(("name", "change", "field"), BAD_FIELDS)
def test_a_wrong_value_raises_encode_error_naming_the_field(
    name: str, change: dict[str, Any], field: str
) -> None:
    record = _STUBS[name](**change)

    with pytest.raises(EncodeError) as raised:
        record_encoder(name)(record)

    assert str(raised.value).startswith(field + ":"), str(raised.value)


def test_a_missing_field_without_default_raises_encode_error() -> None:
    quote = stubs.quote()
    del quote["bid"]

    with pytest.raises(EncodeError, match=r"^Quote\.bid: missing"):
        record_encoder("Quote")(quote)


def test_not_a_mapping_raises_encode_error() -> None:
    with pytest.raises(EncodeError, match="expected a mapping"):
        record_encoder("Quote")(None)  # type: ignore[arg-type]  # on purpose


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("185.22"), Decimal("185.220000")),
        (0.1, Decimal("0.100000")),
        (7, Decimal("7.000000")),
        (Decimal("1.0000005"), Decimal("1.000000")),  # half-even, like a DECIMAL(18,6) column
        (Decimal("1.0000015"), Decimal("1.000002")),
        (Decimal("-0.000001"), Decimal("-0.000001")),
        (Decimal("999999999999.999999"), Decimal("999999999999.999999")),
    ],
)
def test_decimals_are_quantized_to_scale_6(value: Any, expected: Decimal) -> None:
    fill = stubs.fill(price=value)
    data = record_encoder("Fill")(fill)
    decoded = record_decoder("Fill")(data, 0)["price"]

    assert decoded == expected
    assert decoded.as_tuple().exponent == -6
    assert data == fastavro_bytes(parsed_schema("Fill"), stubs.fill(price=expected))


@pytest.mark.parametrize(
    "value", [0, 1, -1, 63, -64, 64, 8191, 8192, 2**28, 2**48, 2**55, 2**63 - 1, -(2**63)]
)
def test_long_varints_match_fastavro(value: int) -> None:
    schema = parse_schema(
        {"type": "record", "name": "L", "fields": [{"name": "v", "type": "long"}]}
    )
    z = (value << 1) ^ (value >> 63)

    assert primitives.write_long(z) == fastavro_bytes(schema, {"v": value})
    assert primitives.read_long(primitives.write_long(z), 0) == (
        value,
        len(primitives.write_long(z)),
    )


def test_unsupported_schemas_fall_back_to_fastavro() -> None:
    schema: dict[str, Any] = parse_schema(  # type: ignore[assignment]  # fastavro: any schema
        {
            "type": "record",
            "name": "U",
            "fields": [
                {"name": "v", "type": ["string", "long", "null"]},
                {"name": "f", "type": {"type": "fixed", "name": "F", "size": 2}},
            ],
        }
    )
    encode, decode = encoder_for_schema(schema), decoder_for_schema(schema)

    for record in ({"v": "x", "f": b"ab"}, {"v": 5, "f": b"cd"}, {"v": None, "f": b"ef"}):
        assert encode(record) == fastavro_bytes(schema, record)
        assert decode(encode(record), 0) == record
    with pytest.raises(EncodeError, match=r"U\.v"):
        encode({"v": 1.5, "f": b"ab"})


def test_generated_source_packs_fixed_runs_with_one_struct_call() -> None:
    text, _ = encoder_source(parsed_schema("Quote"))

    # symbol, one pack for 2 timestamps + 4 doubles, the nullable last, seq
    assert text.count("E0[") == 2
    assert "'<HHHHHHHHdddd'" not in text  # formats live in the namespace, not the source
    assert compile_encoder(parsed_schema("Quote"))(stubs.quote()) == record_encoder("Quote")(
        stubs.quote()
    )


@pytest.mark.parametrize("cut", [1, 5, 20, -1])
def test_truncated_bodies_raise_decode_error_with_the_raw_bytes(cut: int) -> None:
    data = record_encoder("Quote")(stubs.quote())[:cut]

    with pytest.raises(DecodeError) as raised:
        record_decoder("Quote")(data, 0)

    assert raised.value.raw == data


def test_trailing_bytes_raise_decode_error() -> None:
    data = record_encoder("Quote")(stubs.quote()) + b"\x00"

    with pytest.raises(DecodeError, match="trailing bytes"):
        record_decoder("Quote")(data, 0)


@pytest.mark.parametrize("corrupt", [b"\x06", b"\x03", b"\xff"])
def test_corrupt_union_or_enum_bytes_raise_decode_error(corrupt: bytes) -> None:
    data = bytearray(record_encoder("Signal")(stubs.signal()))
    data[len("sig-1") + 1 + len("AAPL") + 1 + len("sma_cross") + 1] = corrupt[0]  # the side enum

    with pytest.raises(DecodeError):
        record_decoder("Signal")(bytes(data), 0)


def test_arrays_in_several_blocks_and_with_byte_sizes_decode_like_fastavro() -> None:
    item = stubs.news_item(symbols=["AAPL", "MSFT", "GOOG"])
    data = record_encoder("NewsItem")(item)
    head = 1 + len("n-1") + 1 + len("AAPL")
    one_block = b"\x06\x08AAPL\x08MSFT\x08GOOG\x00"
    assert data[head : head + len(one_block)] == one_block
    # -1 item (with its byte size, 5), then 2 items, then the end: the same array
    blocks = b"\x01\x0a\x08AAPL" + b"\x04\x08MSFT\x08GOOG\x00"
    rewritten = data[:head] + blocks + data[head + len(one_block) :]

    assert record_decoder("NewsItem")(rewritten, 0) == item


def test_many_key_sets_and_large_maps_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    from schemas import map_packer

    monkeypatch.setattr(map_packer, "MAX_KEY_SETS", 3)
    schema = parsed_schema("Rejection")
    encode = compile_encoder(schema)
    rng = random.Random(5)

    for size in [0, 1, 2, 3, 5, 64, 65, 200] * 3:
        values = {f"k{rng.randint(0, 10**6)}": rng.uniform(-1, 1) for _ in range(size)}
        record = {
            "signal_id": "s",
            "symbol": "AAPL",
            "strategy": "x",
            "rule": "max_qty",
            "reason": "too big",
            "values": values,
            "ts_event_us": stubs.T0_US,
        }
        assert encode(record) == fastavro_bytes(schema, record)
        assert record_decoder("Rejection")(encode(record), 0) == record


def test_timestamps_spread_over_centuries_round_trip_past_the_caches_limits() -> None:
    rng = random.Random(11)
    quotes = [stubs.quote(ts_event_us=rng.randint(2**48, 2**55 - 1)) for _ in range(5000)]
    encode, decode = record_encoder("Quote"), record_decoder("Quote")
    schema = parsed_schema("Quote")

    for quote in quotes:
        data = encode(quote)
        assert data == fastavro_bytes(schema, quote)
        assert decode(data, 0) == quote


def test_many_distinct_symbols_overflow_the_string_cache_safely() -> None:
    encode, schema = compile_encoder(parsed_schema("Quote")), parsed_schema("Quote")

    for i in range(6000):
        quote = stubs.quote(symbol=f"SYM{i}")
        assert encode(quote) == fastavro_bytes(schema, quote)
