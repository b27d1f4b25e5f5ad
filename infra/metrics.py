"""Every metric primestream exports, defined once, so workers, producers and dashboards agree.

OpenTelemetry metrics (an SDK `MeterProvider`) read by the Prometheus reader of
opentelemetry-exporter-prometheus: the same API as our traces, and an OTLP reader could
be added beside it without touching an instrument. The reader writes into a registry of
this process's own (not prometheus-client's global one), so two apps in one test process
never mix their series, and `exposition()` renders that registry as Prometheus text.

Cost: a synchronous OpenTelemetry `add` hashes its attributes and takes a lock (several
µs). Counters are therefore *tallies*: plain dict increments, at most a few per batch,
read by observable counters only when Prometheus scrapes. Histograms are synchronous
(one stage-latency sample per batch, one end-to-end sample per position update).

Names are Prometheus base names already: a counter `x` is exposed as `x_total`, a
histogram `x_seconds` as `x_seconds_bucket`, `_sum` and `_count`, a gauge as itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from wsgiref.simple_server import WSGIServer

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Histogram, Observation
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import (
    CollectorRegistry,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

__all__ = [
    "ALERT_DELIVERIES",
    "CONSUMER_LAG",
    "CONTENT_TYPE",
    "DEADLETTERS",
    "END_TO_END_LATENCY",
    "FILLS",
    "INSTRUMENTS",
    "LATENCY_BUCKETS_SECS",
    "ORDERS",
    "PRODUCER_RECORDS",
    "RECORDS_IN",
    "RECORDS_OUT",
    "RISK_REFUSALS",
    "STAGE_LATENCY",
    "InstrumentSpec",
    "Metrics",
    "MetricsServer",
    "Tally",
    "serve_metrics",
]

Kind = Literal["counter", "histogram", "gauge"]
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The content type of `Metrics.exposition()`: the classic text format every Prometheus reads."""

LATENCY_BUCKETS_SECS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05,
    0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Upper bounds of every latency histogram: 0.1 ms to 10 s, three per decade."""


@dataclass(frozen=True)
class InstrumentSpec:
    """One instrument: its name, kind, unit (UCUM), help text and label names."""

    name: str
    kind: Kind
    unit: str
    description: str
    labels: tuple[str, ...]

    @property
    def series(self) -> tuple[str, ...]:
        """Return the names Prometheus stores for this instrument (what PromQL queries)."""
        if self.kind == "counter":
            return (f"{self.name}_total",)
        if self.kind == "histogram":
            return tuple(f"{self.name}_{part}" for part in ("bucket", "sum", "count"))
        return (self.name,)


RECORDS_IN = InstrumentSpec(
    "primestream_records_in",
    "counter",
    "{record}",
    "Records an agent consumed, by agent and input topic (logical name).",
    ("agent", "topic"),
)
RECORDS_OUT = InstrumentSpec(
    "primestream_records_out",
    "counter",
    "{record}",
    "Records an agent sent, by agent and output topic (logical name; dead letters included).",
    ("agent", "topic"),
)
STAGE_LATENCY = InstrumentSpec(
    "primestream_stage_latency_seconds",
    "histogram",
    "s",
    "Seconds one batch spent in a stage: decode, process, send, table writes.",
    ("stage",),
)
END_TO_END_LATENCY = InstrumentSpec(
    "primestream_end_to_end_latency_seconds",
    "histogram",
    "s",
    "Seconds from a market event (its event time) to the position update it caused "
    "being sent; replays and backfills measure the data's age.",
    ("agent",),
)
CONSUMER_LAG = InstrumentSpec(
    "primestream_consumer_lag",
    "gauge",
    "{record}",
    "Records of an input partition this worker holds that its group has not committed.",
    ("topic", "partition"),
)
DEADLETTERS = InstrumentSpec(
    "primestream_deadletters",
    "counter",
    "{record}",
    "Records dead-lettered, by agent and reason (the deadletter.error.type header).",
    ("agent", "reason"),
)
RISK_REFUSALS = InstrumentSpec(
    "primestream_risk_refusals",
    "counter",
    "{signal}",
    "Signals the risk gate refused, by the rule that refused them.",
    ("rule",),
)
ORDERS = InstrumentSpec(
    "primestream_orders",
    "counter",
    "{event}",
    "Order state changes (orders.events), by new status.",
    ("status",),
)
FILLS = InstrumentSpec(
    "primestream_fills",
    "counter",
    "{fill}",
    "Fills, by side.",
    ("side",),
)
PRODUCER_RECORDS = InstrumentSpec(
    "primestream_producer_records",
    "counter",
    "{record}",
    "Records a producer handled, by topic and outcome: produced, rejected (invalid input) "
    "or failed (not delivered).",
    ("topic", "outcome"),
)
ALERT_DELIVERIES = InstrumentSpec(
    "primestream_alert_deliveries",
    "counter",
    "{delivery}",
    "Alerts the alert dispatcher posted to a webhook, by kind and outcome: delivered or "
    "failed (after its retries).",
    ("kind", "outcome"),
)
INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    RECORDS_IN,
    RECORDS_OUT,
    STAGE_LATENCY,
    END_TO_END_LATENCY,
    CONSUMER_LAG,
    DEADLETTERS,
    RISK_REFUSALS,
    ORDERS,
    FILLS,
    PRODUCER_RECORDS,
    ALERT_DELIVERIES,
)
"""Every instrument; the Grafana dashboard may query only their series."""

Labels = tuple[str, ...]
Source = Callable[[], Mapping[Labels, float]]


class Tally:
    """Cumulative counts by label values, cheap to add to, read at collection time.

    Written by one thread (the worker's event loop, or the producer's loop) and read by
    the scrape; a counter only grows, so a read between two adds is still a true value.
    """

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = tuple(labels)
        self.counts: dict[Labels, int] = {}

    def add(self, values: Labels, amount: int = 1) -> None:
        """Add AMOUNT to the count of the label VALUES (in the order of `labels`)."""
        counts = self.counts
        counts[values] = counts.get(values, 0) + amount

    def get(self, *values: str) -> int:
        """Return the count of the label VALUES (0 if never added)."""
        return self.counts.get(values, 0)

    def observations(self) -> Iterator[Observation]:
        """Yield one observation per label set (a snapshot: adds may run meanwhile)."""
        labels = self.labels
        for values, count in list(self.counts.items()):
            yield Observation(count, dict(zip(labels, values, strict=True)))


class Metrics:
    """The instruments of one process and their Prometheus text.

    Nothing is exported until someone calls `exposition()` (a worker's `GET /metrics`)
    or serves it (`serve_metrics`).
    """

    def __init__(self, service_name: str = "primestream") -> None:
        self.registry = CollectorRegistry()
        # The process's CPU seconds, resident and virtual memory, open files, start time:
        # prometheus-client's standard `process_*` series (what node dashboards expect).
        ProcessCollector(registry=self.registry)
        reader = PrometheusMetricReader(
            disable_target_info=True, scope_info_enabled=False, registry=self.registry
        )
        self._provider = MeterProvider(
            metric_readers=[reader],
            resource=Resource.create({"service.name": service_name}),
            exemplar_filter=AlwaysOffExemplarFilter(),  # exemplars cost per sample; unused
            shutdown_on_exit=False,
        )
        meter = self._provider.get_meter("primestream")
        self._tallies: dict[str, Tally] = {}
        self._histograms: dict[str, Histogram] = {}
        self._sources: dict[str, Source] = {}
        for spec in INSTRUMENTS:
            if spec.kind == "counter":
                self._tallies[spec.name] = Tally(spec.labels)
                meter.create_observable_counter(
                    spec.name, [self._reader(spec)], unit=spec.unit, description=spec.description
                )
            elif spec.kind == "histogram":
                self._histograms[spec.name] = meter.create_histogram(
                    spec.name,
                    unit=spec.unit,
                    description=spec.description,
                    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_SECS,
                )
            else:
                meter.create_observable_gauge(
                    spec.name, [self._reader(spec)], unit=spec.unit, description=spec.description
                )

    def tally(self, spec: InstrumentSpec) -> Tally:
        """Return the tally behind the counter SPEC."""
        return self._tallies[spec.name]

    def histogram(self, spec: InstrumentSpec) -> Histogram:
        """Return the histogram SPEC (record seconds with its labels as attributes)."""
        return self._histograms[spec.name]

    def observe(self, spec: InstrumentSpec, source: Source) -> None:
        """Read SPEC from SOURCE ({label values: value}) at every collection.

        For a gauge, or a counter whose totals are kept elsewhere (they must only grow);
        such a counter's tally is not read any more.
        """
        self._sources[spec.name] = source

    def exposition(self) -> bytes:
        """Return every instrument with data, in the Prometheus text format."""
        return generate_latest(self.registry)

    def shutdown(self) -> None:
        """Stop the provider (nothing is exported after this)."""
        self._provider.shutdown()

    def _reader(self, spec: InstrumentSpec) -> Callable[[CallbackOptions], Iterable[Observation]]:
        tally = self._tallies.get(spec.name)

        def read(_options: CallbackOptions) -> Iterable[Observation]:
            source = self._sources.get(spec.name)
            if source is None:
                return tally.observations() if tally is not None else []
            return [
                Observation(value, dict(zip(spec.labels, values, strict=True)))
                for values, value in source().items()
            ]

        return read


class MetricsServer:
    """A `GET /metrics` HTTP server on a daemon thread (for processes without a web server)."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread

    @property
    def port(self) -> int:
        """The port it listens on (useful when asked for port 0)."""
        return int(self._server.server_address[1])

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def serve_metrics(metrics: Metrics, port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve METRICS as Prometheus text on HOST:PORT until `close()` (0: any free port)."""
    server, thread = start_http_server(port, host, registry=metrics.registry)
    return MetricsServer(server, thread)
