"""Peak memory of a paper worker holding 5,000 symbols, against an idle one (issue acceptance).

Run: .venv/bin/python -m tests.bench.bench_memory [--symbols N] [--quotes-per-symbol Q]
[--repeats R] [--settle-secs S]

The aim: a paper worker with 5,000 symbols of quotes peaks at no more than 512 MB of
resident memory (the original signal service's limit). MB here is 2**20 bytes, the unit
of /proc (kB = 2**10) and of container limits (512Mi).

Method. Each run is a fresh namespace on a real local broker and a fresh `primestream
worker` subprocess with PRIMESTREAM_TRADING_MODE=paper and `--web-port`. Its TOML is the
shipped example's [strategies.*] and [ensemble] tables
(streams/strategies/examples/default.toml) with a paper risk gate that trades every
signal (`tests.kit.desk.desk_toml`: no calendar, no cooldown, shorts allowed, unbounded
limits, 10 shares an order). Two variants, interleaved --repeats times, the order
alternating each round:

- idle (the baseline): the worker is started and polled on `/ready` until it answers
  200 (assigned, tables recovered); then it idles --settle-secs with no input at all;
- loaded: the same start; then --quotes-per-symbol seeded synthetic quotes
  (`SyntheticSource`, GBM, symbols round-robin) for each of --symbols symbols S0001,
  S0002, ... are published, the worker processes every one (its consumer group commits
  them all: `bench_signals.drain`), and it idles --settle-secs more.

Just before each worker is stopped its /proc/<pid>/status is read: VmHWM (peak resident
set since the process started, so imports, start-up and the whole feed are inside) and
VmRSS (resident now), and its `/metrics` is scraped for `process_resident_memory_bytes`
(prometheus-client reads /proc/self/stat: should match VmRSS). The pid is the one the
worker's `/ready` answers with, so it is the process that serves the worker. Meanwhile
VmRSS is sampled every second, to show whether memory still grows after the drain.

Why a baseline: the machine is shared and noisy, and an idle worker's footprint (Python,
faust, librdkafka, numpy, the strategy code) is not what the symbols cost. The report
gives the median peak of each variant, the loaded peak as a ratio of the idle one, the
increment per symbol ((loaded - idle) / symbols, kB) and the verdict, taken on the
highest loaded peak of the runs (a limit is about the worst case).

Caveat printed with the figures: the default strategies need about 26 quotes of a symbol
before ema_cross can cross, so with fewer quotes a symbol makes no signal and the
desk's risk, order, fill and position state stays empty; the signals, orders and fills
written are counted so the report says what was exercised.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from infra.clock import wall_clock_us
from producers.market.synthetic import SyntheticSource
from producers.rows import SourceRow
from streams.context import default_strategy_config
from streams.risk.config import load_risk_config
from streams.strategies import load_config
from tests.bench.bench_signals import (
    SEED,
    Namespace,
    _code_version,
    drain,
    make_namespace,
    publish_quotes,
    read_all,
    running,
    worker_argv,
    worker_lag,
)
from tests.bench.harness import RESULTS, broker
from tests.kit.desk import desk_toml

IDLE = "idle paper worker (no input)"
LOADED = "paper worker after the quotes"
LIMIT_MB = 512.0
KIB_PER_MB = 1024
READY_TIMEOUT_SECS = 180.0
POLL_SECS = 0.25
SAMPLE_SECS = 1.0
OUTPUTS = ("signals", "orders", "fills", "positions")
_HEADER = re.compile(r"^\s*\[+\s*([^\].\s]+)")
_RSS_SAMPLE = re.compile(r"^process_resident_memory_bytes(?:\{[^}]*\})? (\S+)$", re.MULTILINE)


# ----------------------------------------------------------------------- the config
def example_tables(text: str, keep: tuple[str, ...] = ("strategies", "ensemble")) -> str:
    """Return the TOML tables of TEXT whose first key is in KEEP (comment lines dropped)."""
    out: list[str] = []
    keeping = False
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            keeping = header.group(1).strip("\"'") in keep
        if keeping and not line.lstrip().startswith("#"):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def paper_config() -> str:
    """Return the worker's TOML: the example strategies and ensemble, a paper risk gate."""
    strategies = example_tables(default_strategy_config().read_text())
    return desk_toml(strategies, qty=10.0, unlimited=True)


def write_config(home: Path) -> Path:
    """Write the paper config into HOME, check it loads as the worker will, return its path."""
    path = home / "memory.toml"
    path.write_text(paper_config())
    strategies = load_config(path)
    if load_risk_config(path).mode != "paper" or not strategies.strategies:
        raise RuntimeError(f"{path} is not a paper config with strategies")
    return path


def symbol_names(count: int) -> tuple[str, ...]:
    """Return COUNT symbols S0001, S0002, ... (width grows past 9,999)."""
    width = max(4, len(str(count)))
    return tuple(f"S{n:0{width}d}" for n in range(1, count + 1))


def seeded_quotes(symbols: tuple[str, ...], per_symbol: int) -> Iterator[SourceRow]:
    """Return PER_SYMBOL seeded synthetic quotes of each of SYMBOLS, round-robin."""
    source = SyntheticSource(
        wall_clock_us, symbols=symbols, seed=SEED, count=per_symbol * len(symbols)
    )
    return source.records()


# --------------------------------------------------------------------- the process
def proc_status(pid: int) -> dict[str, int]:
    """Return the kB fields (VmHWM, VmRSS, ...) of /proc/PID/status."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[name] = int(parts[0])
    return fields


def children_rss_kb(pid: int) -> list[int]:
    """Return the VmRSS (kB) of each child process of PID (a worker should have none)."""
    found: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            parent = int(text.rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found.append(proc_status(int(stat.parent.name)).get("VmRSS", 0))
        except (OSError, IndexError, ValueError):  # it exited while we looked
            continue
    return found


def free_port() -> int:
    """Return a TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5.0)
    except httpx.TransportError:  # not listening yet, or busy past the timeout
        return None


def wait_ready(port: int, alive: Callable[[], bool], timeout: float) -> int:
    """Poll the worker's /ready until it answers 200; return the pid it answers with."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the worker died before it was ready")
        response = _get(f"http://127.0.0.1:{port}/ready")
        if response is not None and response.status_code == 200:
            return int(response.json()["pid"])
        time.sleep(POLL_SECS)
    raise RuntimeError(f"the worker was not ready within {timeout:.0f} s")


def scraped_rss_bytes(port: int) -> float | None:
    """Return process_resident_memory_bytes from the worker's /metrics (None: not served)."""
    response = _get(f"http://127.0.0.1:{port}/metrics")
    if response is None or response.status_code != 200:
        return None
    found = _RSS_SAMPLE.search(response.text)
    return float(found.group(1)) if found else None


class RssTrace:
    """Samples a process's VmRSS every second in a thread, with named moments."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-trace", daemon=True)
        self.samples: list[tuple[float, float]] = []  # (secs since ready, MB)
        self.marks: dict[str, tuple[float, float]] = {}

    def start(self) -> RssTrace:
        """Take a first sample ('ready') and keep sampling in the background."""
        self.mark("ready")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(5)

    def mark(self, name: str) -> None:
        """Sample now and remember the sample as the moment NAME."""
        sample = self._take()
        if sample is not None:
            self.marks[name] = sample

    def _take(self) -> tuple[float, float] | None:
        try:
            rss_kb = proc_status(self._pid)["VmRSS"]
        except (OSError, KeyError):  # the process is gone
            return None
        sample = (round(time.monotonic() - self._start, 1), round(rss_kb / KIB_PER_MB, 1))
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECS):
            self._take()


def snapshot(pid: int, port: int) -> dict[str, Any]:
    """Return the worker's peak and current RSS (/proc), the scraped RSS and its children's."""
    scraped = scraped_rss_bytes(port)
    status = proc_status(pid)
    children = children_rss_kb(pid)
    return {
        "peak_mb": round(status["VmHWM"] / KIB_PER_MB, 1),
        "rss_mb": round(status["VmRSS"] / KIB_PER_MB, 1),
        "metrics_rss_mb": None if scraped is None else round(scraped / 2**20, 1),
        "children": len(children),
        "children_rss_mb": round(sum(children) / KIB_PER_MB, 1),
    }


# ------------------------------------------------------------------------- one run
def feed(ns: Namespace, alive: Callable[[], bool], symbols: int, per_symbol: int) -> dict[str, Any]:
    """Publish the quotes, wait until the worker committed them; return what it took."""
    begin = time.perf_counter()
    sent = publish_quotes(ns, seeded_quotes(symbol_names(symbols), per_symbol))
    published = time.perf_counter()
    left = drain(ns, alive, timeout=120 + sent / 200)
    return {
        "quotes": sent,
        "publish_secs": round(published - begin, 1),
        "drain_secs": round(time.perf_counter() - published, 1),
        "left_after_drain": left,
    }


def run_variant(
    name: str, bootstrap: str, home: Path, config: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Run one worker of variant NAME in a fresh namespace; return its memory figures."""
    ns = make_namespace(bootstrap, home)
    port = free_port()
    env = {**ns.env, "PRIMESTREAM_TRADING_MODE": "paper"}
    argv = [*worker_argv(config), "--web-port", str(port)]
    log = home / "logs" / f"memory-{ns.settings.namespace}.log"
    run: dict[str, Any] = {"variant": name, "namespace": ns.settings.namespace}
    started = time.monotonic()
    with running(argv, env, log) as alive:
        pid = wait_ready(port, alive, READY_TIMEOUT_SECS)
        run |= {"pid": pid, "ready_secs": round(time.monotonic() - started, 1)}
        trace = RssTrace(pid).start()
        try:
            if name == LOADED:
                run["feed"] = feed(ns, alive, args.symbols, args.quotes_per_symbol)
                trace.mark("drained")
            time.sleep(args.settle_secs)
            trace.mark("stop")
            run |= snapshot(pid, port)
        finally:
            trace.stop()
    run |= {"rss_marks_mb": trace.marks, "rss_trace_mb": trace.samples}
    run |= {"log_problems": log_problems(log)}
    if name == LOADED:
        run["feed"]["unprocessed_at_stop"] = worker_lag(ns)
        run["written"] = {topic: len(read_all(ns, ns.topic(topic))) for topic in OUTPUTS}
    return run


def log_problems(log: Path, keep: int = 5) -> list[str]:
    """Return the first KEEP lines of LOG that look like errors (the worker logs warnings+)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    flagged = (ln for ln in lines if re.search(r"ERROR|CRITICAL|Traceback|Exception", ln))
    return [ln[:300] for ln in itertools.islice(flagged, keep)]


def rounds(
    bootstrap: str, home: Path, config: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Run idle and loaded ARGS.repeats times each, interleaved, the order alternating."""
    runs: list[dict[str, Any]] = []
    for round_no in range(args.repeats):
        order = (IDLE, LOADED) if round_no % 2 == 0 else (LOADED, IDLE)
        for name in order:
            run = run_variant(name, bootstrap, home, config, args)
            run["round"] = round_no + 1
            runs.append(run)
            print(
                f"  round {round_no + 1}/{args.repeats} {name:<32} peak {run['peak_mb']:>7.1f} MB"
                f"  now {run['rss_mb']:>7.1f} MB  (/metrics {_mb(run['metrics_rss_mb'])} MB)",
                flush=True,
            )
    return runs


# ----------------------------------------------------------------------- reporting
def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def summarize(runs: list[dict[str, Any]], symbols: int) -> dict[str, Any]:
    """Return the medians, the ratio, the increment per symbol and the verdict."""
    peaks = {v: [r["peak_mb"] for r in runs if r["variant"] == v] for v in (IDLE, LOADED)}
    idle, loaded = _median(peaks[IDLE]), _median(peaks[LOADED])
    worst = max(peaks[LOADED])
    written = [r["written"] for r in runs if r["variant"] == LOADED]
    return {
        "median_peak_mb": {IDLE: idle, LOADED: loaded},
        "median_rss_at_stop_mb": {
            v: _median([r["rss_mb"] for r in runs if r["variant"] == v]) for v in (IDLE, LOADED)
        },
        "loaded_over_idle": round(loaded / idle, 3),
        "increment_kb_per_symbol": round((loaded - idle) * KIB_PER_MB / symbols, 1),
        "worst_loaded_peak_mb": worst,
        "limit_mb": LIMIT_MB,
        "verdict": "met" if worst <= LIMIT_MB else "NOT MET",
        "desk_exercised": any(w["orders"] for w in written),
    }


def lines(
    summary: dict[str, Any], runs: list[dict[str, Any]], args: argparse.Namespace
) -> list[str]:
    """Return a readable table of the summary and the notes that qualify it."""
    idle = summary["median_peak_mb"][IDLE]
    out = [
        f"worker memory: {args.symbols:,} symbols x {args.quotes_per_symbol} quotes, paper mode, "
        f"example strategies; median of {args.repeats} interleaved runs (MB = 2^20 bytes)",
        f"  {'variant':<32} {'peak (VmHWM)':>13} {'RSS at stop':>12} {'ratio':>7}",
    ]
    for name in (IDLE, LOADED):
        peak = summary["median_peak_mb"][name]
        at_stop = summary["median_rss_at_stop_mb"][name]
        out.append(f"  {name:<32} {peak:>10.1f} MB {at_stop:>9.1f} MB {peak / idle:>7.2f}")
    out.append(
        f"  increment: {summary['increment_kb_per_symbol']:,.1f} kB per symbol; worst loaded "
        f"peak {summary['worst_loaded_peak_mb']:.1f} MB vs limit {LIMIT_MB:.0f} MB -> "
        f"{summary['verdict']}"
    )
    return out + _notes(summary, runs)


def _notes(summary: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    notes = []
    for run in (r for r in runs if r["variant"] == LOADED):
        feed_, written, marks = run["feed"], run["written"], run["rss_marks_mb"]
        drained, stop = marks.get("drained", (0, float("nan"))), marks["stop"]
        notes.append(
            f"  loaded round {run['round']}: {feed_['quotes']:,} quotes published in "
            f"{feed_['publish_secs']:.0f} s, drained in {feed_['drain_secs']:.0f} s; RSS "
            f"ready {marks['ready'][1]:.0f} -> drained {drained[1]:.0f} -> stop {stop[1]:.0f} MB; "
            + ", ".join(f"{k} {v:,}" for k, v in written.items())
        )
        if feed_["unprocessed_at_stop"]:
            notes.append(f"    INCOMPLETE: {feed_['unprocessed_at_stop']:,} quotes not processed")
    if not summary["desk_exercised"]:
        notes.append(
            "  NOTE: no orders were made (too few quotes a symbol for the strategies to "
            "signal): the desk's risk/order/position state is not in these figures"
        )
    for run in runs:
        for problem in run["log_problems"]:
            notes.append(f"  worker log ({run['variant']}, round {run['round']}): {problem}")
    return notes


def save(doc: dict[str, Any]) -> Path:
    """Write DOC to tests/bench/results/memory.json and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "memory.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def document(
    summary: dict[str, Any],
    runs: list[dict[str, Any]],
    args: argparse.Namespace,
    load_at_start: list[float],
) -> dict[str, Any]:
    """Return the JSON document of the run."""
    command = [Path(sys.executable).name, "-m", "tests.bench.bench_memory", *sys.argv[1:]]
    return {
        "bench": "memory",
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "command": " ".join(command),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "loadavg_at_start": load_at_start,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "code": _code_version(),
        "baseline": IDLE,
        "symbols": args.symbols,
        "quotes_per_symbol": args.quotes_per_symbol,
        "settle_secs": args.settle_secs,
        "strategy_toml": paper_config(),
        "method": __doc__,
        "summary": summary,
        "runs": runs,
    }


# ---------------------------------------------------------------------------- main
def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--symbols", type=int, default=5_000, help="Symbols of the loaded run.")
    parser.add_argument(
        "--quotes-per-symbol", type=int, default=100, help="Quotes of each symbol (100: all trade)."
    )
    parser.add_argument("--repeats", type=int, default=2, help="Rounds of idle + loaded.")
    parser.add_argument(
        "--settle-secs", type=float, default=5.0, help="Idle time before each measurement."
    )
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    load_at_start = [round(x, 2) for x in os.getloadavg()]  # the machine is shared
    with broker() as endpoints, tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        home = Path(tmp)
        (home / "logs").mkdir()
        config = write_config(home)
        runs = rounds(endpoints.bootstrap_servers, home, config, args)
    summary = summarize(runs, args.symbols)
    print("\n".join(lines(summary, runs, args)))
    print(f"saved {save(document(summary, runs, args, load_at_start))}")


if __name__ == "__main__":
    main()
