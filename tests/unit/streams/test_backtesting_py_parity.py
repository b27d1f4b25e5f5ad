"""The trading core on GOOG trades as backtesting.py does, in process (no broker).

The same check runs through the real pipeline in tests/integration/test_backtest_parity.py;
this one runs the core alone, so a drift shows in seconds and names the first trade.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from consumers.backtest_metrics import equity_curve
from consumers.backtest_roundtrips import round_trips
from producers.market.sample import SampleSource
from schemas.codec import serializer_for
from streams.context import TradingConfig
from streams.engine import EngineSettings
from streams.execution.config import load_fill_model
from streams.risk.config import load_risk_config
from streams.strategies import load_config
from streams.strategies.config import EXAMPLES_DIR
from streams.trading import PaperVenue, TradingCore
from tests.kit.desk import RawRecord, avro_decoders
from tests.kit.parity import EQUITY_TOLERANCE, backtesting_py_trades, our_trades

_CAPITAL = 100_000.0


def _none(_key: str) -> None:
    return None


def _run_core(toml: Path) -> tuple[list[dict[str, Any]], list[tuple[int, str, float]]]:
    """Run GOOG's bars through the paper core of TOML with the capital; return fills, prices."""
    overrides = {"risk.capital": repr(_CAPITAL)}
    trading = TradingConfig(load_risk_config(toml, overrides), load_fill_model(toml, overrides))
    core = TradingCore(
        load_config(toml, overrides),
        EngineSettings(),
        trading.risk,
        partitions=1,
        decoders=avro_decoders("market.bars", "Bar"),
        venue=PaperVenue(trading.fill_model),
    )
    encode = serializer_for("Bar", registry=None)
    loaders = dict.fromkeys(core.tables(), _none)
    fills: list[dict[str, Any]] = []
    prices = []
    for i, row in enumerate(SampleSource.named("GOOG", clock=lambda: 0).records()):
        bar = row.record
        assert bar is not None
        raw = RawRecord(encode(bar), i, key=b"GOOG", topic="market.bars")
        out = core.process([raw], loaders)
        fills += [dict(r.value) for name, r in out.records if name == "fills"]
        prices.append((int(bar["ts_event_us"]), "GOOG", float(bar["close"])))
    return fills, prices


@pytest.mark.parametrize(
    ("toml", "fast", "slow", "size"),
    [
        ("backtest_smacross_parity.toml", 10, 20, None),
        ("backtest_sma_half_equity.toml", 20, 50, 0.5),
    ],
)
def test_the_core_makes_backtesting_py_s_trades_and_ends_with_its_equity(
    toml: str, fast: int, slow: int, size: float | None
) -> None:
    fills, prices = _run_core(EXAMPLES_DIR / toml)
    trips = round_trips(fills, prices)
    closed, still_open = our_trades(trips)
    end_equity = equity_curve(fills, prices, _CAPITAL)[-1].equity

    expected, expected_equity = backtesting_py_trades(fast, slow, size, _CAPITAL)

    assert len(expected) > 10
    assert closed == expected
    assert len(still_open) <= 1
    assert end_equity == pytest.approx(expected_equity, abs=EQUITY_TOLERANCE)
    assert all(Decimal(str(f["fee"])) == 0 for f in fills)
