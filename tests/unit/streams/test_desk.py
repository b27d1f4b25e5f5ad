"""The paper desk over raw batches, without Kafka: the whole loop, in event time."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from schemas.codec import deserializer_for, serializer_for
from streams.desk import TABLES, DeskProcessor
from streams.engine import EngineSettings
from streams.execution.fill_model import FillModel
from streams.execution.processing import ExecutionProcessor
from streams.positions.processing import PositionProcessor
from streams.risk.config import RiskConfig, RiskLimits, SizingRule
from streams.risk.processing import RiskProcessor
from streams.signals.processing import SignalProcessor
from streams.strategies import parse_config
from tests.kit import stubs

_STRATEGIES = parse_config(
    {
        "strategies": {
            "cross": {"kind": "ma_cross", "symbols": "*", "params": {"fast": 2, "slow": 3}}
        }
    }
)
_RISK = RiskConfig(
    mode="paper",
    limits=RiskLimits(min_confidence=0.0, cooldown_secs=0.0, allow_short=True, calendar=None),
    sizing={"*": SizingRule(kind="fixed_qty", qty=100.0)},
)
_MODEL = FillModel(commission_per_share=Decimal("0.01"), commission_min=Decimal("1"))
_ENCODE = serializer_for("Quote", registry=None)
# Mids 10 10 10 11 12 9 8 7: BUY on quote 3, SELL on quote 5 (see test_trading.py).
_MIDS = (10, 10, 10, 11, 12, 9, 8, 7)


@dataclass(frozen=True)
class _Raw:
    value: bytes
    offset: int
    key: bytes = b"ACME"
    topic: str = "market.quotes"
    partition: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def _quotes() -> list[_Raw]:
    return [
        _Raw(
            _ENCODE(
                stubs.quote(
                    "ACME",
                    bid=mid - 0.01,
                    ask=mid + 0.01,
                    bid_size=1000.0,
                    ask_size=1000.0,
                    ts_event_us=stubs.T0_US + i * 1_000_000,
                    seq=i,
                )
            ),
            i,
        )
        for i, mid in enumerate(_MIDS)
    ]


def _desk() -> DeskProcessor:
    decoders = {"market.quotes": ("Quote", deserializer_for("Quote", registry=None))}
    return DeskProcessor(
        SignalProcessor(_STRATEGIES, EngineSettings(), decoders),
        RiskProcessor(_RISK, 1, decoders),
        ExecutionProcessor(_MODEL, decoders),
        PositionProcessor(decoders),
        config=_RISK,
        partitions=1,
        decoders=decoders,
        tracers={},
    )


def _run(batch_size: int) -> dict[str, list[Any]]:
    """Run the path in batches of BATCH_SIZE, through tables, as the agent does."""
    desk = _desk()
    tables: dict[str, dict[str, Any]] = {name: {} for name in TABLES}
    loaders = {name: table.get for name, table in tables.items()}
    topics: dict[str, list[Any]] = {}
    quotes = _quotes()
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
