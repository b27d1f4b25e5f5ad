"""The trading core on GOOG trades as backtesting.py does, in process (no broker).

backtesting.py's README SmaCross (long <-> short reversals) and an RSI mean reversion,
both with its example's settings (`tests.kit.parity`). The same check runs through the
real pipeline in tests/integration/test_backtest_parity.py; this one runs the core
alone, so a drift shows in seconds and names the first trade.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from consumers.backtest_metrics import equity_curve
from consumers.backtest_roundtrips import round_trips
from streams.strategies.config import EXAMPLES_DIR
from tests.kit.desk import goog_bars, toml_core
from tests.kit.parity import CASH, EQUITY_TOLERANCE, backtesting_py_run, our_trades


def _none(_key: str) -> None:
    return None


def _run_core(toml: Path) -> tuple[list[dict[str, Any]], list[tuple[int, str, float]]]:
    """Run GOOG's bars through the paper core of TOML with the capital; return fills, prices."""
    core = toml_core(toml, {"risk.capital": repr(CASH)}, "market.bars", "Bar")
    loaders = dict.fromkeys(core.tables(), _none)
    fills: list[dict[str, Any]] = []
    prices = []
    for bar, raw in goog_bars():
        out = core.process([raw], loaders)
        fills += [dict(r.value) for name, r in out.records if name == "fills"]
        prices.append((int(bar["ts_event_us"]), "GOOG", float(bar["close"])))
    return fills, prices


@pytest.mark.parametrize(
    ("toml", "strategy", "shorts"),
    [
        ("backtest_smacross_parity.toml", "sma_cross", True),
        ("backtest_rsi_reversion_parity.toml", "rsi_reversion", False),
    ],
)
def test_the_core_makes_backtesting_py_s_trades_and_ends_with_its_equity(
    toml: str, strategy: str, shorts: bool
) -> None:
    fills, prices = _run_core(EXAMPLES_DIR / toml)
    closed, still_open = our_trades(round_trips(fills, prices))
    end_equity = equity_curve(fills, prices, CASH)[-1].equity

    expected, expected_open, expected_equity = backtesting_py_run(strategy)

    assert len(expected) > 20
    assert any(t.size < 0 for t in expected) == shorts
    assert closed == expected
    assert still_open == expected_open
    assert end_equity == pytest.approx(expected_equity, abs=EQUITY_TOLERANCE)
    fees = sum(Decimal(str(f["fee"])) for f in fills)
    assert fees == sum(Decimal(str(f["qty"])) * Decimal(str(f["price"])) for f in fills) * (
        Decimal("0.002")
    )
