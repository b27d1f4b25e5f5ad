"""What every benchmark shares: a real broker, fresh topics, interleaved repeats, ratios.

The machine is shared and noisy, so a figure is never reported alone: each variant is run
several times interleaved with its baseline in the same process, and the report gives the
median rate and the ratio of medians against the baseline measured in the same run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from infra import local
from infra.local import Endpoints
from infra.settings import Settings

__all__ = ["Measurement", "Report", "broker", "fresh_topic", "group_member", "interleave"]

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def broker(*, with_registry: bool = False) -> Iterator[Endpoints]:
    """Yield a real broker: the configured one, else a local one in a temporary home."""
    configured = os.environ.get("PRIMESTREAM_BOOTSTRAP_SERVERS")
    if configured:
        yield Endpoints(configured, os.environ.get("PRIMESTREAM_SCHEMA_REGISTRY_URL"))
        return
    with tempfile.TemporaryDirectory(prefix="primestream-bench-") as home:
        settings = Settings(_env_file=None, home=Path(home), kafka_port=0, registry_port=0)  # type: ignore[call-arg]
        endpoints = local.up(settings, with_registry=with_registry, progress=print)
        try:
            yield endpoints
        finally:
            local.down(settings)


def group_member(bootstrap: str, topic: str) -> Consumer:
    """Return a read_committed consumer-group member holding TOPIC's partitions."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-commit-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + 30
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise RuntimeError("the consumer got no partitions in 30 s")
        consumer.poll(0.2)
    return consumer


def fresh_topic(bootstrap: str, prefix: str, partitions: int = 4) -> str:
    """Create and return a new topic named PREFIX-<random>."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    return name


@dataclass
class Measurement:
    """Rates (records/s) of one variant over the repeats."""

    name: str
    rates: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median rate in records/s."""
        return statistics.median(self.rates)


def interleave(variants: dict[str, Callable[[], float]], repeats: int) -> dict[str, Measurement]:
    """Run each variant REPEATS times, round-robin, so drift hits all of them alike."""
    results = {name: Measurement(name) for name in variants}
    for round_no in range(repeats):
        for name, run in variants.items():
            rate = run()
            results[name].rates.append(rate)
            print(f"  round {round_no + 1}/{repeats} {name:<36} {rate:>12,.0f} rec/s", flush=True)
    return results


@dataclass
class Report:
    """A benchmark's figures as ratios against its baseline, saved as JSON."""

    bench: str
    baseline: str
    measurements: dict[str, Measurement]
    notes: dict[str, object] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Return a readable table of median rates and ratios."""
        base = self.measurements[self.baseline].median
        runs = len(self.measurements[self.baseline].rates)
        out = [f"{self.bench}: median of {runs} interleaved runs"]
        out.append(f"  {'variant':<38} {'records/s':>12} {'ratio':>7}")
        for m in self.measurements.values():
            out.append(f"  {m.name:<38} {m.median:>12,.0f} {m.median / base:>7.2f}")
        return out

    def save(self) -> Path:
        """Write the report to tests/bench/results/<bench>.json and return the path."""
        RESULTS.mkdir(exist_ok=True)
        base = self.measurements[self.baseline].median
        doc = {
            "bench": self.bench,
            "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "baseline": self.baseline,
            "variants": {
                m.name: {
                    "median_per_sec": round(m.median),
                    "ratio": round(m.median / base, 3),
                    "runs_per_sec": [round(r) for r in m.rates],
                }
                for m in self.measurements.values()
            },
            "notes": self.notes,
        }
        path = RESULTS / f"{self.bench}.json"
        path.write_text(json.dumps(doc, indent=2) + "\n")
        return path
