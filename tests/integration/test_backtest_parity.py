"""`primestream backtest` through the real pipeline makes backtesting.py's own trades.

backtesting.py (a dependency) runs its SmaCross on GOOG with its defaults; our backtest
runs the same strategy, as close as a TOML gets, on the same bars written the way people
have them: backtesting.py's frame to CSV (capitalised columns, an unnamed datetime index,
no symbol: `--symbol GOOG`), and a Yahoo-style Parquet file (`Date`, `Adj Close`). The
round trips (entry and exit bars, sizes, prices) must be identical, and the final equity
within `tests.kit.parity.EQUITY_TOLERANCE` (a cent).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from streams.strategies.config import EXAMPLES_DIR
from tests.integration.conftest import Scope
from tests.integration.test_backtest import run_backtest
from tests.kit.parity import EQUITY_TOLERANCE, backtesting_py_trades, our_trades

pytestmark = pytest.mark.integration

_CAPITAL = 100_000.0


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
    ("toml", "write", "fast", "slow", "size"),
    [
        ("backtest_smacross_parity.toml", _backtesting_py_csv, 10, 20, None),
        ("backtest_sma_half_equity.toml", _yahoo_parquet, 20, 50, 0.5),
    ],
    ids=["smacross-all-in-csv", "sma-20-50-half-parquet"],
)
def test_a_backtest_makes_backtesting_py_s_trades_and_equity(
    scope: Scope,
    tmp_path: Path,
    toml: str,
    write: Callable[[Path], Path],
    fast: int,
    slow: int,
    size: float | None,
) -> None:
    suffix = "csv" if size is None else "parquet"
    data = write(tmp_path / f"goog.{suffix}")

    run = run_backtest(
        scope, tmp_path / "out", "--data", str(data), "--symbol", "GOOG",
        "--strategies", str(EXAMPLES_DIR / toml), "--capital", str(_CAPITAL),
        name=f"par{fast}",
    )  # fmt: skip
    closed, still_open = our_trades(
        pd.read_parquet(run.out / "roundtrips.parquet").itertuples(index=False)
    )
    expected, equity = backtesting_py_trades(fast, slow, size, _CAPITAL)

    assert len(expected) > 10
    assert closed == expected
    assert len(still_open) <= 1
    assert run.report["round_trips"] == len(expected)
    assert run.report["end_equity"] == pytest.approx(equity, abs=EQUITY_TOLERANCE)
