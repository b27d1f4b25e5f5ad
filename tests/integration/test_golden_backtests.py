"""Golden backtests: each bundled config on its real sample data gives the checked-in stats.

The GOOG golden is checked in test_backtest.py on that module's run (one run less here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Scope
from tests.integration.test_backtest import run_backtest
from tests.kit.golden import Golden, check_golden, goldens

pytestmark = pytest.mark.integration

_OTHERS = [g for g in goldens() if g.name != "goog_sma_cross"]


@pytest.mark.parametrize("golden", _OTHERS, ids=[g.name for g in _OTHERS])
def test_a_golden_backtest_gives_its_checked_in_statistics(
    golden: Golden, scope: Scope, tmp_path: Path
) -> None:
    run = run_backtest(scope, tmp_path, *golden.args, name="gold")

    assert run.report["fills"] > 0, "a golden backtest must trade"
    assert check_golden(golden, run.report) == []
