"""End-to-end latency of the paper trading loop on the real broker (issue 4, point 8).

Run: .venv/bin/python -m tests.bench.bench_latency [--rates 1000,5000] [--secs 60]
     [--variant NAME:KEY=VALUE,...]... [--rounds N]

`--variant` names a worker configuration by the `PRIMESTREAM_*` settings it gives the
worker (e.g. `--variant two:PRIMESTREAM_TRANSACTION_LANES=2 --variant
three:PRIMESTREAM_TRANSACTION_LANES=3`); each rate runs once per variant, back to back
(same broker, same minutes), `--rounds` times over, and each p99 is printed as a ratio to
the first variant's in the same round: the machine drifts from hour to hour more than the
effects compared, so only same-run ratios are compared. The worker gets no other
`PRIMESTREAM_*` variable of this process's environment (`make_namespace` drops them), so a
setting to compare must be given here. `PRIMESTREAM_PUBLISH_*` settings (the publisher's
linger) go to the feed's producer as well.

Per rate: a fresh namespace and a fresh `primestream worker` with
PRIMESTREAM_TRADING_MODE=paper and a strategy TOML that trades often (ma_cross 2/5 on
every symbol; a risk gate with no calendar, no cooldown, shorts allowed, unbounded
limits; 10 shares per order). Quotes of 5 symbols are paced at the rate, each stamped
with the wall clock when the publisher takes it (`bench_signals.live_quotes`: event time
= send time, so our own producer is inside the figure).

The chain is quote → signal → order → fill (on the symbol's next quote) → position. The
paper desk emits, in the batch of the filling quote, one position record per fill whose
`last_fill_id` is that fill (later marks repeat the id). Per fill in the measured window:

- produced: that position record's Kafka timestamp (CreateTime, ms, read back
  read_uncommitted) - the filling quote's event time (the Fill's `ts_event_us`);
- visible: when a read_committed reader received the record - the same (the readers run
  as threads of the feeding process; `readers=process` in a variant runs them in a process
  of their own, as a user's service would: `observers.py`. An A/B at 1,000 quotes/s found
  no difference the noise did not swamp, BENCHMARKS.md "One changelog topic");
- from the signal's quote: produced timestamp - the order's `ts_event_us` (the quote that
  made the signal), i.e. including the wait for the symbol's next quote;
- commit wait: visible - produced;
- signal visible: when a read_committed reader of `signals` received a signal - the event
  time of the quote that made it (the signal's `ts_event_us`): the original system's
  "signal within 50 ms".

Warm-up excluded: first a run of --broker-warmup-secs (20) at the highest rate on the
fresh broker, not measured (the broker's JIT compiles its request paths meanwhile: a
trading desk's broker has been up for hours); then per run 500 unpaced quotes the worker
must commit first, and the first --warmup-secs of the paced feed. Percentiles from an HDR
histogram (µs, 3 significant digits). The worker's rate is read from its consumer group's
committed offsets on the quotes (`consumers.lag.group_position`), sampled every second
while the feed runs. A run
is BEHIND when the worker committed under 95% of the fed rate or was more than 2 s of
quotes behind when the feed ended (its latency then measures a backlog, not the
pipeline), and INCOMPLETE when quotes were still uncommitted after the bounded drain
(fills are then missing and the figures understate).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException, Message
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from consumers.lag import group_position
from infra.clock import wall_clock_us
from producers.rows import SourceRow
from schemas.codec import deserializer_for
from streams.context import app_id
from tests.bench.bench_signals import (
    DRAIN_SECS,
    FAST_STRATEGIES,
    PARTITIONS,
    SYMBOLS,
    Namespace,
    _code_version,
    drain,
    live_quotes,
    make_namespace,
    publish_quotes,
    read_all,
    running,
    worker_argv,
    worker_lag,
)
from tests.bench.harness import RESULTS, broker
from tests.bench.observers import ObserverProcess, ObserverThreads
from tests.kit.desk import desk_toml

FEED_SYMBOLS = SYMBOLS[:5]
WARMUP_QUOTES = 500
COMMIT_INTERVAL_MS = 100.0  # the worker's default
SAMPLE_SECS = 1.0
KEEP_UP_SHARE = 0.95  # of the fed rate the worker must commit
KEEP_UP_LAG_SECS = 2.0  # quotes (in seconds of feed) it may be behind when the feed ends
TREND_SECS = 10.0
BROKER_WARMUP_SECS = 20.0  # the fresh broker's JIT compiles its hot paths meanwhile
HDR_MAX_US = 3_600_000_000
VIEWS = {
    "produced": "fill quote -> position produced",
    "visible": "fill quote -> visible read_committed",
    "from_signal_quote": "signal quote -> position produced",
    "commit_wait": "  visible - produced (commit wait)",
    "signal_visible": "signal quote -> signal visible",
    "signal_produced": "  signal quote -> signal produced",
    "signal_commit_wait": "  visible - produced (commit wait)",
}
_PCTS = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
DESK_CONFIG = desk_toml(FAST_STRATEGIES, qty=10.0, unlimited=True, slippage_bps=None)
_DECODE = {name: deserializer_for(name, registry=None) for name in ("Fill", "Order", "Position")}


READERS = ("thread", "process")
_FEED_PREFIX = "PRIMESTREAM_PUBLISH_"  # variant settings the feed's producer takes as well


@dataclass(frozen=True)
class Variant:
    """A named configuration: the `PRIMESTREAM_*` settings the worker runs with, and where
    the read_committed readers run (`tests/bench/observers.py`: "thread" or "process")."""

    name: str
    env: dict[str, str]
    readers: str = READERS[0]

    @classmethod
    def parse(cls, text: str) -> Variant:
        """Parse NAME:KEY=VALUE,... (keys: PRIMESTREAM_ settings, or `readers`)."""
        name, _, pairs = text.partition(":")
        env, readers = {}, READERS[0]
        for pair in filter(None, pairs.split(",")):
            key, sep, value = pair.partition("=")
            if key == "readers" and value in READERS:
                readers = value
                continue
            if not sep or not key.startswith("PRIMESTREAM_"):
                raise argparse.ArgumentTypeError(
                    f"{pair!r}: expected PRIMESTREAM_KEY=VALUE or readers={'|'.join(READERS)}"
                )
            env[key] = value
        if not name:
            raise argparse.ArgumentTypeError(f"{text!r}: a variant needs a name before ':'")
        return cls(name, env, readers)


# ------------------------------------------------------------------ live observers
@dataclass(frozen=True)
class Sample:
    """The worker group's committed offsets on the quotes, summed, at a moment."""

    at: float  # time.monotonic()
    committed: int
    end: int

    @property
    def lag(self) -> int:
        """Quotes on the topic the worker has not committed."""
        return self.end - self.committed


class Progress:
    """Samples the worker's committed quote offsets every second, in a thread."""

    def __init__(self, ns: Namespace) -> None:
        self._ns = ns
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self.samples: list[Sample] = []

    def take(self) -> None:
        """Read the committed offsets once; skip the sample if the group cannot answer."""
        before = time.monotonic()
        try:
            position = group_position(
                self._ns.bootstrap, app_id(self._ns.settings), [self._ns.topic("market.quotes")]
            )
        except KafkaException:
            return
        if position is not None:
            committed = sum(c for c, _ in position.values())
            end = sum(e for _, e in position.values())
            self.samples.append(Sample((before + time.monotonic()) / 2, committed, end))

    def start(self) -> None:
        """Take a first sample, then keep sampling in the background."""
        self.take()
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and take a last sample."""
        self._stop.set()
        self._thread.join(30)
        self.take()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECS):
            self.take()


# --------------------------------------------------------------------------- feeding
@dataclass(frozen=True)
class Feed:
    """What the paced feed did: its event-time span and how many quotes it sent."""

    start_us: int
    end_us: int
    sent: int
    secs: float

    @property
    def rate(self) -> float:
        """Quotes per second actually sent."""
        return self.sent / self.secs


def warm_up(ns: Namespace, feed: Iterator[SourceRow], alive: Callable[[], bool]) -> None:
    """Send the warm-up quotes unpaced; return once the worker committed them all."""
    publish_quotes(ns, itertools.islice(feed, WARMUP_QUOTES))
    if drain(ns, alive, timeout=180):
        raise RuntimeError("the worker did not process the warm-up quotes in 180 s")


def paced_feed(
    ns: Namespace, feed: Iterator[SourceRow], progress: Progress, rate: float, secs: float
) -> Feed:
    """Send RATE quotes/s for SECS while PROGRESS samples the worker's offsets."""
    progress.start()
    start_us, begin = wall_clock_us(), time.perf_counter()
    try:
        sent = publish_quotes(ns, itertools.islice(feed, round(rate * secs)), rate=rate)
    finally:
        progress.stop()
    return Feed(start_us, wall_clock_us(), sent, time.perf_counter() - begin)


# --------------------------------------------------------------------- reading back
@dataclass(frozen=True)
class Chain:
    """One fill: the event times it hangs on and its position record."""

    fill_us: int  # event time of the quote that filled the order
    signal_us: int  # event time of the quote whose signal made the order
    position_us: int  # the position record's ts_event_us
    produced_us: int  # the position record's Kafka timestamp, in µs
    where: tuple[int, int]  # the position record's (partition, offset)


def _decoded(messages: Iterable[Message], record: str) -> Iterator[dict[str, Any]]:
    decode = _DECODE[record]
    for message in messages:
        value = decode(message.value())
        if value is not None:
            yield value


def fill_positions(messages: list[Message]) -> tuple[dict[str, tuple[Message, int]], int]:
    """Return {fill id: (its position record, ts_event_us)} and how many ids came again.

    A fill's record is the first of its key whose `last_fill_id` is that fill; marks repeat
    the id. An id coming back after another one means a redone (aborted) transaction.
    """
    first: dict[str, tuple[Message, int]] = {}
    previous: dict[bytes | None, str] = {}
    repeats = 0
    for message in sorted(messages, key=lambda m: (m.partition(), m.offset())):
        position = _DECODE["Position"](message.value())
        fill_id = position["last_fill_id"] if position else None
        if position is None or fill_id is None or previous.get(message.key()) == fill_id:
            continue
        previous[message.key()] = fill_id
        if fill_id in first:
            repeats += 1
        else:
            first[fill_id] = (message, int(position["ts_event_us"]))
    return first, repeats


def read_chains(ns: Namespace) -> tuple[list[Chain], dict[str, int]]:
    """Join fills, orders and position records; return the chains and consistency counts."""
    fills = list(_decoded(read_all(ns, ns.topic("fills")), "Fill"))
    orders = {
        o["id"]: o["ts_event_us"] for o in _decoded(read_all(ns, ns.topic("orders")), "Order")
    }
    raw = read_all(ns, ns.topic("positions"), **{"isolation.level": "read_uncommitted"})
    positions, repeats = fill_positions(raw)
    chains = []
    for fill in fills:
        found = positions.get(fill["id"])
        if found is not None and fill["order_id"] in orders:
            message, position_us = found
            chains.append(
                Chain(
                    fill["ts_event_us"],
                    orders[fill["order_id"]],
                    position_us,
                    message.timestamp()[1] * 1000,
                    (message.partition(), message.offset()),
                )
            )
    counts = {
        "fills": len(fills),
        "fills_without_position_or_order": len(fills) - len(chains),
        "repeated_position_records": repeats,
    }
    return chains, counts


# ----------------------------------------------------------------------- statistics
def hdr_summary(values_us: list[int]) -> dict[str, Any]:
    """Return count, p50/p95/p99/max (ms) of VALUES_US from an HDR histogram, and the histogram.

    Negative values (possible only through the ms resolution of Kafka timestamps) are
    recorded as 0 and counted.
    """
    if not values_us:
        return {"count": 0}
    histogram = HdrHistogram(1, HDR_MAX_US, 3)
    for value in values_us:
        histogram.record_value(min(max(value, 0), HDR_MAX_US))
    summary: dict[str, Any] = {"count": len(values_us)}
    for key, pct in zip(_PCTS[:3], (50.0, 95.0, 99.0), strict=True):
        summary[key] = round(histogram.get_value_at_percentile(pct) / 1000, 2)
    summary["max_ms"] = round(histogram.get_max_value() / 1000, 2)
    summary["negative_as_zero"] = sum(1 for v in values_us if v < 0)
    summary["hdr"] = histogram.encode().decode()
    return summary


def latencies(chains: list[Chain], received: dict[tuple[int, int], int]) -> dict[str, Any]:
    """Return the HDR summaries of every view over CHAINS."""
    seen = [(c, received[c.where]) for c in chains if c.where in received]
    return {
        "produced": hdr_summary([c.produced_us - c.fill_us for c in chains]),
        "visible": hdr_summary([at - c.fill_us for c, at in seen]),
        "from_signal_quote": hdr_summary([c.produced_us - c.signal_us for c in chains]),
        "commit_wait": hdr_summary([at - c.produced_us for c, at in seen]),
    }


def signal_views(seen: list[tuple[int, int, int]], start_us: int) -> dict[str, Any]:
    """Return the HDR summaries of the signals after START_US: visible, produced, commit wait.

    Visible is received - event time; the worker stamps a record when it hands it to its
    producer (CreateTime, ms), which splits that into produced (the feed, the fetch,
    processing, holding back) and the commit wait (the transaction's commit and the
    reader's fetch).
    """
    window = [(e, r, v) for e, r, v in seen if e >= start_us]
    return {
        "signal_visible": hdr_summary([received - event for event, _, received in window]),
        "signal_produced": hdr_summary([record - event for event, record, _ in window]),
        "signal_commit_wait": hdr_summary([received - record for _, record, received in window]),
    }


def trend(chains: list[Chain], start_us: int, end_us: int) -> dict[str, float | None]:
    """Return the produced p50 (ms) of the first and last TREND_SECS: a backlog grows it."""
    span = int(TREND_SECS * 1e6)

    def p50(lo: int, hi: int) -> float | None:
        summary = hdr_summary([c.produced_us - c.fill_us for c in chains if lo <= c.fill_us < hi])
        return summary.get("p50_ms")

    return {
        "first_p50_ms": p50(start_us, start_us + span),
        "last_p50_ms": p50(end_us - span, end_us),
    }


def worker_rate(samples: list[Sample], fed_rate: float) -> dict[str, Any]:
    """Return the worker's committed quotes/s over the feed, its lag, and whether it kept up."""
    first, last = samples[0], samples[-1]
    rate = (last.committed - first.committed) / (last.at - first.at)
    kept_up = rate >= KEEP_UP_SHARE * fed_rate and last.lag <= KEEP_UP_LAG_SECS * fed_rate
    return {
        "processed_per_sec": round(rate),
        "lag_at_feed_end": last.lag,
        "max_lag": max(s.lag for s in samples),
        "kept_up": kept_up,
        "lag_samples": [[round(s.at - first.at, 1), s.lag] for s in samples],
    }


# --------------------------------------------------------------------------- one run
def run_rate(
    bootstrap: str,
    home: Path,
    *,
    rate: float,
    secs: float,
    warmup_secs: float,
    drain_secs: float,
    variant: Variant | None = None,
) -> dict[str, Any]:
    """Feed a fresh paper-mode worker RATE quotes/s; return its latencies and progress.

    VARIANT: settings given to the worker (None: the runtime's defaults).
    """
    # The publisher's settings go to the feed's producer too (the worker ignores them).
    feed_settings = {
        k: v for k, v in (variant.env if variant else {}).items() if k.startswith(_FEED_PREFIX)
    }
    ns = make_namespace(bootstrap, home, commit_interval_ms=COMMIT_INTERVAL_MS, feed=feed_settings)
    config = home / "desk.toml"
    config.write_text(DESK_CONFIG)
    env = {**ns.env, "PRIMESTREAM_TRADING_MODE": "paper"}
    if variant is not None:
        env |= variant.env
    readers = READERS[0] if variant is None else variant.readers
    feed_rows, progress = live_quotes(FEED_SYMBOLS), Progress(ns)
    observers = ObserverProcess(ns) if readers == "process" else ObserverThreads(ns)
    observers.start()
    log = home / "logs" / f"latency-desk-{ns.settings.namespace}.log"
    try:
        with running(worker_argv(config), env, log) as alive:
            warm_up(ns, feed_rows, alive)
            feed = paced_feed(ns, feed_rows, progress, rate, warmup_secs + secs)
            left_after_drain = drain(ns, alive, timeout=drain_secs)
        unprocessed = worker_lag(ns)
    finally:
        received, seen = observers.finish()
    measured_from = feed.start_us + int(warmup_secs * 1e6)
    worker = worker_rate(progress.samples, feed.rate)
    worker |= {"left_after_drain": left_after_drain, "unprocessed_at_stop": unprocessed}
    return {
        "rate": rate,
        "variant": None if variant is None else variant.name,
        "worker_env": None if variant is None else variant.env,
        "readers": readers,
        "secs": secs,
        "warmup_secs": warmup_secs,
        "status": _status(worker),
        "feed": {"quotes": feed.sent, "secs": round(feed.secs, 2), "rate": round(feed.rate)},
        "worker": worker,
        **measured(ns, measured_from, feed.end_us, received),
        **signal_views(seen, measured_from),
    }


def measured(
    ns: Namespace, start_us: int, end_us: int, received: dict[tuple[int, int], int]
) -> dict[str, Any]:
    """Return the fill counts, latencies and trend of the fills between START_US and END_US."""
    chains, counts = read_chains(ns)
    window = [c for c in chains if start_us <= c.fill_us <= end_us]
    counts |= {
        "in_window": len(window),
        "position_ts_differs_from_fill": sum(c.position_us != c.fill_us for c in window),
        "not_received_read_committed": sum(c.where not in received for c in window),
    }
    return {
        "fills": counts,
        "latency": latencies(window, received),
        "trend_produced": trend(window, start_us, end_us),
    }


def _status(worker: dict[str, Any]) -> str:
    flags = [] if worker["kept_up"] else ["BEHIND"]
    if worker["unprocessed_at_stop"]:
        flags.append("INCOMPLETE")
    return ", ".join(flags) or "kept up"


# ---------------------------------------------------------------------------- output
def lines(runs: list[dict[str, Any]]) -> list[str]:
    """Return a readable table of the runs."""
    out = [
        "paper loop latency, ms after the event time (ma_cross 2/5, 5 symbols, "
        f"{PARTITIONS} partitions, commit {COMMIT_INTERVAL_MS:.0f} ms, HDR percentiles)",
        f"  {'rate':>7} {'view':<37} {'count':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}",
    ]
    baselines: dict[tuple[float, int], dict[str, Any]] = {}
    for run in runs:
        variant = run.get("variant")
        for number, (key, label) in enumerate(VIEWS.items()):
            p = run["latency"][key] if key in run["latency"] else run[key]
            figures = " ".join(f"{p.get(k, float('nan')):>8.1f}" for k in _PCTS)
            rate = f"{run['rate']:>6,.0f}/s" if number == 0 else " " * 8
            out.append(f"  {rate} {label:<37} {p['count']:>7,} {figures}")
            if number == 0 and variant is not None:
                settings = " ".join(f"{k}={v}" for k, v in run["worker_env"].items())
                settings += f" (readers: {run.get('readers', 'thread')})"
                out.append(f"{' ' * 10}variant {variant} (round {run['round']}): {settings}")
        out += _run_notes(run)
        if variant is not None:
            base = baselines.setdefault((run["rate"], run["round"]), run)
            if base is not run:
                out.append(f"{' ' * 10}p99 vs {base['variant']}: " + _ratios(run, base))
    return out


def _ratios(run: dict[str, Any], base: dict[str, Any]) -> str:
    """Return each view's p99 in RUN as a ratio to BASE's (< 1: RUN is faster)."""
    parts = []
    for key in VIEWS:
        mine = run["latency"][key] if key in run["latency"] else run[key]
        theirs = base["latency"][key] if key in base["latency"] else base[key]
        if mine.get("p99_ms") and theirs.get("p99_ms"):
            parts.append(f"{key} {mine['p99_ms'] / theirs['p99_ms']:.2f}")
    return ", ".join(parts)


def _run_notes(run: dict[str, Any]) -> list[str]:
    feed, worker, trend_ = run["feed"], run["worker"], run["trend_produced"]
    pad = " " * 10
    notes = [
        f"{pad}fed {feed['quotes']:,} quotes at {feed['rate']:,}/s for {feed['secs']:.0f} s "
        f"(first {run['warmup_secs']:.0f} s excluded); worker committed "
        f"{worker['processed_per_sec']:,}/s meanwhile, lag at feed end "
        f"{worker['lag_at_feed_end']:,} (max {worker['max_lag']:,})",
        f"{pad}produced p50 first/last {TREND_SECS:.0f} s: {_ms(trend_['first_p50_ms'])} / "
        f"{_ms(trend_['last_p50_ms'])} ms -> {run['status'].upper()}",
    ]
    if not worker["kept_up"]:
        notes.append(f"{pad}BEHIND: the worker did not keep up; latency measures its backlog")
    if worker["unprocessed_at_stop"]:
        notes.append(
            f"{pad}INCOMPLETE: {worker['unprocessed_at_stop']:,} quotes never committed "
            "(bounded drain): their fills are missing, the figures understate"
        )
    return notes


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def save(runs: list[dict[str, Any]], load_at_start: list[float]) -> Path:
    """Write the runs to tests/bench/results/latency.json and return the path."""
    RESULTS.mkdir(exist_ok=True)
    doc = {
        "bench": "latency",
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "command": " ".join(
            [Path(sys.executable).name, "-m", "tests.bench.bench_latency", *sys.argv[1:]]
        ),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "loadavg_at_start": load_at_start,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "code": _code_version(),
        "symbols": list(FEED_SYMBOLS),
        "partitions": PARTITIONS,
        "commit_interval_ms": COMMIT_INTERVAL_MS,
        "strategy_toml": DESK_CONFIG,
        "method": __doc__,
        "runs": runs,
    }
    path = RESULTS / "latency.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


# ---------------------------------------------------------------------------- main
def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rates", default="1000,5000", help="Quotes/s, comma-separated.")
    parser.add_argument("--secs", type=float, default=60.0, help="Measured seconds per rate.")
    parser.add_argument("--warmup-secs", type=float, default=5.0, help="Paced, not measured.")
    parser.add_argument(
        "--broker-warmup-secs",
        type=float,
        default=BROKER_WARMUP_SECS,
        help="A first, unmeasured run at the highest rate on the fresh broker (0: none).",
    )
    parser.add_argument("--drain-secs", type=float, default=DRAIN_SECS)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        type=Variant.parse,
        help="NAME:KEY=VALUE,... worker settings to compare (repeat; the first is the base).",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="Times over every variant, interleaved."
    )
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    load_at_start = [round(x, 2) for x in os.getloadavg()]  # the machine is shared
    with broker() as endpoints, tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        home = Path(tmp)
        (home / "logs").mkdir()
        runs = []
        variants: list[Variant | None] = args.variant or [None]
        if args.broker_warmup_secs > 0:
            print(
                f"  warming the broker up: {max(rates):,.0f} quotes/s for "
                f"{args.broker_warmup_secs:.0f} s (not measured)",
                flush=True,
            )
            run_rate(
                endpoints.bootstrap_servers,
                home,
                rate=max(rates),
                secs=args.broker_warmup_secs,
                warmup_secs=0.0,
                drain_secs=args.drain_secs,
                variant=variants[0],
            )
        for round_ in range(1, args.rounds + 1):
            for rate in rates:
                for variant in variants:
                    what = "" if variant is None else f", {variant.name} (round {round_})"
                    print(
                        f"  {rate:,.0f} quotes/s for {args.warmup_secs:.0f} + "
                        f"{args.secs:.0f} s{what}",
                        flush=True,
                    )
                    run = run_rate(
                        endpoints.bootstrap_servers,
                        home,
                        rate=rate,
                        secs=args.secs,
                        warmup_secs=args.warmup_secs,
                        drain_secs=args.drain_secs,
                        variant=variant,
                    )
                    runs.append(run | {"round": round_})
    print("\n".join(lines(runs)))
    print(f"saved {save(runs, load_at_start)}")


if __name__ == "__main__":
    main()
