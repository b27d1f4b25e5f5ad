"""One average-cost implementation: the P&L report, the position table and the risk gate agree.

A scripted sequence with partial fills, two flips and fees goes through the three readers
of fills: `consumers.pnl` (what `primestream pnl` prints), the trading core's position
table (live mode: fills come in as records) and the core's risk gate. They book fills
through one `CostBasis`, so they agree exactly, before and after a state round trip.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from consumers.pnl import pnl_report
from schemas.codec import deserializer_for, serializer_for
from streams.engine import EngineSettings
from streams.risk.config import RiskConfig
from streams.trading import TradingCore
from tests.kit import stubs
from tests.kit.desk import CROSS_2_3, PAPER_LIMITS, RawRecord

D = Decimal


def _fill(n: int, side: str, qty: float, price: str, fee: str, order: str) -> dict[str, Any]:
    return stubs.fill(
        "ACME", id=f"{order}-{n}", order_id=order, side=side, qty=qty,
        price=D(price), fee=D(fee), ts_event_us=stubs.T0_US + n * 1_000_000,
    )  # fmt: skip


# Long 100 in two partial fills; sell 60 (partial close); sell 150 through zero (flip to
# short 110); buy 40 to cover part; buy 100 through zero (flip to long 30); fractional
# shares that must close to exactly nothing.
FILLS = [
    _fill(1, "BUY", 70.0, "10.00", "0.70", "o-a"),
    _fill(2, "BUY", 30.0, "10.10", "0.30", "o-a"),
    _fill(3, "SELL", 60.0, "10.45", "1.00", "o-b"),
    _fill(4, "SELL", 150.0, "9.80", "1.50", "o-c"),
    _fill(5, "BUY", 40.0, "9.55", "0.40", "o-d"),
    _fill(6, "BUY", 100.0, "9.20", "1.00", "o-e"),
    _fill(7, "SELL", 0.1, "9.30", "0.01", "o-f"),
    _fill(8, "SELL", 0.2, "9.40", "0.01", "o-f"),
    _fill(9, "BUY", 0.3, "9.35", "0.01", "o-g"),
]


def _core() -> TradingCore:
    decoders = {"fills": ("Fill", deserializer_for("Fill", registry=None))}
    risk = RiskConfig(mode="live", limits=PAPER_LIMITS)
    return TradingCore(CROSS_2_3, EngineSettings(), risk, partitions=1, decoders=decoders)


def _through_the_core(fills: list[dict[str, Any]]) -> tuple[TradingCore, list[dict[str, Any]]]:
    """Apply FILLS one batch each, saving and restoring the tables in between."""
    encode = serializer_for("Fill", registry=None)
    tables: dict[str, dict[str, Any]] = {name: {} for name in _core().tables()}
    positions: list[dict[str, Any]] = []
    core = _core()
    for offset, fill in enumerate(fills):
        core = _core()  # a fresh worker each time: state only through the tables
        loaders = {name: table.get for name, table in tables.items()}
        out = core.process([RawRecord(encode(fill), offset, topic="fills")], loaders)
        positions += out.of("positions")
        for table, key in out.changed:
            tables[table][key] = json.loads(json.dumps(core.state(table, key)))
    return core, positions


def test_the_pnl_report_the_position_table_and_the_risk_gate_agree() -> None:
    core, positions = _through_the_core(FILLS)
    report = pnl_report(FILLS, positions)
    (line,) = report.lines
    position = positions[-1]
    ledger = core.risk_books["partition-0"].ledgers["ACME"]
    book = core.positions["ACME"]["default"].state()

    # Hand-worked (gross of fees):
    #   buy 70 @ 10.00, 30 @ 10.10 -> long 100 @ 10.03
    #   sell 60 @ 10.45            -> +0.42 x 60 = +25.20  (long 40 @ 10.03)
    #   sell 150 @ 9.80            -> -0.23 x 40 =  -9.20  (flip: short 110 @ 9.80)
    #   buy 40 @ 9.55              -> +0.25 x 40 = +10.00  (short 70 @ 9.80)
    #   buy 100 @ 9.20             -> +0.60 x 70 = +42.00  (flip: long 30 @ 9.20)
    #   sell 0.1 @ 9.30, 0.2 @ 9.40 -> +0.01 + 0.04 = +0.05 (long 29.7, exactly)
    #   buy 0.3 @ 9.35             -> (29.7 x 9.2 + 0.3 x 9.35) / 30 = 9.2015 (long 30)
    # realized 68.05; fees 4.93
    exact = (D("30"), D("9.2015"), D("68.05"))
    assert (D(book["qty"]), D(book["avg_price"]), D(book["realized_pnl"])) == exact
    assert (ledger.cost.qty, ledger.cost.avg_price, ledger.cost.realized) == exact
    assert line.qty == position["qty"] == ledger.qty == 30.0
    assert line.avg_price == D("9.201500") == D(repr(position["avg_price"])).quantize(D("1e-6"))
    assert line.realized_pnl == position["realized_pnl"] == D("68.050000")
    assert line.fees == position["fees"] == D("4.930000")
    # today's net realized meets the daily-loss limit as a float sum of the exact fills
    assert ledger.realized_today == pytest.approx(63.12, rel=1e-12)
