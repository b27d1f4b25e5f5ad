"""The Grafana dashboard queries only metrics that exist, and shows every one of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infra.metrics import INSTRUMENTS

DASHBOARD = Path(__file__).resolve().parents[3] / "infra" / "grafana" / "primestream.json"
_NAME = re.compile(r"\b(primestream_[a-z0-9_]+)\b")


def _exprs() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_queried_metric_is_an_instrument() -> None:
    series = {name for spec in INSTRUMENTS for name in spec.series}

    queried = {name for expr in _exprs() for name in _NAME.findall(expr)}

    assert queried, "the dashboard queries nothing"
    assert queried - series == set()


def test_every_instrument_has_a_panel() -> None:
    queried = {name for expr in _exprs() for name in _NAME.findall(expr)}

    missing = [spec.name for spec in INSTRUMENTS if not set(spec.series) & queried]

    assert missing == []


def test_latency_panels_use_histogram_quantiles_over_buckets() -> None:
    quantiles = [e for e in _exprs() if e.startswith("histogram_quantile(")]

    assert {re.search(r"\((0\.\d+),", e).group(1) for e in quantiles} == {"0.5", "0.99"}  # type: ignore[union-attr]
    assert all("_bucket[" in e and "le" in e for e in quantiles)
