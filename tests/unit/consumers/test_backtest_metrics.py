"""A backtest's equity curve and statistics against hand-computed numbers."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from consumers.backtest_metrics import backtest_metrics, equity_curve
from tests.kit import stubs

_DAY = 86_400_000_000
_T0 = stubs.T0_US
# closes 100, 110, 99, 121; buy 10 at 100 (fee 1) on day 1, sell 10 at 121 on day 3
_PRICES = [(_T0 + i * _DAY, "ACME", p) for i, p in enumerate((100.0, 110.0, 99.0, 121.0))]
_FILLS = [
    stubs.fill(
        "ACME", id="f-1", side="BUY", qty=10.0, price=Decimal("100"), fee=Decimal("1"),
        ts_event_us=_T0 + _DAY - 1,
    ),
    stubs.fill(
        "ACME", id="f-2", order_id="o-2", side="SELL", qty=10.0, price=Decimal("121"),
        fee=Decimal("0"), ts_event_us=_T0 + 3 * _DAY,
    ),
]  # fmt: skip


def test_equity_is_cash_plus_positions_at_each_price() -> None:
    curve = equity_curve(_FILLS, _PRICES, 10_000.0)

    # day 0: flat; day 1: 10,000 - 1,000 - 1 + 10 x 110; day 2: ... + 10 x 99; day 3: sold
    assert [round(s.equity, 6) for s in curve] == [10_000.0, 10_099.0, 9_989.0, 10_209.0]
    assert [s.exposed for s in curve] == [False, True, True, False]


def test_statistics_follow_their_stated_definitions() -> None:
    curve = equity_curve(_FILLS, _PRICES, 10_000.0)
    m = backtest_metrics(curve, _FILLS, initial_capital=10_000.0, periods_per_year=252)

    returns = [0.0, 10_099 / 10_000 - 1, 9_989 / 10_099 - 1, 10_209 / 9_989 - 1]
    mean = sum(returns) / 4
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / 4)
    assert m.total_return == pytest.approx(0.0209)
    assert m.volatility == pytest.approx(std * math.sqrt(252))
    assert m.sharpe == pytest.approx(mean / std * math.sqrt(252))
    assert m.sortino == pytest.approx(mean / downside * math.sqrt(252))
    assert m.cagr == pytest.approx(1.0209 ** (365.25 / 3) - 1)
    assert m.max_drawdown == pytest.approx((10_099 - 9_989) / 10_099)
    assert m.max_drawdown_days == pytest.approx(2.0)  # peak on day 1, back above on day 3
    assert m.exposure_time == 0.5
    assert (m.trades, m.win_rate, m.fees) == (1, 1.0, 1.0)
    assert m.average_trade == pytest.approx(209.0)  # (121 - 100) x 10 - 1 fee


def test_a_flat_backtest_has_no_undefined_ratios_that_pretend() -> None:
    curve = equity_curve([], _PRICES, 10_000.0)
    m = backtest_metrics(curve, [], initial_capital=10_000.0)

    assert (m.total_return, m.max_drawdown, m.exposure_time, m.trades) == (0.0, 0.0, 0.0, 0)
    assert (m.sharpe, m.sortino, m.win_rate, m.average_trade) == (None, None, None, None)
