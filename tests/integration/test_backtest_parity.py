"""`primestream backtest` through the real pipeline makes backtesting.py's own trades.

backtesting.py (a dependency) runs its README SmaCross example on GOOG (buy/sell
reversals, `commission=.002`, `exclusive_orders=True`, cash 10,000) and an RSI mean
reversion with the same settings (`tests.kit.parity`); our backtest runs each as a
strategy TOML on the same bars written the way people have them: backtesting.py's frame
to CSV (capitalised columns, an unnamed datetime index, no symbol: `--symbol GOOG`), and
a Yahoo-style Parquet file (`Date`, `Adj Close`). The round trips (direction, entry and
exit bars, sizes, prices; the one still open at the end too) must be identical, and the
final equity within `tests.kit.parity.EQUITY_TOLERANCE` (float rounding only).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from streams.strategies.config import EXAMPLES_DIR
from tests.integration.conftest import Scope
from tests.integration.test_backtest import run_backtest
from tests.kit.parity import CASH, EQUITY_TOLERANCE, backtesting_py_run, our_trades

pytestmark = pytest.mark.integration


def _backtesting_py_csv(path: Path) -> Path:
    from backtesting.test import GOOG

    GOOG.to_csv(path)
    return path


def _yahoo_parquet(path: Path) -> Path:
    from backtesting.test import GOOG

    frame = GOOG.copy()
    frame.index.name = "Date"
    frame.insert(4, "Adj Close", frame["Close"])
    frame.to_parquet(path)
    return path


@pytest.mark.parametrize(
    ("toml", "write", "strategy"),
    [
        ("backtest_smacross_parity.toml", _backtesting_py_csv, "sma_cross"),
        ("backtest_rsi_reversion_parity.toml", _yahoo_parquet, "rsi_reversion"),
    ],
    ids=["smacross-example-csv", "rsi-reversion-parquet"],
)
def test_a_backtest_makes_backtesting_py_s_trades_and_equity(
    scope: Scope, tmp_path: Path, toml: str, write: Callable[[Path], Path], strategy: str
) -> None:
    suffix = "csv" if write is _backtesting_py_csv else "parquet"
    data = write(tmp_path / f"goog.{suffix}")

    run = run_backtest(
        scope, tmp_path / "out", "--data", str(data), "--symbol", "GOOG",
        "--strategies", str(EXAMPLES_DIR / toml), "--capital", str(CASH),
        name=f"par{strategy[:3]}",
    )  # fmt: skip
    closed, still_open = our_trades(
        pd.read_parquet(run.out / "roundtrips.parquet").itertuples(index=False)
    )
    expected, expected_open, equity = backtesting_py_run(strategy)

    assert len(expected) > 20
    assert closed == expected
    assert still_open == expected_open
    assert run.report["round_trips"] == len(expected)
    assert run.report["end_equity"] == pytest.approx(equity, abs=EQUITY_TOLERANCE)
