"""Golden backtests: bundled configs on real sample data, with their statistics checked in.

A change that moves a golden backtest's results fails its test with the drift listed, so
it is seen and explained. To accept new results on purpose, run the tests with
PRIMESTREAM_UPDATE_GOLDEN=1: the files are rewritten, and the diff shows in review.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["GOLDEN_DIR", "Golden", "check_golden", "goldens"]

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden" / "backtests"
_REL = 1e-9  # float noise only: the pipeline is deterministic


@dataclass(frozen=True)
class Golden:
    """One golden backtest: its inputs (CLI arguments) and where its expectations live."""

    name: str
    path: Path
    args: tuple[str, ...]
    expected: dict[str, Any]


def goldens() -> list[Golden]:
    """Return every golden backtest in GOLDEN_DIR."""
    from streams.strategies.config import EXAMPLES_DIR

    found = []
    for path in sorted(GOLDEN_DIR.glob("*.json")):
        spec = json.loads(path.read_text())
        args = (
            "--data",
            spec["data"],
            "--strategies",
            str(EXAMPLES_DIR / spec["strategies"]),
            "--capital",
            str(spec["capital"]),
            "--periods-per-year",
            str(spec["periods_per_year"]),
        )
        found.append(Golden(path.stem, path, args, spec.get("expected", {})))
    return found


def _drift(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    lines = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if isinstance(want, float) and isinstance(got, float | int):
            if math.isclose(want, float(got), rel_tol=_REL, abs_tol=1e-9):
                continue
        elif want == got:
            continue
        lines.append(f"{key}: expected {want!r}, got {got!r}")
    return lines


def check_golden(golden: Golden, report: dict[str, Any]) -> list[str]:
    """Return how REPORT (a report.json) drifted from GOLDEN's expectations; [] if it did not.

    With PRIMESTREAM_UPDATE_GOLDEN=1 the expectations are rewritten instead.
    """
    actual = {k: v for k, v in report.items() if k not in ("strategy_config", "title")}
    if os.environ.get("PRIMESTREAM_UPDATE_GOLDEN") == "1":
        spec = json.loads(golden.path.read_text())
        spec["expected"] = actual
        golden.path.write_text(json.dumps(spec, indent=2) + "\n")
        return []
    return _drift(golden.expected, actual)
