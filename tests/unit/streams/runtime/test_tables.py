"""Changelog tables hold committed state only: a write shows after its commit, never an abort."""

from __future__ import annotations

import json

import pytest

from infra.topics import changelog_topic
from streams.runtime.tables import (
    ChangelogTable,
    changelog_key,
    decode_key,
    encode_value,
    split_changelog_key,
)


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
    table.restored(2, "A", encode_value({"n": 1}))
    table.restored(2, "A", encode_value({"n": 2}))
    table.restored(2, "B", encode_value({"n": 3}))
    table.restored(2, "B", None)

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


def test_tables_share_one_changelog_their_keys_name_the_table() -> None:
    positions = ChangelogTable("positions", changelog_topic("app"))
    books = ChangelogTable("paper-books", changelog_topic("app"))

    assert positions.topic == books.topic == "app-changelog"
    assert positions.record_key("AAPL") == b"positions/AAPL"
    assert split_changelog_key(books.record_key("BRK/B")) == ("paper-books", "BRK/B")
    assert split_changelog_key(changelog_key("risk-state", "partition-3")) == (
        "risk-state",
        "partition-3",
    )


@pytest.mark.parametrize("raw", [b"AAPL", b"/AAPL", b"\xff/x", b""])
def test_a_changelog_key_that_names_no_table_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="changelog key"):
        split_changelog_key(raw)


@pytest.mark.parametrize("name", ["", "a/b"])
def test_a_table_name_that_could_not_be_told_from_its_keys_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="table's name"):
        ChangelogTable(name, "app-changelog")
