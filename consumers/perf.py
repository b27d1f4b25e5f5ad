"""The performance analyzer: per-stage throughput and latency from traces, against targets.

A trace is one market event's path: `send` (the producer) → `signals` → `risk` → `order`
→ `fill` → `position` (`streams.trading.core`). A stage's **latency** is how long after the event
was sent the stage's span ended: end of the span minus start of the trace's root span, so
"signals under 50 ms" means a signal was out within 50 ms of its market update, as the
original signal service promised. A stage's **throughput** is its spans per minute over
the window, divided by the sampling ratio (a ratio-sampled run records a fraction of the
traces; the figure is then an estimate, and the report says so).

Targets start from the original system's: data updates 1,000/min; signals 200/min, each
under 50 ms; trades 100/min, each under 100 ms. A stage is **over target** when its p99
latency is above its latency target. Throughput targets are shown, and a stage below one
is marked, but they do not gate: throughput follows demand, and a quiet market is not a
failure. Targets come from a TOML file's `[perf.targets.<stage>]` tables.
"""

from __future__ import annotations

import math
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.telemetry import SAMPLE_RATIO
from infra.trace_reader import TraceSpan, stage_of

__all__ = [
    "DEFAULT_TARGETS",
    "STAGE_ORDER",
    "StageFigures",
    "StageTarget",
    "active_window_secs",
    "load_targets",
    "percentile",
    "sample_ratio_of",
    "stage_figures",
]

#: the stages in pipeline order; `send` is the producer's span (the trace's root)
STAGE_ORDER = ("send", "signals", "risk", "order", "fill", "position")


@dataclass(frozen=True)
class StageTarget:
    """What a stage should do: at least MIN_PER_MIN, with p99 latency under MAX_P99_MS."""

    stage: str
    label: str
    min_per_min: float | None = None
    max_p99_ms: float | None = None


DEFAULT_TARGETS: Mapping[str, StageTarget] = {
    "send": StageTarget("send", "data updates", min_per_min=1_000.0),
    "signals": StageTarget("signals", "signals", min_per_min=200.0, max_p99_ms=50.0),
    "risk": StageTarget("risk", "risk decisions"),
    "order": StageTarget("order", "orders"),
    "fill": StageTarget("fill", "trades", min_per_min=100.0, max_p99_ms=100.0),
    "position": StageTarget("position", "position updates"),
}


@dataclass(frozen=True)
class StageFigures:
    """One stage's measured figures over a window, and how they compare with its target."""

    stage: str
    spans: int
    per_min: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    target: StageTarget

    @property
    def over_target(self) -> bool:
        """Return True when p99 latency is above the latency target (the gate)."""
        limit = self.target.max_p99_ms
        return limit is not None and self.p99_ms is not None and self.p99_ms > limit

    @property
    def below_throughput(self) -> bool:
        """Return True when throughput was under its target (shown, not gated)."""
        floor = self.target.min_per_min
        return floor is not None and self.per_min < floor


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the Q-th percentile (0-100) of VALUES, nearest-rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def stage_figures(
    traces: Iterable[Sequence[TraceSpan]],
    *,
    window_secs: float,
    sample_ratio: float = 1.0,
    targets: Mapping[str, StageTarget] = DEFAULT_TARGETS,
) -> list[StageFigures]:
    """Return the figures of every stage seen in TRACES (or targeted), in pipeline order."""
    if window_secs <= 0.0 or not 0.0 < sample_ratio <= 1.0:
        raise ValueError("window_secs must be > 0 and sample_ratio in (0, 1]")
    latencies: dict[str, list[float]] = defaultdict(list)
    for spans in traces:
        if not spans:
            continue
        root_us = min(span.start_us for span in spans)
        for span in spans:
            ended_us = span.start_us + span.duration_us
            latencies[stage_of(span)].append((ended_us - root_us) / 1_000.0)
    stages = [s for s in STAGE_ORDER if s in latencies or s in targets]
    stages += sorted(set(latencies) - set(stages))
    figures = []
    for stage in stages:
        values = latencies.get(stage, [])
        figures.append(
            StageFigures(
                stage=stage,
                spans=len(values),
                per_min=len(values) / sample_ratio / (window_secs / 60.0),
                p50_ms=percentile(values, 50),
                p95_ms=percentile(values, 95),
                p99_ms=percentile(values, 99),
                target=targets.get(stage, StageTarget(stage, stage)),
            )
        )
    return figures


def sample_ratio_of(traces: Iterable[Sequence[TraceSpan]]) -> float | None:
    """Return the sampling ratio the producers recorded on their spans (the smallest seen).

    None when no span says (an older producer, or a trace without its producer span).
    """
    ratios = []
    for spans in traces:
        for span in spans:
            value = span.tags.get(SAMPLE_RATIO)
            if value is not None:
                try:
                    ratios.append(float(value))
                except ValueError:
                    continue
    valid = [r for r in ratios if 0.0 < r <= 1.0]
    return min(valid) if valid else None


def active_window_secs(traces: Iterable[Sequence[TraceSpan]], *, floor_secs: float = 1.0) -> float:
    """Return the time from the first span's start to the last span's end, at least FLOOR."""
    starts, ends = [], []
    for spans in traces:
        for span in spans:
            starts.append(span.start_us)
            ends.append(span.start_us + span.duration_us)
    if not starts:
        return floor_secs
    return max(floor_secs, (max(ends) - min(starts)) / 1e6)


def load_targets(path: Path | None) -> dict[str, StageTarget]:
    """Return the defaults, overridden by PATH's `[perf.targets.<stage>]` tables.

    Each table may set `label`, `min_per_min` and `max_p99_ms` (0 or a negative value:
    no target). Raise ValueError naming the key for anything else.
    """
    targets = dict(DEFAULT_TARGETS)
    if path is None:
        return targets
    with path.open("rb") as f:
        tables = tomllib.load(f).get("perf", {}).get("targets", {})
    for stage, table in tables.items():
        base = targets.get(stage, StageTarget(stage, stage))
        unknown = set(table) - {"label", "min_per_min", "max_p99_ms"}
        if unknown:
            raise ValueError(f"perf.targets.{stage}.{sorted(unknown)[0]}: unknown key")
        targets[stage] = StageTarget(
            stage,
            str(table.get("label", base.label)),
            _limit(table, "min_per_min", base.min_per_min, stage),
            _limit(table, "max_p99_ms", base.max_p99_ms, stage),
        )
    return targets


def _limit(
    table: Mapping[str, object], key: str, default: float | None, stage: str
) -> float | None:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"perf.targets.{stage}.{key}: not a number: {value!r}")
    return float(value) if value > 0 else None
