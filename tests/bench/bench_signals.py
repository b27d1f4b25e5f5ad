"""Signal engine on the real broker: raw consume+decode vs our worker vs quixstreams (issue 3).

Run: .venv/bin/python -m tests.bench.bench_signals [--quotes N] [--repeats R] [--no-latency]

Throughput. Every round gets a fresh namespace (topics, consumer groups, state) holding
the same seeded synthetic quotes, produced with the project's publisher *before* anything
reads them, so production is never timed. Over that one topic, round-robin with the
order rotated each round:

- raw: a confluent-kafka Consumer, `consume(num_messages=...)` + our Avro decoder (the
  Python ceiling), timed from the first fetched batch to the last record;
- ours: the real `primestream worker` (faust, exactly-once) as a subprocess;
- quixstreams: an Application (exactly-once) doing the same per-symbol work with
  `SymbolEngine`, state in its RocksDB State store, signals encoded with our encoder,
  also a subprocess.

The two stream processors are timed from outside by their consumer group's committed
lag, polled every 0.25 s: the rate is the records committed between the first poll that
sees the lag drop and the first that sees it at zero, over that interval. Start-up,
rebalance and state recovery are excluded; zero is seen up to one commit interval plus
one poll late, which biases both slightly low.

Latency (`latency_at_rate`). A fresh worker; quotes paced at 5,000/s for ~25 s, each
stamped with the wall clock as the publisher takes it (event time = send time). A
signal's latency is its Kafka record timestamp (produced, read back read_uncommitted) or
the time a read_committed reader received it (visible), minus the quote event time it
carries (`ts_event_us`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from quixstreams import Application
from quixstreams.models.serializers import Deserializer, Serializer

from cli.produce_commands import publish_rows
from cli.topic_commands import apply_all
from consumers.lag import group_lag
from infra.clients import consumer_config
from infra.clock import wall_clock_us
from infra.settings import Settings
from producers.market.synthetic import SyntheticSource
from producers.rows import SourceRow
from producers.validation import ValidationLimits, validate_quote
from schemas.clients import Clients
from schemas.codec import deserializer_for, serializer_for
from streams.context import app_id, default_strategy_config
from streams.engine import EngineSettings, Event, SymbolEngine
from streams.strategies import StrategyConfig, load_config
from tests.bench.harness import Measurement, Report, broker, fresh_topic

ROOT = Path(__file__).resolve().parents[2]
_CLI = str(Path(sys.executable).with_name("primestream"))
SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "NFLX")
SEED = 3
PARTITIONS = 4
POLL_SECS = 0.25
DRAIN_SECS = 60.0  # how long the latency run waits for a worker that fell behind
QUIX_COMMIT_SECS = 0.1  # our worker's default commit interval: the same visibility bound
RAW = "raw consume+decode (confluent-kafka)"
OURS = "primestream worker (faust, EOS)"
QUIX = "quixstreams (EOS, same engine)"
LATENCY_METHOD = (
    "fresh worker, 500 warm-up quotes until committed, then quotes paced by the publisher, "
    "ts_event_us = wall clock when the publisher takes each one; produced = signal record "
    "timestamp (CreateTime, ms) - ts_event_us, read back read_uncommitted; visible = wall "
    "clock when a read_committed reader (default fetch wait; same process as the feed) "
    "got it - ts_event_us; visible - produced = its wait for the commit; warm-up signals "
    "excluded"
)
_PCTS = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
_SIGNAL_DECODER = deserializer_for("Signal", registry=None)
FAST_STRATEGIES = """\
[strategies.fast_cross]
kind = "ma_cross"
symbols = "*"
params = { fast = 2, slow = 5, ma = "sma" }
"""


# --------------------------------------------------------------------------- namespaces
@dataclass(frozen=True)
class Namespace:
    """One fresh namespace on the shared broker, and the env a CLI subprocess needs."""

    settings: Settings
    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        """The broker's bootstrap servers."""
        return self.settings.bootstrap_servers or ""

    def topic(self, name: str) -> str:
        """Return NAME inside this namespace."""
        return self.settings.topic(name)


def make_namespace(
    bootstrap: str,
    home: Path,
    *,
    commit_interval_ms: float = 100.0,
    feed: Mapping[str, str] | None = None,
) -> Namespace:
    """Create a fresh namespace (registry off, 4 partitions) and apply its topic table.

    FEED: `PRIMESTREAM_*` settings (scalar ones) for this process's side, the feed's
    producer, e.g. PRIMESTREAM_PUBLISH_LINGER_MS; the worker gets its own through its env.
    """
    name = f"b{uuid.uuid4().hex[:10]}"
    fields = {k.removeprefix("PRIMESTREAM_").lower(): v for k, v in (feed or {}).items()}
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        bootstrap_servers=bootstrap,
        namespace=name,
        home=home,
        registry=False,
        partitions=PARTITIONS,
        commit_interval_ms=commit_interval_ms,
        **fields,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIMESTREAM_")}
    env |= {
        "PRIMESTREAM_BOOTSTRAP_SERVERS": bootstrap,
        "PRIMESTREAM_NAMESPACE": name,
        "PRIMESTREAM_HOME": str(home),
        "PRIMESTREAM_REGISTRY": "false",
        "PRIMESTREAM_PARTITIONS": str(PARTITIONS),
        "PRIMESTREAM_COMMIT_INTERVAL_MS": str(commit_interval_ms),
    }
    apply_all(Clients(settings))
    return Namespace(settings, env)


def publish_quotes(ns: Namespace, rows: Iterator[SourceRow], *, rate: float | None = None) -> int:
    """Send ROWS to the namespace's quotes topic the way `produce market` does; return count."""
    limits = ValidationLimits.from_settings(ns.settings)

    def validate(rec: Mapping[str, Any]) -> None:
        validate_quote(rec, now_us=wall_clock_us(), limits=limits)

    stats = publish_rows(
        Clients(ns.settings),
        rows,
        topic_name="market.quotes",
        record="Quote",
        validate=validate,
        rate=rate,
    )
    if stats.delivered != stats.sent or stats.rejected:
        raise RuntimeError(f"publishing quotes went wrong: {stats}")
    return stats.delivered


def live_quotes(symbols: tuple[str, ...]) -> Iterator[SourceRow]:
    """Yield endless synthetic quotes stamped with the wall clock when the publisher pulls them.

    The publisher pulls a row right before it validates, encodes and sends it, so the
    event time is the send time: latency measured from it includes our own producer.
    """
    source = SyntheticSource(wall_clock_us, symbols=symbols, seed=SEED, count=sys.maxsize)
    for row in source.records():
        assert row.record is not None
        row.record["ts_event_us"] = row.record["ts_ingest_us"] = wall_clock_us()
        yield row


# ------------------------------------------------------------------------- processes
@contextmanager
def running(argv: list[str], env: Mapping[str, str], log: Path) -> Iterator[Callable[[], bool]]:
    """Run ARGV (output to LOG); yield an is-alive check; SIGTERM it on exit, then SIGKILL."""
    with log.open("ab") as out:
        process = subprocess.Popen(argv, env=dict(env), cwd=ROOT, stdout=out, stderr=out)
    try:
        yield lambda: process.poll() is None
    except BaseException:
        # The logs live in a temporary home: show why before it is gone.
        tail = log.read_text(errors="replace")[-3000:]
        print(f"    pid {process.pid} (exit {process.poll()}), end of its log:\n{tail}", flush=True)
        raise
    finally:
        _stop(process, log)


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        tail = log.read_text(errors="replace")[-1500:]
        print(f"    pid {process.pid} ignored SIGTERM for 60 s: killed; log ends:\n{tail}")


def worker_argv(strategies: Path) -> list[str]:
    """Return the command line of one `primestream worker`."""
    return [_CLI, "worker", "--strategies", str(strategies), "--loglevel", "warning"]


# ------------------------------------------------------------------- reading topics
def _reader(ns: Namespace, purpose: str, **overrides: Any) -> Consumer:
    group = f"bench-{purpose}-{uuid.uuid4().hex[:8]}"
    return Consumer(consumer_config(ns.settings, ns.bootstrap, group, **overrides))


def _assign_all(consumer: Consumer, topic: str) -> int:
    """Assign every partition of TOPIC from its beginning; return how many there are."""
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
    return len(metadata.partitions)


def read_all(ns: Namespace, topic: str, **overrides: Any) -> list[Message]:
    """Return every record of TOPIC up to its end (read_committed unless OVERRIDES say)."""
    consumer = _reader(ns, "read", **overrides)
    try:
        partitions, at_end = _assign_all(consumer, topic), set()
        records: list[Message] = []
        while len(at_end) < partitions:
            for message in consumer.consume(num_messages=10_000, timeout=1.0):
                error = message.error()
                if error is None:
                    records.append(message)
                elif error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
        return records
    finally:
        consumer.close()


def quotes_lag(ns: Namespace, group: str) -> int | None:
    """Return how many quotes GROUP has not committed yet; None while that is unknown."""
    try:
        lag = group_lag(ns.bootstrap, group, [ns.topic("market.quotes")])
    except KafkaException:  # e.g. a fresh topic's leader not known yet: ask again later
        return None
    return sum(lag.values()) if lag is not None else None


def worker_lag(ns: Namespace, patience_secs: float = 10.0) -> int:
    """Return how many quotes the namespace's worker has not committed yet (-1: unknown)."""
    deadline = time.monotonic() + patience_secs
    while (lag := quotes_lag(ns, app_id(ns.settings))) is None and time.monotonic() < deadline:
        time.sleep(POLL_SECS)
    return -1 if lag is None else lag


def drain(ns: Namespace, alive: Callable[[], bool], timeout: float) -> int:
    """Wait up to TIMEOUT for the worker to commit every quote; return what is left (0: all)."""
    deadline = time.monotonic() + timeout
    while (left := worker_lag(ns)) != 0 and time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the worker died")
        time.sleep(POLL_SECS)
    return left


# ---------------------------------------------------------------------- throughput
@dataclass(frozen=True)
class CatchUp:
    """What the lag poller saw: records committed over an interval, after a start-up."""

    records: int
    secs: float
    startup_secs: float

    @property
    def rate(self) -> float:
        """Records per second between the first drop of lag and lag zero."""
        return self.records / self.secs


def catch_up(
    ns: Namespace, group: str, total: int, alive: Callable[[], bool], timeout: float
) -> CatchUp:
    """Poll GROUP's lag on the quotes every 0.25 s; time first drop → zero (start-up excluded)."""
    start = time.monotonic()
    first: tuple[float, int] | None = None
    lag: int | None = None
    while time.monotonic() - start < timeout:
        if not alive():
            raise RuntimeError(f"the consumer of group {group} died")
        before = time.monotonic()
        lag = quotes_lag(ns, group)
        seen = (before + time.monotonic()) / 2  # the offsets were read during the call
        left = total if lag is None else lag
        if first is None and left < total:
            first = (seen, left)
        if left == 0 and first is not None:
            if seen <= first[0]:
                raise RuntimeError("every record was committed between two polls: more quotes")
            return CatchUp(first[1], seen - first[0], first[0] - start)
        time.sleep(max(0.0, POLL_SECS - (time.monotonic() - before)))
    raise RuntimeError(f"group {group} did not catch up within {timeout:.0f} s: lag {lag}")


def raw_rate(ns: Namespace, total: int) -> float:
    """Consume and decode every quote as fast as Python can; records/s after the first batch."""
    decode = deserializer_for("Quote", registry=None)
    consumer = _reader(ns, "raw")
    try:
        _assign_all(consumer, ns.topic("market.quotes"))
        seen, first, started = 0, 0, 0.0
        while seen < total:
            # A short timeout: consume() waits it out whenever fewer than num_messages are
            # there, which at the end of the input would be timed as if it were work.
            batch = consumer.consume(num_messages=10_000, timeout=0.01)
            if not started and batch:
                first, started = len(batch), time.perf_counter()
            for message in batch:
                if message.error() is None:
                    decode(message.value())
                    seen += 1
        return (seen - first) / (time.perf_counter() - started)
    finally:
        consumer.close()


def ours_rate(ns: Namespace, total: int, strategies: Path, logs: Path) -> tuple[CatchUp, int]:
    """Run `primestream worker` on the namespace; return its catch-up and signals written."""
    log = logs / f"worker-{ns.settings.namespace}.log"
    with running(worker_argv(strategies), ns.env, log) as alive:
        result = catch_up(ns, app_id(ns.settings), total, alive, timeout=120 + total / 500)
    return result, len(read_all(ns, ns.topic("signals")))


def quix_rate(ns: Namespace, total: int, strategies: Path, logs: Path) -> tuple[CatchUp, int]:
    """Run the quixstreams job on the namespace's quotes; return its catch-up and signals."""
    job = {
        "bootstrap": ns.bootstrap,
        "input": ns.topic("market.quotes"),
        "output": fresh_topic(ns.bootstrap, ns.topic("signals-quix"), PARTITIONS),
        "group": f"quix-{ns.settings.namespace}",
        "state_dir": str(logs / f"quix-state-{ns.settings.namespace}"),
        "strategies": str(strategies),
    }
    argv = [sys.executable, "-m", "tests.bench.bench_signals", "--quix-job", json.dumps(job)]
    with running(argv, ns.env, logs / f"quix-{ns.settings.namespace}.log") as alive:
        result = catch_up(ns, job["group"], total, alive, timeout=120 + total / 200)
    return result, len(read_all(ns, job["output"]))


@dataclass
class RoundFacts:
    """Per-variant side facts of the throughput rounds, for the report notes."""

    startup_secs: dict[str, list[float]]
    signals: dict[str, list[int]]


def throughput(
    bootstrap: str, home: Path, *, quotes: int, repeats: int, strategies: Path
) -> tuple[dict[str, Measurement], RoundFacts]:
    """Run the three variants REPEATS times over fresh namespaces, order rotated per round."""
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    results = {name: Measurement(name) for name in (RAW, OURS, QUIX)}
    facts = RoundFacts({OURS: [], QUIX: []}, {OURS: [], QUIX: []})
    for round_no in range(repeats):
        ns = make_namespace(bootstrap, home)
        sent = publish_quotes(ns, synthetic_quotes(quotes))
        print(f"  round {round_no + 1}/{repeats}: {sent:,} quotes in {ns.topic('')}*", flush=True)
        names = [RAW, OURS, QUIX]
        for name in names[round_no % 3 :] + names[: round_no % 3]:
            rate = _run_variant(name, ns, sent, strategies, logs, facts)
            results[name].rates.append(rate)
            print(f"  round {round_no + 1}/{repeats} {name:<36} {rate:>12,.0f} rec/s", flush=True)
    return results, facts


def _run_variant(
    name: str, ns: Namespace, total: int, strategies: Path, logs: Path, facts: RoundFacts
) -> float:
    """Run variant NAME over the namespace's quotes; keep its side facts; return its rate."""
    if name == RAW:
        return raw_rate(ns, total)
    run = ours_rate if name == OURS else quix_rate
    result, signals = run(ns, total, strategies, logs)
    facts.startup_secs[name].append(round(result.startup_secs, 2))
    facts.signals[name].append(signals)
    return result.rate


def synthetic_quotes(count: int) -> Iterator[SourceRow]:
    """Return the seeded quotes every round uses (historical event times, same every round)."""
    return SyntheticSource(wall_clock_us, symbols=SYMBOLS, seed=SEED, count=count).records()


# --------------------------------------------------------------- the quixstreams job
class QuoteDeserializer(Deserializer):  # type: ignore[misc]
    """Our Avro decoder behind quixstreams' deserializer interface."""

    def __init__(self) -> None:
        super().__init__()
        self._decode = deserializer_for("Quote", registry=None)

    def __call__(self, value: bytes, ctx: Any) -> Any:
        return self._decode(value)


class SignalSerializer(Serializer):  # type: ignore[misc]
    """Our Avro encoder (single-object framing, as the worker writes) for quixstreams."""

    def __init__(self, topic: str) -> None:
        super().__init__()
        self._encode = serializer_for("Signal", registry=None, subject=f"{topic}-value")

    def __call__(self, value: Mapping[str, Any], ctx: Any) -> bytes:
        return self._encode(value)


class QuixSignalStep:
    """The quixstreams twin of our processor: one SymbolEngine per key, state in State.

    quixstreams has no end-of-batch hook, so the engine state is written per record (the
    worker writes it once per symbol per batch). Like the worker's working set, engines
    stay in memory between records; a version number in State says whether the cached
    engine is still the stored one (an aborted transaction or a rebalance makes it stale).
    """

    def __init__(self, config: StrategyConfig) -> None:
        self._config = config
        self._settings = EngineSettings()
        self._engines: dict[str, tuple[int, SymbolEngine]] = {}

    def __call__(self, quote: Mapping[str, Any] | None, state: Any) -> list[dict[str, Any]]:
        if quote is None:  # a tombstone carries nothing to compute on
            return []
        symbol = quote["symbol"]
        version = state.get("version", 0)
        cached = self._engines.get(symbol)
        engine = cached[1] if cached and cached[0] == version else self._restore(symbol, state)
        output = engine.on_event(Event("quote", quote["ts_event_us"], dict(quote)))
        state.set("engine", engine.state())
        state.set("version", version + 1)
        self._engines[symbol] = (version + 1, engine)
        return output.signals

    def _restore(self, symbol: str, state: Any) -> SymbolEngine:
        saved = state.get("engine")
        if saved is None:
            return SymbolEngine(symbol, self._config, self._settings)
        return SymbolEngine.from_state(symbol, self._config, self._settings, saved)


def run_quix_job(job: Mapping[str, str]) -> None:
    """Run the quixstreams application until SIGTERM (it then commits and stops cleanly)."""
    app = Application(
        broker_address=job["bootstrap"],
        consumer_group=job["group"],
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        commit_interval=QUIX_COMMIT_SECS,
        state_dir=job["state_dir"],
        loglevel="WARNING",
    )
    quotes = app.topic(
        job["input"], key_deserializer="bytes", value_deserializer=QuoteDeserializer()
    )
    signals = app.topic(
        job["output"], key_serializer="bytes", value_serializer=SignalSerializer(job["output"])
    )
    step = QuixSignalStep(load_config(Path(job["strategies"])))
    app.dataframe(quotes).apply(step, stateful=True, expand=True).to_topic(signals)
    app.run()


# ------------------------------------------------------------------------- latency
class VisibleSignals:
    """A read_committed reader in a thread: when each signal became visible to it."""

    def __init__(self, ns: Namespace) -> None:
        # The broker answers a read_committed fetch as soon as the last stable offset moves,
        # so the default fetch wait adds nothing (and polling faster would load the broker).
        self._consumer = _reader(ns, "visible")
        self._topic = ns.topic("signals")
        self._decode = deserializer_for("Signal", registry=None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="visible-signals", daemon=True)
        self.seen: list[tuple[int, int, int]] = []  # (ts_event_us, record ts µs, received_us)
        self.last_receive = time.monotonic()

    def start(self) -> None:
        """Assign the signals topic from its beginning and start reading."""
        _assign_all(self._consumer, self._topic)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and close the consumer."""
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                batch = receive(self._consumer)
                received_us = wall_clock_us()
                for message in batch:
                    if message.error() is None:
                        self._take(message, received_us)
                if batch:
                    self.last_receive = time.monotonic()
        finally:
            self._consumer.close()

    def _take(self, message: Message, received_us: int) -> None:
        """Stamp one record that arrived at RECEIVED_US."""
        event_us = self._decode(message.value())["ts_event_us"]
        self.seen.append((event_us, message.timestamp()[1] * 1000, received_us))

    def wait_quiet(self, quiet_secs: float, timeout: float) -> None:
        """Block until nothing arrived for QUIET_SECS (or TIMEOUT passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last_receive < quiet_secs and time.monotonic() < deadline:
            time.sleep(0.1)


def receive(consumer: Consumer, wait_secs: float = 0.05) -> list[Message]:
    """Return the next records as soon as the first arrives (and what came with it).

    `consume(n, timeout)` would wait until n records or the timeout: a record's arrival
    would be stamped up to the timeout late.
    """
    first = consumer.poll(wait_secs)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=999, timeout=0)]


def percentiles_ms(latencies_us: list[int]) -> dict[str, float]:
    """Return count, p50, p95, p99 and max of LATENCIES_US, in milliseconds."""
    if not latencies_us:
        return {"count": 0}
    values = np.asarray(latencies_us, dtype=np.float64) / 1000.0
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "count": len(latencies_us),
        "p50_ms": round(float(p50), 2),
        "p95_ms": round(float(p95), 2),
        "p99_ms": round(float(p99), 2),
        "max_ms": round(float(values.max()), 2),
    }


def latency_at_rate(
    bootstrap: str, home: Path, *, rate: float, secs: float, commit_interval_ms: float
) -> dict[str, Any]:
    """Feed a fresh worker RATE quotes/s for SECS; return produced and visible latencies."""
    ns = make_namespace(bootstrap, home, commit_interval_ms=commit_interval_ms)
    strategies = home / "fast.toml"
    strategies.write_text(FAST_STRATEGIES)
    feed = live_quotes(SYMBOLS[:5])
    reader = VisibleSignals(ns)
    reader.start()
    log = home / "logs" / f"latency-worker-{ns.settings.namespace}.log"
    try:
        with running(worker_argv(strategies), ns.env, log) as alive:
            # Warm-up: the worker is up, assigned and committing before the clock starts.
            publish_quotes(ns, itertools.islice(feed, 500))
            if drain(ns, alive, timeout=120):
                raise RuntimeError("the worker did not process the warm-up quotes in 120 s")
            start_us = wall_clock_us()
            begin = time.perf_counter()
            sent = publish_quotes(ns, itertools.islice(feed, int(rate * secs)), rate=rate)
            fed_secs = time.perf_counter() - begin
            # What the worker had not committed when the last quote was sent: 0 = it kept up.
            backlog = worker_lag(ns)
            # Bounded, so a worker that fell far behind does not hold the run for minutes:
            # what it never processed is reported, and its percentiles then understate.
            drain(ns, alive, timeout=DRAIN_SECS)
        # After a clean stop: quotes it never committed are quotes whose signals may be missing.
        unprocessed = worker_lag(ns)
        reader.wait_quiet(quiet_secs=1.0, timeout=30)
    finally:
        reader.stop()
    produced = [
        m.timestamp()[1] * 1000 - event_us
        for m in read_all(ns, ns.topic("signals"), **{"isolation.level": "read_uncommitted"})
        if (event_us := _event_us(m)) >= start_us
    ]
    live = [
        (event, record, received) for event, record, received in reader.seen if event >= start_us
    ]
    visible = [received - event for event, _, received in live]
    # How long a produced signal waited for its transaction to commit, backlog aside.
    commit_wait = [received - record for _, record, received in live]
    return {
        "commit_interval_ms": commit_interval_ms,
        "quotes": sent,
        "achieved_rate": round(sent / fed_secs),
        "backlog_at_feed_end": backlog,
        "worker_rate_while_fed": round((sent - backlog) / fed_secs),
        "unprocessed_at_stop": unprocessed,
        "produced": percentiles_ms(produced),
        "visible": percentiles_ms(visible),
        "commit_wait": percentiles_ms(commit_wait),
    }


def _event_us(message: Message) -> int:
    decoded = _SIGNAL_DECODER(message.value())
    return int(decoded["ts_event_us"]) if decoded else -1


def latency_lines(rate: float, secs: float, runs: list[dict[str, Any]]) -> list[str]:
    """Return a readable table of the latency runs."""
    out = [
        f"signal latency at {rate:,.0f} quotes/s for {secs:.0f} s, "
        "ma_cross 2/5 on 5 symbols (ms after the quote's event time)",
        f"  {'commit':>7} {'view':<34} {'signals':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}",
    ]
    views = {
        "produced": "produced (record timestamp)",
        "visible": "visible to read_committed reader",
        "commit_wait": "  of which visible - produced",
    }
    for run in runs:
        for key, label in views.items():
            p = run[key]
            figures = " ".join(f"{p.get(k, float('nan')):>7.1f}" for k in _PCTS)
            out.append(
                f"  {run['commit_interval_ms']:>5.0f}ms {label:<34} {p['count']:>8,} {figures}"
            )
        out.append(
            f"  {'':>7} fed {run['quotes']:,} quotes at {run['achieved_rate']:,}/s; worker "
            f"committed {run['worker_rate_while_fed']:,}/s meanwhile, "
            f"{run['backlog_at_feed_end']:,} behind at the end"
        )
        if run["unprocessed_at_stop"]:
            out.append(
                f"  {'':>7} INCOMPLETE: {run['unprocessed_at_stop']:,} quotes never committed "
                "(worker stopped); their signals are missing, so the figures understate"
            )
    return out


# ---------------------------------------------------------------------------- main
def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quotes", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-throughput", action="store_true", help="Skip the throughput part.")
    parser.add_argument("--no-latency", action="store_true", help="Skip the latency part.")
    parser.add_argument("--latency-rate", type=float, default=5_000.0)
    parser.add_argument("--latency-secs", type=float, default=25.0)
    parser.add_argument("--quix-job", help=argparse.SUPPRESS)  # the quixstreams subprocess
    return parser.parse_args()


def _report(
    measurements: dict[str, Measurement], facts: RoundFacts, args: argparse.Namespace
) -> Report:
    ours, quix = measurements[OURS].median, measurements[QUIX].median
    return Report(
        "signals",
        RAW,
        measurements,
        notes={
            "quotes": args.quotes,
            "symbols": list(SYMBOLS),
            "partitions": PARTITIONS,
            "strategies": str(default_strategy_config().relative_to(ROOT)),
            "ours_over_quixstreams": round(ours / quix, 3),
            "method": (
                "fresh namespace per round, same seeded quotes produced before timing; raw: "
                "records after the first batch / time from it to the last record; worker and "
                "quixstreams (subprocesses): group lag polled every 0.25 s, rate = records "
                "committed from the first poll seeing lag < total to the first seeing 0, "
                "over that interval (start-up, rebalance, recovery excluded); the worker is "
                "timed on the quotes alone, whatever other agents its trading mode runs"
            ),
            "code": _code_version(),
            "commit_interval_secs": {OURS: 0.1, QUIX: QUIX_COMMIT_SECS},
            "startup_secs": facts.startup_secs,
            "signals_written": facts.signals,
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        },
    )


def _code_version() -> str:
    """Return the commit the worker ran (uncommitted edits of the tree are not shown)."""
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # read-only
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def main() -> None:
    args = _arguments()
    if args.quix_job:
        run_quix_job(json.loads(args.quix_job))
        return
    with broker() as endpoints, tempfile.TemporaryDirectory(prefix="bench-signals-") as tmp:
        home = Path(tmp)
        (home / "logs").mkdir()
        bootstrap = endpoints.bootstrap_servers
        report: Report | None = None
        load_at_start = [round(x, 2) for x in os.getloadavg()]  # the machine is shared
        if not args.no_throughput:
            measurements, facts = throughput(
                bootstrap,
                home,
                quotes=args.quotes,
                repeats=args.repeats,
                strategies=default_strategy_config(),
            )
            report = _report(measurements, facts, args)
            report.notes["loadavg_at_start"] = load_at_start
            print("\n".join(report.lines()))
            print(f"  ours / quixstreams: {report.notes['ours_over_quixstreams']:.2f}")
            print(f"saved {report.save()}", flush=True)
        if not args.no_latency:
            runs = [
                latency_at_rate(
                    bootstrap,
                    home,
                    rate=args.latency_rate,
                    secs=args.latency_secs,
                    commit_interval_ms=interval,
                )
                for interval in (100.0, 10.0)
            ]
            print("\n".join(latency_lines(args.latency_rate, args.latency_secs, runs)))
            if report is None:
                print("(latency only: not saved; the throughput run saves both)")
            else:
                report.notes["latency"] = {"method": LATENCY_METHOD, "runs": runs}
                print(f"saved {report.save()}")


if __name__ == "__main__":
    main()
