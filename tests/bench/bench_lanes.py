"""A record's wait for its commit with one transactional producer and with two "lanes".

Run: .venv/bin/python -m tests.bench.bench_lanes [--rates 200,1000] [--secs 10] [--repeats 3]

The worker's commit design in isolation, on a real local broker, without the agents: a
loop makes records at a steady rate (one every 1/rate s) and commits, as
`streams.runtime.loop` does, whenever no commit is in flight and something is pending (at
least `MIN_INTERVAL_SECS` after the last one), on a commit thread, with the offsets of a
consumer-group member (KIP-447). Each record's latency is from the moment it was made to
the return of the commit that holds it: what a `read_committed` reader waits, minus fetch.

- one lane: records made while a commit is in flight are held back, then produced into
  the next transaction when it returns; that transaction's first request then meets the
  coordinator still writing the last one's markers (CONCURRENT_TRANSACTIONS: librdkafka
  retries it after a fixed 20 ms);
- two lanes: the committing producer flushes its records, and from then on records go
  straight into the other producer's transaction, which commits next.

Variants are interleaved (one lane, two lanes, per repeat and rate), and p50 / p99 are
over every record of a variant and rate; the ratio is two lanes' over one lane's from the
same run (this machine drifts more from hour to hour than the effect measured). Raw
figures: tests/bench/results/lanes.json.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.bench.bench_commit import PARTITIONS
from tests.bench.harness import RESULTS, broker, fresh_topic, group_member

MIN_INTERVAL_SECS = 0.01  # the runtime's default PRIMESTREAM_COMMIT_MIN_INTERVAL_MS
BACKOFF_MS = 2  # the runtime's default PRIMESTREAM_KAFKA_RETRY_BACKOFF_MS


def _lane(bootstrap: str) -> Producer:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"bench-lanes-{uuid.uuid4().hex[:8]}",
            "linger.ms": 5,  # as the worker
            "retry.backoff.ms": BACKOFF_MS,
            "retry.backoff.max.ms": 10,
        }
    )
    producer.init_transactions(30)
    return producer


class _Desk:
    """The loop's commit bookkeeping over LANES (1 or 2 producers)."""

    def __init__(self, lanes: list[Producer], member: Consumer, inputs: str, outputs: str):
        self.lanes, self.member, self.inputs, self.outputs = lanes, member, inputs, outputs
        self.current = 0
        self.open = [False] * len(lanes)
        self.pending: list[float] = []  # when each record of the current lane's txn was made
        self.held: list[float] = []
        self.latencies: list[float] = []
        self.offset = 0
        self.last_commit = time.perf_counter()
        self.commit: tuple[Future[None], threading.Event, list[float]] | None = None
        self.switched = False
        self._thread = ThreadPoolExecutor(max_workers=1)

    def make(self, made: float) -> None:
        if self.commit is not None and not self.switched:
            self.held.append(made)
        else:
            self._produce(made)

    def _produce(self, made: float) -> None:
        lane = self.lanes[self.current]
        if not self.open[self.current]:
            lane.begin_transaction()
            self.open[self.current] = True
        lane.produce(self.outputs, b"x" * 64, key=b"k", partition=len(self.pending) % PARTITIONS)
        self.pending.append(made)

    def step(self, now: float) -> None:
        if self.commit is not None:
            future, flushed, records = self.commit
            if not self.switched and flushed.is_set():
                self.switched = True
                self.current = 1 - self.current
                self._release()
            if future.done():
                future.result()
                done = time.perf_counter()
                self.latencies += [done - made for made in records]
                self.commit, self.last_commit = None, done
                self._release()
        for lane in self.lanes:
            lane.poll(0)
        if self.commit is None and self.pending and now - self.last_commit >= MIN_INTERVAL_SECS:
            self._begin()

    def _release(self) -> None:
        held, self.held = self.held, []
        for made in held:
            self._produce(made)

    def _begin(self) -> None:
        self.offset += 1
        index, records = self.current, self.pending
        self.pending, self.open[index], self.switched = [], False, False
        flushed = threading.Event()
        offsets = [TopicPartition(self.inputs, p, self.offset) for p in range(PARTITIONS)]
        metadata = self.member.consumer_group_metadata()
        future = self._thread.submit(self._commit, self.lanes[index], offsets, metadata, flushed)
        self.commit = (future, flushed, records)

    def _commit(
        self,
        lane: Producer,
        offsets: list[TopicPartition],
        metadata: object,
        flushed: threading.Event,
    ) -> None:
        if len(self.lanes) > 1 and lane.flush(30) == 0:
            flushed.set()
        lane.send_offsets_to_transaction(offsets, metadata, 30)
        lane.commit_transaction(30)

    def close(self) -> None:
        self._thread.shutdown(wait=True)


def run(desk: _Desk, rate: float, secs: float) -> list[float]:
    """Make RATE records/s for SECS, commit them all; return their latencies (s)."""
    desk.latencies = []
    start = time.perf_counter()
    end, made = start + secs, 0
    while True:
        now = time.perf_counter()
        while made < rate * secs and start + made / rate <= now:
            desk.make(start + made / rate)
            made += 1
        desk.step(now)
        if now >= end and desk.commit is None and not desk.pending and not desk.held:
            return desk.latencies
        time.sleep(0.0002)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="200,1000", help="Records/s, comma-separated.")
    parser.add_argument("--secs", type=float, default=10.0, help="Seconds per variant run.")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    load = [round(x, 2) for x in os.getloadavg()]
    with broker() as endpoints:
        bootstrap = endpoints.bootstrap_servers
        inputs = fresh_topic(bootstrap, "bench-lanes-in", PARTITIONS)
        outputs = fresh_topic(bootstrap, "bench-lanes-out", PARTITIONS)
        member = group_member(bootstrap, inputs)
        desks = {
            n: _Desk([_lane(bootstrap) for _ in range(n)], member, inputs, outputs) for n in (1, 2)
        }
        for desk in desks.values():
            run(desk, 100, 1.0)  # find the coordinator, warm the connections
        samples: dict[tuple[float, int], list[float]] = {(r, n): [] for r in rates for n in desks}
        for repeat in range(args.repeats):
            for rate in rates:
                for n, desk in desks.items():
                    values = run(desk, rate, args.secs)
                    samples[(rate, n)] += values
                    print(
                        f"  round {repeat + 1}/{args.repeats} {rate:>6,.0f}/s {n} lane(s): "
                        f"p50 {_pct(values, 0.5):6.1f} ms, p99 {_pct(values, 0.99):6.1f} ms"
                    )
        for desk in desks.values():
            desk.close()
        member.close()
    notes: dict[str, object] = {"secs": args.secs, "repeats": args.repeats, "load": load}
    print(f"\n  {'rate':>8} {'lanes':>5} {'p50 ms':>8} {'p99 ms':>8} {'p99 ratio':>9}")
    for rate in rates:
        base = _pct(samples[(rate, 1)], 0.99)
        for n in desks:
            values = samples[(rate, n)]
            p50, p99 = _pct(values, 0.5), _pct(values, 0.99)
            print(f"  {rate:>6,.0f}/s {n:>5} {p50:8.1f} {p99:8.1f} {p99 / base:9.2f}")
            name = f"{rate:.0f}/s, {n} lane(s)"
            notes[name] = {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "n": len(values)}
            notes[name] |= {"p99_ratio_to_one_lane": round(p99 / base, 3)}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "lanes.json"
    doc = {"bench": "lanes", "when": datetime.now(tz=UTC).isoformat(timespec="seconds"), **notes}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
