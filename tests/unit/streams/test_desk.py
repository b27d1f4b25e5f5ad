"""The paper desk over raw batches, without Kafka: the whole loop, in event time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.kit.desk import avro_decoders, offline_desk, scripted_quotes


def _run(batch_size: int) -> dict[str, list[Any]]:
    """Run the path in batches of BATCH_SIZE, through tables, as the agent does."""
    # The kit's paper desk: SMA 2/3, 100 shares a signal, shorts allowed, fees 0.01 a
    # share (1.00 at least); the kit's scripted path BUYs on quote 3 and SELLs on quote 5.
    desk = offline_desk(avro_decoders("market.quotes"))
    tables: dict[str, dict[str, Any]] = {name: {} for name in desk.tables()}
    loaders = {name: table.get for name, table in tables.items()}
    topics: dict[str, list[Any]] = {}
    quotes = scripted_quotes()
    for start in range(0, len(quotes), batch_size):
        out = desk.process(quotes[start : start + batch_size], loaders)
        for name, record in out.records:
            topics.setdefault(name, []).append(record.value)
        for table, key in out.changed:
            tables[table][key] = desk.state(table, key)
        desk.forget()
    return topics


def test_the_whole_loop_fills_on_the_next_quote_and_books_the_flip() -> None:
    topics = _run(batch_size=100)

    assert [(o["side"], o["qty"]) for o in topics["orders"]] == [("BUY", 100.0), ("SELL", 200.0)]
    assert [(f["price"], f["fee"]) for f in topics["fills"]] == [
        (Decimal("12.01"), Decimal("1")),  # quote 4's ask, not quote 3's (the signal's)
        (Decimal("7.99"), Decimal("2")),  # quote 6's bid
    ]
    final = topics["positions"][-1]
    assert (final["qty"], final["realized_pnl"], final["fees"]) == (
        -100.0,
        Decimal("-402"),
        Decimal("3"),
    )
    assert final["unrealized_pnl"] == pytest.approx(99.0)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5])
def test_batch_boundaries_and_table_round_trips_do_not_change_any_decision(
    batch_size: int,
) -> None:
    whole, split = _run(batch_size=100), _run(batch_size=batch_size)

    for topic in ("signals", "orders", "orders.rejected", "orders.events", "fills"):
        assert split.get(topic) == whole.get(topic), topic
    assert split["positions"][-1] == whole["positions"][-1]
