"""Changelog tables hold committed state only: a write shows after its commit, never an abort."""

from __future__ import annotations

import json

from streams.runtime.tables import ChangelogTable, decode_key, encode_value


def test_a_write_is_the_tables_only_once_its_transaction_committed() -> None:
    table = ChangelogTable("positions", "app-positions-changelog")
    table.hold(0)

    write = table.write(0, "AAPL", {"qty": 10.0})
    assert table.get("AAPL") is None  # staged, not committed

    table.commit()
    assert table.get("AAPL") == {"qty": 10.0}
    assert write.value == encode_value({"qty": 10.0})


def test_an_aborted_write_never_shows() -> None:
    table = ChangelogTable("positions", "app-positions-changelog")
    table.write(0, "AAPL", {"qty": 10.0})
    table.commit()

    table.write(0, "AAPL", {"qty": 99.0})
    table.abort()
    table.commit()  # nothing pending any more

    assert table.get("AAPL") == {"qty": 10.0}


def test_a_deletion_removes_the_key() -> None:
    table = ChangelogTable("t", "c")
    table.write(1, "K", {"v": 1})
    table.commit()
    table.write(1, "K", None)
    table.commit()

    assert table.get("K") is None
    assert table.items() == []


def test_dropping_a_partition_forgets_its_keys_only() -> None:
    table = ChangelogTable("t", "c")
    table.write(0, "A", 1)
    table.write(1, "B", 2)
    table.commit()

    table.drop(0)

    assert table.items() == [("B", 2)]
    assert table.partitions() == [1]


def test_restored_records_fill_the_partition_and_tombstones_delete() -> None:
    table = ChangelogTable("t", "c")
    table.restored(2, b"A", encode_value({"n": 1}))
    table.restored(2, b"A", encode_value({"n": 2}))
    table.restored(2, b"B", encode_value({"n": 3}))
    table.restored(2, b"B", None)
    table.restored(2, None, b"ignored: no key")

    assert table.items() == [("A", {"n": 2})]
    assert table.get("A", partition=2) == {"n": 2}
    assert table.get("A", partition=1) is None


def test_keys_the_faust_runtime_wrote_are_read() -> None:
    assert decode_key(json.dumps("AAPL").encode()) == "AAPL"
    assert decode_key(b"partition-3") == "partition-3"
    assert decode_key(b'"') == '"'


def test_non_finite_floats_survive_the_round_trip() -> None:
    table = ChangelogTable("t", "c")
    table.write(0, "K", {"limit": float("inf")})
    table.commit()

    assert table.get("K") == {"limit": float("inf")}
