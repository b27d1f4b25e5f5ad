"""Counting a batch from what it emitted, and recording it: the paper desk's real outputs."""

from __future__ import annotations

from collections import Counter

from infra.clock import ManualClock
from infra.metrics import Metrics
from streams.edge import StageOutput
from streams.readiness import LastError
from streams.risk.config import RiskLimits
from streams.stage_metrics import StageMetrics, count_batch
from tests.kit import stubs
from tests.kit.desk import (
    PAPER_LIMITS,
    RawRecord,
    avro_decoders,
    offline_desk,
    paper_risk,
    scripted_quotes,
)

_TOPIC = "ns.market.quotes"


def _batch() -> list[RawRecord]:
    """The scripted path (BUY on quote 3, SELL on quote 5), then one record that is not Avro."""
    quotes = scripted_quotes(_TOPIC)
    return [*quotes, RawRecord(b"\x00not avro", len(quotes), topic=_TOPIC)]


def _run(limits: RiskLimits = PAPER_LIMITS) -> StageOutput:
    desk = offline_desk(avro_decoders(_TOPIC), risk=paper_risk(limits))
    tables: dict[str, dict[str, object]] = {name: {} for name in desk.tables()}
    return desk.process(_batch(), {n: t.get for n, t in tables.items()})


def test_a_batch_is_counted_by_topic_status_side_and_reason() -> None:
    out = _run()

    counts = count_batch(9, out)

    assert counts.records_in == 9
    assert counts.records_out == Counter(
        {
            "signals": 2,
            "orders": 2,
            "orders.events": 4,
            "fills": 2,
            "positions": len(out.of("positions")),
            "deadletter": 1,
        }
    )
    assert counts.orders == Counter({"NEW": 2, "FILLED": 2})
    assert counts.fills == Counter({"BUY": 1, "SELL": 1})
    assert counts.deadletters == Counter({"DecodeError": 1})
    assert counts.last_deadletter is not None
    assert counts.last_deadletter[0] == "DecodeError"
    assert counts.refusals == Counter()
    assert counts.position_event_times_us == [p["ts_event_us"] for p in out.of("positions")]


def test_refusals_are_counted_by_the_rule_that_refused() -> None:
    tight = RiskLimits(
        min_confidence=0.0,
        cooldown_secs=0.0,
        allow_short=True,
        calendar=None,
        max_order_notional=500.0,  # 100 shares at ~11 is more
    )
    out = _run(tight)

    counts = count_batch(9, out)

    assert counts.refusals == Counter({"max_order_notional": 2})
    assert counts.orders == Counter()
    assert counts.fills == Counter()


def test_recording_a_batch_fills_the_instruments() -> None:
    metrics = Metrics()
    clock = ManualClock(stubs.T0_US + 10_000_000)  # 10 s after the first quote
    errors = LastError()
    stage = StageMetrics(
        metrics, "desk", {"ns.market.quotes": "market.quotes"}, errors=errors, clock=clock
    )
    out = _run()

    stage.record("ns.market.quotes", 9, out, 0.004)

    text = metrics.exposition().decode()
    assert 'primestream_records_in_total{agent="desk",topic="market.quotes"} 9.0' in text
    assert 'primestream_records_out_total{agent="desk",topic="fills"} 2.0' in text
    assert 'primestream_deadletters_total{agent="desk",reason="DecodeError"} 1.0' in text
    assert 'primestream_orders_total{status="FILLED"} 2.0' in text
    assert 'primestream_fills_total{side="SELL"} 1.0' in text
    assert 'primestream_stage_latency_seconds_bucket{le="0.005",stage="desk"} 1.0' in text
    assert 'primestream_stage_latency_seconds_bucket{le="0.0025",stage="desk"} 0.0' in text
    positions = out.of("positions")
    expected_secs = sum(clock() - p["ts_event_us"] for p in positions) / 1e6
    assert (
        f'primestream_end_to_end_latency_seconds_count{{agent="desk"}} {float(len(positions))}'
        in text
    )
    assert f'primestream_end_to_end_latency_seconds_sum{{agent="desk"}} {expected_secs}' in text
    snapshot = errors.snapshot()
    assert snapshot is not None
    assert snapshot["message"].startswith("DecodeError")
    assert snapshot["at_us"] == clock()


def test_batches_add_up() -> None:
    metrics = Metrics()
    stage = StageMetrics(metrics, "signals", {"signals": "signals"})

    stage.record("signals", 3, StageOutput(), 0.001)
    stage.record("signals", 4, StageOutput(), 0.001)

    assert 'primestream_records_in_total{agent="signals",topic="signals"} 7.0' in (
        metrics.exposition().decode()
    )
