"""`primestream export` and `topic_frame` on a real broker: a time range, typed columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer

from consumers.export import topic_frame
from tests.integration.conftest import Scope

pytestmark = pytest.mark.integration


@pytest.fixture
def quotes(scope: Scope, tmp_path: Path) -> None:
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    rows += [f"ACME,2024-01-02T14:30:{i:02d}Z,{10 + i}.00,{10 + i}.02,100,100" for i in range(8)]
    path = tmp_path / "acme.csv"
    path.write_text("\n".join(rows) + "\n")
    scope.cli("produce", "market", "--source", f"csv:{path}")


def test_export_writes_the_records_of_a_time_range_with_typed_columns(
    scope: Scope, quotes: None, tmp_path: Path
) -> None:
    out = tmp_path / "quotes.parquet"
    done = scope.cli(
        "export", "market.quotes", "--to", str(out),
        "--from", "2024-01-02T14:30:02Z", "--until", "2024-01-02T09:30:05-05:00",
    )  # fmt: skip

    table = pq.read_table(out)
    assert "wrote 3 Quote records" in done.stdout
    assert table.column("bid").to_pylist() == [12.0, 13.0, 14.0]
    assert table.schema.field("ts_event_us").type == pa.timestamp("us", tz="UTC")
    assert [t.second for t in table.column("ts_event_us").to_pylist()] == [2, 3, 4]
    assert set(table.column("_key").to_pylist()) == {"ACME"}


def test_topic_frame_gives_notebooks_the_same_records(scope: Scope, quotes: None) -> None:
    frame = topic_frame("market.quotes", runtime=scope.runtime)

    assert len(frame) == 8
    assert list(frame["ask"]) == [10.02 + i for i in range(8)]
    assert isinstance(frame["ts_event_us"].dtype, pd.DatetimeTZDtype)


def test_a_bad_time_is_one_clear_line_and_a_non_zero_exit(scope: Scope, tmp_path: Path) -> None:
    done = scope.cli(
        "export", "market.quotes", "--to", str(tmp_path / "x.parquet"), "--from", "yesterday",
        check=False,
    )  # fmt: skip

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: not an ISO 8601 time: 'yesterday' (e.g. 2024-01-02T14:30:00Z)"
    ]
    assert not (tmp_path / "x.parquet").exists()


def test_undecodable_records_are_skipped_counted_and_fail_the_exit_code(
    scope: Scope, quotes: None, tmp_path: Path
) -> None:
    producer = Producer({"bootstrap.servers": scope.settings.bootstrap_servers})
    producer.produce(scope.topic("market.quotes"), b"\x00not avro", b"ACME")
    producer.flush(10)
    out = tmp_path / "all.parquet"

    done = scope.cli("export", "market.quotes", "--to", str(out), check=False)

    assert done.returncode == 1
    assert "wrote 8 Quote records" in done.stdout
    assert "1 undecodable record(s) skipped" in done.stderr
    assert pq.read_table(out).num_rows == 8, "what did decode is written, nothing else lost"
