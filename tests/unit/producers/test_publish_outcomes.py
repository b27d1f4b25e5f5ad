"""What a producer's /metrics reads while it publishes: counts by outcome that only grow."""

from __future__ import annotations

from collections.abc import Iterator

from infra.metrics import PRODUCER_RECORDS, Metrics
from infra.telemetry import RecordTracer
from producers.publisher import Publisher, PublishStats
from producers.rows import SourceRow
from tests.kit import stubs


class _Producer:
    """Accepts every record (the broker path is covered by the integration tests)."""

    def produce(self, topic: str, value: bytes, key: bytes, **_: object) -> None:
        pass

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


def _rows(seen: list[dict[str, int]], stats: PublishStats, n: int) -> Iterator[SourceRow]:
    for i in range(n):
        seen.append(stats.outcomes())  # what a scrape in the middle of the run would read
        yield SourceRow(i, stubs.quote() if i % 5 else None, "unreadable")


def _publish(n: int, rate: float | None) -> tuple[PublishStats, list[dict[str, int]]]:
    stats, seen = PublishStats(), []
    publisher = Publisher(
        _Producer(),  # type: ignore[arg-type]
        "market.quotes",
        lambda r: b"v",
        lambda r: None,
        RecordTracer(None, 0.0, seed=1),
        stats=stats,
    )
    publisher.publish(_rows(seen, stats, n), rate=rate)
    return stats, seen


def test_a_paced_run_shows_every_record_as_it_goes() -> None:
    stats, seen = _publish(20, rate=100_000.0)

    produced = [s["produced"] for s in seen]
    assert produced == [0, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12, 12, 13, 14, 15]
    assert stats.outcomes() == {"produced": 16, "rejected": 4, "failed": 0}


def test_an_unpaced_run_catches_up_every_1024_records_and_at_the_end() -> None:
    stats, seen = _publish(3000, rate=None)

    produced = [s["produced"] for s in seen]
    assert produced == sorted(produced)  # a counter never goes back
    assert set(produced) == {0, 1024, 2048}
    assert stats.outcomes()["produced"] == 2400


def test_the_outcomes_become_the_producer_counter() -> None:
    stats, _ = _publish(10, rate=None)
    metrics = Metrics()
    metrics.observe(
        PRODUCER_RECORDS, lambda: {("market.quotes", k): v for k, v in stats.outcomes().items()}
    )

    text = metrics.exposition().decode()

    assert (
        'primestream_producer_records_total{outcome="produced",topic="market.quotes"} 8.0' in text
    )
    assert (
        'primestream_producer_records_total{outcome="rejected",topic="market.quotes"} 2.0' in text
    )
