"""The performance analyzer's figures: latency since the market event, throughput, targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.perf import DEFAULT_TARGETS, load_targets, percentile, stage_figures
from infra.trace_reader import TraceSpan


def _span(trace: str, name: str, start_ms: float, duration_ms: float) -> TraceSpan:
    return TraceSpan(
        trace_id=trace,
        span_id=f"{trace}-{name}",
        parent_id=None,
        name=f"{name} t.market.quotes",
        kind=None,
        start_us=int(start_ms * 1000),
        duration_us=int(duration_ms * 1000),
        service="primestream",
        tags={},
    )


def _trace(n: int, signal_end_ms: float, fill_end_ms: float) -> list[TraceSpan]:
    t = f"t{n}"
    return [
        _span(t, "send", 0.0, 1.0),
        _span(t, "signals", signal_end_ms - 1.0, 1.0),
        _span(t, "fill", fill_end_ms - 2.0, 2.0),
    ]


def test_latency_runs_from_the_trace_root_to_the_end_of_the_stage_span() -> None:
    traces = [_trace(i, signal_end_ms=10.0 + i, fill_end_ms=80.0 + i) for i in range(100)]

    figures = {f.stage: f for f in stage_figures(traces, window_secs=60.0)}

    assert figures["signals"].p50_ms == pytest.approx(59.0)  # 10..109 ms, nearest rank
    assert figures["signals"].p99_ms == pytest.approx(108.0)
    assert figures["fill"].p99_ms == pytest.approx(178.0)
    assert figures["send"].p99_ms == pytest.approx(1.0)
    assert figures["signals"].per_min == 100.0


def test_a_stage_over_its_p99_target_is_flagged_and_one_within_is_not() -> None:
    fast = [_trace(i, signal_end_ms=20.0, fill_end_ms=99.0) for i in range(200)]
    slow = [_trace(i, signal_end_ms=51.0, fill_end_ms=101.0) for i in range(200)]

    within = {f.stage: f for f in stage_figures(fast, window_secs=60.0)}
    over = {f.stage: f for f in stage_figures(slow, window_secs=60.0)}

    assert not within["signals"].over_target
    assert not within["fill"].over_target
    assert over["signals"].over_target
    assert over["fill"].over_target
    assert not over["risk"].over_target, "no latency target, no spans: never over"


def test_throughput_is_scaled_by_the_sampling_ratio_and_below_target_is_marked() -> None:
    traces = [_trace(i, 10.0, 50.0) for i in range(50)]

    sampled = {f.stage: f for f in stage_figures(traces, window_secs=60.0, sample_ratio=0.1)}
    whole = {f.stage: f for f in stage_figures(traces, window_secs=60.0)}

    assert sampled["signals"].per_min == pytest.approx(500.0)
    assert not sampled["signals"].below_throughput
    assert whole["signals"].below_throughput, "50/min is under the original 200/min"
    assert not whole["signals"].over_target, "throughput does not gate"


def test_stages_come_in_pipeline_order_with_every_targeted_stage() -> None:
    figures = stage_figures([_trace(0, 10.0, 50.0)], window_secs=60.0)

    assert [f.stage for f in figures] == ["send", "signals", "risk", "order", "fill", "position"]
    assert figures[2].spans == 0
    assert figures[2].p99_ms is None


def test_targets_start_from_the_original_system_and_a_file_overrides_them(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        "[perf.targets.signals]\nmax_p99_ms = 20\n[perf.targets.fill]\nmax_p99_ms = 0\n"
    )

    targets = load_targets(path)

    assert DEFAULT_TARGETS["signals"].max_p99_ms == 50.0
    assert DEFAULT_TARGETS["fill"].min_per_min == 100.0
    assert targets["signals"].max_p99_ms == 20.0
    assert targets["signals"].min_per_min == 200.0
    assert targets["fill"].max_p99_ms is None


def test_an_unknown_target_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("[perf.targets.signals]\nmax_p99 = 20\n")

    with pytest.raises(ValueError, match=r"perf\.targets\.signals\.max_p99"):
        load_targets(path)


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0


def test_the_sampling_ratio_comes_from_the_producer_spans_and_the_window_from_the_spans() -> None:
    from dataclasses import replace

    from consumers.perf import active_window_secs, sample_ratio_of
    from infra.telemetry import SAMPLE_RATIO

    first, second = _trace(0, 10.0, 50.0), _trace(1, 10.0, 50.0)
    tagged = [replace(first[0], tags={SAMPLE_RATIO: "0.05"}), *first[1:]]
    later = [replace(s, start_us=s.start_us + 30_000_000) for s in second]

    assert sample_ratio_of([tagged, later]) == 0.05
    assert sample_ratio_of([first]) is None
    assert active_window_secs([tagged, later]) == pytest.approx(30.05)
    assert active_window_secs([]) == 1.0
