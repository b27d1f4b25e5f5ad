"""The instrument list is what Prometheus sees: names, buckets, and a server that serves them."""

from __future__ import annotations

import re
import urllib.request

from infra.metrics import (
    CONSUMER_LAG,
    END_TO_END_LATENCY,
    INSTRUMENTS,
    LATENCY_BUCKETS_SECS,
    PRODUCER_RECORDS,
    RECORDS_IN,
    STAGE_LATENCY,
    Metrics,
    serve_metrics,
)

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? ", re.MULTILINE)


def _filled() -> Metrics:
    """Return metrics with one value in every instrument."""
    metrics = Metrics()
    for spec in INSTRUMENTS:
        values = tuple(f"{label}-1" for label in spec.labels)
        if spec.kind == "counter":
            metrics.tally(spec).add(values, 2)
        elif spec.kind == "histogram":
            metrics.histogram(spec).record(0.003, dict(zip(spec.labels, values, strict=True)))
        else:
            metrics.observe(spec, lambda v=values: {v: 5.0})
    return metrics


def test_every_instrument_is_exposed_under_the_names_its_spec_gives() -> None:
    text = _filled().exposition().decode()

    exposed = {m.group(1) for m in _SAMPLE.finditer(text) if not m.group(1).startswith("process_")}

    assert exposed == {name for spec in INSTRUMENTS for name in spec.series}


def test_labels_are_the_specs_labels() -> None:
    text = _filled().exposition().decode()

    for spec in INSTRUMENTS:
        for match in _SAMPLE.finditer(text):
            if match.group(1) in spec.series:
                labels = {pair.split("=")[0] for pair in match.group(2).split(",")} - {"le"}
                assert labels == set(spec.labels), spec.name


def test_latency_histograms_have_buckets_from_a_tenth_of_a_millisecond_to_ten_seconds() -> None:
    metrics = Metrics()
    metrics.histogram(STAGE_LATENCY).record(0.00005, {"stage": "desk"})
    metrics.histogram(END_TO_END_LATENCY).record(12.0, {"agent": "desk"})

    text = metrics.exposition().decode()

    for spec in (STAGE_LATENCY, END_TO_END_LATENCY):
        bounds = re.findall(rf'{spec.name}_bucket\{{[^}}]*le="([^"]+)"', text)
        assert bounds == [*(str(float(b)) for b in LATENCY_BUCKETS_SECS), "+Inf"]
    assert 'primestream_stage_latency_seconds_bucket{le="0.0001",stage="desk"} 1.0' in text
    assert 'primestream_end_to_end_latency_seconds_bucket{agent="desk",le="10.0"} 0.0' in text


def test_counters_add_up_and_processes_do_not_share_them() -> None:
    one, other = Metrics(), Metrics()
    one.tally(RECORDS_IN).add(("desk", "market.quotes"), 3)
    one.tally(RECORDS_IN).add(("desk", "market.quotes"), 4)

    assert one.tally(RECORDS_IN).get("desk", "market.quotes") == 7
    assert 'primestream_records_in_total{agent="desk",topic="market.quotes"} 7.0' in (
        one.exposition().decode()
    )
    assert "primestream_records_in_total" not in other.exposition().decode()


def test_a_gauge_is_read_at_each_scrape() -> None:
    metrics = Metrics()
    lag = {("market.quotes", "0"): 10.0}
    metrics.observe(CONSUMER_LAG, lambda: lag)
    first = metrics.exposition().decode()
    lag[("market.quotes", "0")] = 0.0

    second = metrics.exposition().decode()

    assert 'primestream_consumer_lag{partition="0",topic="market.quotes"} 10.0' in first
    assert 'primestream_consumer_lag{partition="0",topic="market.quotes"} 0.0' in second


def test_the_metrics_server_serves_the_text() -> None:
    metrics = Metrics()
    totals = {("market.quotes", "produced"): 5.0}
    metrics.observe(PRODUCER_RECORDS, lambda: totals)
    server = serve_metrics(metrics, 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as r:
            text = r.read().decode()
            content_type = r.headers["Content-Type"]
    finally:
        server.close()

    assert (
        'primestream_producer_records_total{outcome="produced",topic="market.quotes"} 5.0' in text
    )
    assert content_type.startswith("text/plain")


def test_process_cpu_and_resident_memory_are_exported() -> None:
    text = Metrics().exposition().decode()

    samples = {m.group(1): line for line in text.splitlines() if (m := _SAMPLE.match(line))}

    assert float(samples["process_cpu_seconds_total"].split()[-1]) > 0.0
    assert float(samples["process_resident_memory_bytes"].split()[-1]) > 10 * 2**20
