"""What one exactly-once commit costs: the measurement the runtime's commit design rests on.

Run: .venv/bin/python -m tests.bench.bench_commit [--rounds N] [--repeats R] [--gap-ms MS]

A worker's commit is: begin a transaction, produce its outputs, send the input offsets
with the consumer group's metadata, commit. On a real local broker (4 input and 4 output
partitions, a consumer-group member holding the inputs), each variant runs N such
cycles, interleaved with the others R times:

- per-partition producers, backoff 100 / 5 ms: faust's model (a transactional producer per
  input partition, committed one after another) with librdkafka's default
  `retry.backoff.ms`, and with 5 ms;
- one producer, backoff 100 / 5 / 2 / 1 ms: one transaction for the four partitions
  (KIP-447 fencing by the group's metadata). The baseline is 5 ms, what the worker used
  before this benchmark chose 2 (`PRIMESTREAM_KAFKA_RETRY_BACKOFF_MS`).

Why the backoff matters: right after a commit, the coordinator answers the next
transaction's first request with CONCURRENT_TRANSACTIONS until the previous one's markers
are written; the client sleeps `retry.backoff.ms` before asking again, so the default turns
a few-ms wait into ~100 ms.

With --gap-ms the cycles are MS apart (the pause is not timed): a worker at a quiet feed
commits now and then, not back to back, and an idle broker answers more slowly.

The figures are the wall time of a whole cycle (p50 / p99 over every cycle of the
variant) and commits a second (the median over repeats of 1 / each repeat's median
cycle) with its ratio to the baseline's in the same run. Raw figures:
tests/bench/results/commit.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.bench.harness import Measurement, Report, broker, fresh_topic, group_member

PARTITIONS = 4
BASELINE = "one producer, backoff 5 ms"
Cycle = Callable[[], float]


def _producer(bootstrap: str, backoff_ms: int) -> Producer:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"bench-commit-{uuid.uuid4().hex[:8]}",
            "linger.ms": 1,
            "retry.backoff.ms": backoff_ms,
            "retry.backoff.max.ms": max(backoff_ms, 10),  # as the worker
        }
    )
    producer.init_transactions(30)
    return producer


def cycle(
    producers: list[tuple[Producer, list[int]]], consumer: Consumer, inputs: str, outputs: str
) -> Cycle:
    """Return one worker commit: each producer commits its partitions' outputs and offsets."""
    offset = 0

    def run() -> float:
        nonlocal offset
        offset += 1
        began = time.perf_counter()
        for producer, partitions in producers:
            producer.begin_transaction()
            for partition in partitions:
                producer.produce(outputs, b"x" * 64, key=b"k", partition=partition)
            offsets = [TopicPartition(inputs, p, offset) for p in partitions]
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
        return time.perf_counter() - began

    return run


def _after(gap_secs: float, run: Cycle) -> float:
    if gap_secs:
        time.sleep(gap_secs)
    return run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100, help="Commit cycles per repeat.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gap-ms", type=float, default=0.0, help="Pause between cycles.")
    args = parser.parse_args()
    gap = args.gap_ms / 1e3
    load = [round(x, 2) for x in os.getloadavg()]
    with broker() as endpoints:
        bootstrap = endpoints.bootstrap_servers
        inputs = fresh_topic(bootstrap, "bench-commit-in", PARTITIONS)
        outputs = fresh_topic(bootstrap, "bench-commit-out", PARTITIONS)
        member = group_member(bootstrap, inputs)
        every = list(range(PARTITIONS))
        variants = {
            f"per-partition producers, backoff {ms} ms": cycle(
                [(_producer(bootstrap, ms), [p]) for p in every], member, inputs, outputs
            )
            for ms in (100, 5)
        } | {
            f"one producer, backoff {ms} ms": cycle(
                [(_producer(bootstrap, ms), every)], member, inputs, outputs
            )
            for ms in (100, 5, 2, 1)
        }
        for run in variants.values():
            run()  # the first transaction of a producer also finds its coordinator
        times: dict[str, list[float]] = {name: [] for name in variants}
        measured = {name: Measurement(name) for name in variants}
        for repeat in range(args.repeats):
            for name, run in variants.items():
                cycles = [_after(gap, run) for _ in range(args.rounds)]
                times[name] += cycles
                measured[name].rates.append(1 / statistics.median(cycles))
                p50 = statistics.median(cycles) * 1e3
                print(f"  round {repeat + 1}/{args.repeats} {name:<42} p50 {p50:7.1f} ms")
        member.close()
    notes: dict[str, object] = {
        "rounds": args.rounds,
        "repeats": args.repeats,
        "gap_ms": args.gap_ms,
        "load": load,
    }
    base = measured[BASELINE].median
    print(f"\n  {'variant':<42} {'p50 ms':>8} {'p99 ms':>8} {'commits/s':>10} {'ratio':>6}")
    for name, values in times.items():
        values.sort()
        p50, p99 = statistics.median(values) * 1e3, values[int(0.99 * (len(values) - 1))] * 1e3
        rate = measured[name].median
        print(f"  {name:<42} {p50:8.1f} {p99:8.1f} {rate:10,.0f} {rate / base:6.2f}")
        notes[name] = {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2)}
    print(f"saved {Report('commit', BASELINE, measured, notes).save()}")


if __name__ == "__main__":
    main()
