"""The hot path's value classes are immutable where it is checked: in the type checker.

`StrategyView`, `OutRecord`, `Refusal`, `Decision` and `SignalView` were frozen
dataclasses; their generated `__init__` runs interpreted even when the module is compiled,
at ~20x the cost of a written-out one (BENCHMARKS.md, "Compiled hot path"). They now
declare their fields `Final`, so mypy (run by `make lint`) refuses any assignment; this
test proves it does, on a snippet assigning to each of them.
"""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

from streams.edge import OutRecord
from streams.risk.candidate import SignalView
from streams.risk.checks import Refusal
from streams.risk.rules import Decision
from streams.strategies.base import Side, StrategyView

SNIPPET = """
from streams.edge import OutRecord
from streams.risk.candidate import SignalView
from streams.risk.checks import Refusal
from streams.risk.rules import Decision
from streams.strategies.base import Side, StrategyView

view = StrategyView(Side.BUY, 0.5, 0.5)
view.strength = 0.9
out = OutRecord(b"k", {}, [])
out.value = {"changed": True}
refusal = Refusal("too big", {"value": 2.0, "limit": 1.0})
refusal.reason = "fine"
decision = Decision(kill="stop")
decision.kill = None
signal = SignalView("id", "AAPL", "s", "BUY", 0.5, 1.0, 1, {})
signal.ref_price = 2.0
"""


def test_the_type_checker_refuses_assignments_to_every_field_assigned(tmp_path: Path) -> None:
    stdout, stderr, status = api.run(
        [
            "--config-file", "",
            "--follow-imports=silent",
            "--ignore-missing-imports",
            "--cache-dir", str(tmp_path / "cache"),
            "-c", SNIPPET,
        ]
    )  # fmt: skip
    assert status == 1, stdout + stderr
    refused = re.findall(r'Cannot assign to final attribute "(\w+)"', stdout)
    assert refused == ["strength", "value", "reason", "kill", "ref_price"], stdout


def test_the_classes_still_compare_and_print_by_value() -> None:
    assert StrategyView(Side.BUY, 0.5, 0.5) == StrategyView(Side.BUY, 0.5, 0.5, {})
    assert StrategyView(Side.BUY, 0.5, 0.5) != StrategyView(Side.BUY, 0.6, 0.5)
    assert OutRecord(b"k", 1, []) == OutRecord(b"k", 1, [], None)
    assert Decision(kill="x") != Decision()
    assert repr(Refusal("r", {})) == "Refusal(reason='r', values={})"
    signal = SignalView("id", "AAPL", "s", "BUY", 0.5, 1.0, 1, {})
    assert signal == SignalView("id", "AAPL", "s", "BUY", 0.5, 1.0, 1, {})
