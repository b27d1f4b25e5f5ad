"""Avro records to typed Arrow columns, and the times `export` accepts, without a broker."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from consumers.columns import arrow_schema, records_table
from consumers.export import parse_time
from schemas.catalog import RECORD_NAMES, parsed_schema
from schemas.samples import random_record
from tests.kit import stubs


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_every_record_has_typed_columns_and_round_trips_through_parquet(
    name: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    records = [random_record(parsed_schema(name), rng, edge=i % 2 == 0) for i in range(20)]
    rows = [(i % 3, i, 1_704_205_800_000 + i, f"K{i}", r) for i, r in enumerate(records)]

    pq.write_table(records_table(rows, name), tmp_path / "x.parquet")
    back = pq.read_table(tmp_path / "x.parquet")

    assert back.schema.equals(arrow_schema(name))
    assert back.num_rows == 20
    assert back.column("_offset").to_pylist() == list(range(20))


def test_columns_follow_the_schema_not_the_values() -> None:
    quote, fill = arrow_schema("Quote"), arrow_schema("Fill")

    assert quote.field("ts_event_us").type == pa.timestamp("us", tz="UTC")
    assert quote.field("bid").type == pa.float64()
    assert fill.field("price").type == pa.decimal128(18, 6)
    assert arrow_schema("Order").field("limit_price").nullable
    assert isinstance(arrow_schema("Alert").field("order").type, pa.StructType)
    assert records_table([], "Quote").schema.equals(quote), "an empty export keeps its columns"


def test_values_keep_their_meaning() -> None:
    fill = stubs.fill("ACME", id="f-1", qty=100.0, price=Decimal("12.01"), fee=Decimal("1"))
    frame = records_table([(0, 5, 1_704_205_800_000, "ACME", fill)], "Fill").to_pandas()

    assert frame.loc[0, "price"] == Decimal("12.010000")
    assert frame.loc[0, "ts_event_us"].isoformat() == "2024-01-02T14:30:00+00:00"
    assert frame.loc[0, "_key"] == "ACME"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2024-01-02T14:30:00Z", 1_704_205_800_000),
        ("2024-01-02T14:30:00", 1_704_205_800_000),
        ("2024-01-02T09:30:00-05:00", 1_704_205_800_000),
        ("2024-01-02", 1_704_153_600_000),
    ],
)
def test_times_are_iso_8601_and_utc_without_a_zone(text: str, ms: int) -> None:
    assert parse_time(text) == ms


def test_a_bad_time_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 time: 'yesterday'"):
        parse_time("yesterday")
