"""Producer throughput: Avro quotes through our publisher vs raw bytes of the same size.

Run: make bench (or: .venv/bin/python -m tests.bench.bench_producer [--records N]).
All variants use the same producer configuration (idempotent, acks=all, lz4) and
pre-generated input, and include the final flush (records are acknowledged, not queued).
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from typing import Any

import fastavro
from confluent_kafka import Producer

from infra.clients import producer_config
from infra.clock import ManualClock
from infra.settings import Settings
from infra.telemetry import RecordTracer
from producers.market.synthetic import SyntheticSource
from producers.publisher import Publisher
from producers.rows import SourceRow
from producers.validation import ValidationLimits, validate_quote
from schemas.catalog import parsed_schema
from schemas.codec import serializer_for
from tests.bench.harness import Report, broker, fresh_topic, interleave

_SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def _quotes(n: int) -> list[SourceRow]:
    source = SyntheticSource(
        ManualClock(), symbols=("AAPL", "MSFT", "GOOG", "AMZN", "TSLA"), seed=1, count=n
    )
    return list(source.records())


def _timed(run: Callable[[], int]) -> float:
    start = time.perf_counter()
    sent = run()
    return sent / (time.perf_counter() - start)


def _producer(bootstrap: str) -> Producer:
    return Producer(producer_config(_SETTINGS, bootstrap, **{"delivery.report.only.error": True}))


def _raw(bootstrap: str, payloads: list[tuple[bytes, bytes]]) -> float:
    topic = fresh_topic(bootstrap, "bench-raw")
    producer = _producer(bootstrap)

    def run() -> int:
        for i, (key, value) in enumerate(payloads):
            while True:
                try:
                    producer.produce(topic, value, key)
                    break
                except BufferError:
                    producer.poll(0.05)
            if i & 0x3FF == 0:
                producer.poll(0)
        assert producer.flush(60) == 0
        return len(payloads)

    return _timed(run)


def _naive_fastavro(bootstrap: str, rows: list[SourceRow]) -> float:
    topic = fresh_topic(bootstrap, "bench-naive")
    producer = _producer(bootstrap)
    schema = parsed_schema("Quote")

    def run() -> int:
        for i, row in enumerate(rows):
            rec: dict[str, Any] = row.record  # type: ignore[assignment]
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, schema, rec)
            while True:
                try:
                    producer.produce(topic, buf.getvalue(), rec["symbol"].encode())
                    break
                except BufferError:
                    producer.poll(0.05)
            if i & 0x3FF == 0:
                producer.poll(0)
        assert producer.flush(60) == 0
        return len(rows)

    return _timed(run)


def _publisher(
    bootstrap: str, rows: list[SourceRow], *, validate: bool, sample_ratio: float
) -> float:
    topic = fresh_topic(bootstrap, "bench-avro")
    limits = ValidationLimits()
    now = (
        rows[-1].record["ts_event_us"] if rows[-1].record else 0
    )  # a fixed clock: no future rejects

    def check(rec: Any) -> None:
        validate_quote(rec, now_us=now, limits=limits)

    publisher = Publisher(
        _producer(bootstrap),
        topic,
        serializer_for("Quote", registry=None),
        check if validate else (lambda _rec: None),
        RecordTracer(None, sample_ratio),
    )

    def run() -> int:
        stats = publisher.publish(rows)
        assert stats.delivered == len(rows), stats
        return stats.sent

    return _timed(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = _quotes(args.records)
    encode = serializer_for("Quote", registry=None)
    # The baseline sends the very bytes the Avro path produces, pre-encoded: same sizes,
    # same compressibility, so the ratio is the cost of our per-record work alone.
    payloads = [(r.record["symbol"].encode(), encode(r.record)) for r in rows if r.record]
    size = round(sum(len(v) for _, v in payloads) / len(payloads))
    with broker() as endpoints:
        bootstrap = endpoints.bootstrap_servers
        measurements = interleave(
            {
                f"raw pre-encoded bytes ({size} B)": lambda: _raw(bootstrap, payloads),
                "naive fastavro per record": lambda: _naive_fastavro(bootstrap, rows),
                "publisher: encode+traceparent": lambda: _publisher(
                    bootstrap, rows, validate=False, sample_ratio=0.0
                ),
                "publisher: validate+encode+traceparent": lambda: _publisher(
                    bootstrap, rows, validate=True, sample_ratio=0.0
                ),
            },
            args.repeats,
        )
    report = Report(
        "producer",
        f"raw pre-encoded bytes ({size} B)",
        measurements,
        notes={"records": args.records, "avro_bytes_per_record": size},
    )
    print("\n".join(report.lines()))
    print(f"saved {report.save()}")


if __name__ == "__main__":
    main()
