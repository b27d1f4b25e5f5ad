"""Order sizes by hand: fixed quantity, fixed notional, volatility target; caps and lots."""

from __future__ import annotations

import math
from typing import Any

import pytest

from streams.risk import SizingRule, size
from streams.risk.sizing import round_to_lot
from tests.kit.stubs import signal


def sized(rule: SizingRule, **overrides: Any) -> float | None:
    return size(rule, signal(**overrides)).qty


@pytest.mark.parametrize(
    ("rule", "overrides", "expected"),
    [
        # fixed_qty: the quantity, capped, in whole lots.
        (SizingRule("fixed_qty", qty=100.0), {}, 100.0),
        (SizingRule("fixed_qty", qty=100.0, max_qty=60.0), {}, 60.0),
        (SizingRule("fixed_qty", qty=110.0, lot=25.0), {}, 100.0),  # 4.4 lots -> 4 x 25
        (SizingRule("fixed_qty", qty=1000.0, max_qty=999.0, lot=100.0), {}, 900.0),  # cap, then lot
        # fixed_notional: 10,000 / 185.21 = 53.99... -> 53 shares; in lots of 10 -> 50.
        (SizingRule("fixed_notional", notional=10_000.0), {"ref_price": 185.21}, 53.0),
        (SizingRule("fixed_notional", notional=10_000.0, lot=10.0), {"ref_price": 185.21}, 50.0),
        # Crypto in lots of 0.001: 10,000 / 43,210.5 = 0.231426... -> 0.231.
        (
            SizingRule("fixed_notional", notional=10_000.0, lot=0.001),
            {"ref_price": 43_210.5},
            0.231,
        ),
        # 100 / 185.21 = 0.54 shares: less than one lot, size 0.
        (SizingRule("fixed_notional", notional=100.0), {"ref_price": 185.21}, 0.0),
        # vol_target: risk 100 per 2 ATRs of 1.25 = 100 / 2.5 = 40 shares.
        (
            SizingRule("vol_target", risk_per_trade=100.0, atr_multiple=2.0),
            {"features": {"atr_14": 1.25}},
            40.0,
        ),
        # 250 / (1.5 x 3.7) = 45.045... -> 45; the ATR under another name.
        (
            SizingRule("vol_target", risk_per_trade=250.0, atr_multiple=1.5, atr_feature="atr_20"),
            {"features": {"atr_20": 3.7}},
            45.0,
        ),
        # 1000 / (1 x 0.5) = 2000, capped at 500.
        (
            SizingRule("vol_target", risk_per_trade=1000.0, atr_multiple=1.0, max_qty=500.0),
            {"features": {"atr_14": 0.5}},
            500.0,
        ),
    ],
)
def test_hand_computed_sizes(rule: SizingRule, overrides: dict[str, Any], expected: float) -> None:
    assert sized(rule, **overrides) == expected


@pytest.mark.parametrize(
    ("rule", "overrides", "why"),
    [
        (SizingRule("vol_target"), {"features": {}}, "atr_14 is None"),
        (SizingRule("vol_target"), {"features": {"atr_14": 0.0}}, "atr_14 is 0.0"),
        (SizingRule("vol_target"), {"features": {"atr_14": -1.0}}, "not a positive ATR"),
        (SizingRule("vol_target"), {"features": {"atr_14": math.nan}}, "nan"),
        (SizingRule("fixed_notional"), {"ref_price": 0.0}, "ref_price 0.0"),
    ],
)
def test_not_computable_sizes_say_why(
    rule: SizingRule, overrides: dict[str, Any], why: str
) -> None:
    result = size(rule, signal(**overrides))

    assert result.qty is None
    assert why in result.reason


def test_the_reason_shows_the_arithmetic() -> None:
    result = size(SizingRule("fixed_notional", notional=10_000.0), signal(ref_price=185.21))

    assert result.reason == "10000 / 185.21 = 53.992765 -> 53 (lot 1)"


@pytest.mark.parametrize(
    ("qty", "lot", "expected"),
    [
        (0.3, 0.1, 0.3),  # 0.3 / 0.1 = 2.9999999999999996 in floats: still 3 lots
        (0.29, 0.1, 0.2),
        (99.999, 1.0, 99.0),
        (5.0, 10.0, 0.0),
    ],
)
def test_round_to_lot_rounds_down_but_not_for_float_noise(
    qty: float, lot: float, expected: float
) -> None:
    assert round_to_lot(qty, lot) == expected
