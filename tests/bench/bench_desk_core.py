"""The pure hot path without a broker: decode, the signal engine, the paper desk, per quote.

Run: python -m tests.bench.bench_desk_core [--quotes N] [--rounds R] [--batch B] [--no-memory]

N seeded synthetic quotes of five symbols (`SyntheticSource`, a `ManualClock`, so the
same bytes every run) are encoded once with the registry-free Quote serializer, as a
worker consumes them. Every round then runs each variant over all N quotes with fresh
state, round-robin, so machine drift hits every variant alike; times are the process's
CPU time (the machine is shared: wall time would count other processes' turns). The
report gives the median µs per quote and the ratio to the decode baseline measured in
the same run:

- decode: the generated Quote decoder over the raw bytes, nothing else (the baseline);
- alert default / alert fast 2/5: the alert-only worker's pure work: decode, one
  `SymbolEngine.on_event(Event(...))` per quote (as the signal stage calls it), and the
  risk gate (alert-only) on the signals it fires; under the default strategy TOML (its
  [risk] table too) and under one fast SMA 2/5 crossover;
- paper desk: `offline_desk(...).process(batch, loaders)` over batches of B records with
  in-memory dict tables, trading on every 2/5 crossing (`desk_toml(FAST_STRATEGIES,
  qty=10, unlimited=True)`): engine, paper book, fills, positions marked, risk;
- paper desk + state: the same, and after each batch what the stage runtime does today:
  every changed key's `state()` written to its table, the caches dropped (`forget()`),
  and the next batch restoring from the tables (`from_state`).

Memory: tracemalloc's peak while 5,000 symbols' engines are built and fed 40 quotes each
(default TOML; then with every default strategy on every symbol), and the bytes of one
paper book holding its full quote history, times 5,000.

Figures go to tests/bench/results/desk_core.json (or --json PATH).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
import tomllib
import tracemalloc
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.clock import ManualClock
from producers.market.synthetic import SyntheticSource
from schemas.codec import serializer_for
from streams.context import default_strategy_config
from streams.engine import EngineSettings, Event, SymbolEngine
from streams.execution.config import parse_fill_model
from streams.execution.paper_book import PaperBook
from streams.risk.config import RiskConfig, parse_risk_config
from streams.risk.rules import RiskBook
from streams.strategies import StrategyConfig, parse_config
from tests.bench.bench_signals import FAST_STRATEGIES
from tests.kit.desk import RawRecord, avro_decoders, desk_toml, offline_desk

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results" / "desk_core.json"
SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "TSLA")
SEED = 11
TOPIC = "market.quotes"
MEMORY_SYMBOLS = 5_000
MEMORY_QUOTES = 40

Run = Callable[[], int]  # runs one variant over every quote; returns the signals it saw


def quotes(count: int) -> list[dict[str, Any]]:
    """Return COUNT seeded synthetic quotes of SYMBOLS, round-robin, one step a second."""
    source = SyntheticSource(ManualClock(), symbols=SYMBOLS, seed=SEED, count=count)
    return [row.record for row in source.records() if row.record is not None]


def encoded(records: list[dict[str, Any]]) -> list[RawRecord]:
    """Return RECORDS as the consumer would deliver them: framed Avro, keyed by symbol."""
    encode = serializer_for("Quote", registry=None)
    return [
        RawRecord(encode(r), i, key=r["symbol"].encode(), topic=TOPIC)
        for i, r in enumerate(records)
    ]


def _document(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def decode_only(raws: list[RawRecord]) -> Run:
    """Return the baseline: decode every record, keep nothing."""
    decode = avro_decoders(TOPIC)[TOPIC][1]
    values = [raw.value for raw in raws]

    def run() -> int:
        for value in values:
            decode(value)
        return 0

    return run


def alert_path(raws: list[RawRecord], config: StrategyConfig, risk: RiskConfig) -> Run:
    """Return the alert-only worker's work: decode, engine per quote, risk on the signals."""
    decode = avro_decoders(TOPIC)[TOPIC][1]
    values = [raw.value for raw in raws]
    settings = EngineSettings()

    def run() -> int:
        engines: dict[str, SymbolEngine] = {}
        book = RiskBook(risk)
        fired = 0
        for value in values:
            record = decode(value)
            symbol = record["symbol"]
            engine = engines.get(symbol)
            if engine is None:
                engine = engines[symbol] = SymbolEngine(symbol, config, settings)
            output = engine.on_event(Event("quote", record["ts_event_us"], dict(record)))
            for signal in output.signals:
                book.decide(signal, config=risk, budget=1.0)
                fired += 1
        return fired

    return run


def paper_desk(
    raws: list[RawRecord], document: Mapping[str, Any], batch: int, *, round_trip: bool
) -> Run:
    """Return the paper desk over batches of BATCH records (ROUND_TRIP: write state, forget)."""
    strategies = parse_config(document)
    risk = parse_risk_config(document)
    model = parse_fill_model(document)
    decoders = avro_decoders(TOPIC)
    batches = [raws[i : i + batch] for i in range(0, len(raws), batch)]

    def run() -> int:
        desk = offline_desk(decoders, strategies=strategies, risk=risk, fill_model=model)
        tables: dict[str, dict[str, Any]] = {name: {} for name in desk.tables()}
        loaders = {name: table.get for name, table in tables.items()}
        fired = 0
        for records in batches:
            out = desk.process(records, loaders)
            fired += sum(1 for name, _ in out.records if name == "signals")
            if round_trip:
                for table, key in out.changed:
                    tables[table][key] = desk.state(table, key)
                desk.forget()
        return fired

    return run


def measure(variants: dict[str, Run], quotes_n: int, rounds: int) -> dict[str, list[float]]:
    """Run every variant ROUNDS times round-robin; return µs per quote of each run."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    fired: dict[str, int] = {}
    for round_no in range(rounds):
        for name, run in variants.items():
            gc.collect()
            start = time.process_time()
            signals = run()
            us = (time.process_time() - start) / quotes_n * 1e6
            times[name].append(us)
            if fired.setdefault(name, signals) != signals:
                raise AssertionError(f"{name}: {signals} signals, {fired[name]} before")
            print(f"  round {round_no + 1}/{rounds} {name:<28} {us:8.2f} µs/quote", flush=True)
    return times


def engines_peak_mib(config: StrategyConfig, raws: list[dict[str, Any]]) -> float:
    """Return tracemalloc's peak (MiB) while MEMORY_SYMBOLS engines are built and fed."""
    settings = EngineSettings()
    gc.collect()
    tracemalloc.start()
    engines: list[SymbolEngine] = []
    for i in range(MEMORY_SYMBOLS):
        symbol = f"S{i:04d}"
        engine = SymbolEngine(symbol, config, settings)
        for record in raws:
            event = Event("quote", record["ts_event_us"], {**record, "symbol": symbol})
            engine.on_event(event)
        engines.append(engine)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del engines
    return peak / 2**20


def book_bytes(document: Mapping[str, Any], raws: list[dict[str, Any]]) -> tuple[int, int]:
    """Return (quote history length, bytes) of one paper book holding a full quote history."""
    model = parse_fill_model(document)
    history = model.quote_history
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    book = PaperBook("AAPL", model)
    step = raws[0]
    for i in range(history):
        book.on_quote({**step, "ts_event_us": step["ts_event_us"] + i * 1_000_000})
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del book
    return history, after - before


def every_symbol(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return DOCUMENT with every strategy on every symbol (the worst case for memory)."""
    strategies = {name: {**body, "symbols": "*"} for name, body in document["strategies"].items()}
    return {**document, "strategies": strategies}


def main() -> None:
    """Run the benchmark, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--label", default="", help="a note stored with the figures")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the figures go")
    args = parser.parse_args()

    records = quotes(args.quotes)
    raws = encoded(records)
    default_doc = _document(default_strategy_config().read_text())
    fast_doc = _document(desk_toml(FAST_STRATEGIES, qty=10, unlimited=True))
    fast_alert = parse_risk_config(
        _document(desk_toml(FAST_STRATEGIES, mode="alert-only", qty=10, unlimited=True))
    )
    variants: dict[str, Run] = {
        "decode": decode_only(raws),
        "alert default": alert_path(
            raws, parse_config(default_doc), parse_risk_config(default_doc)
        ),
        "alert fast 2/5": alert_path(raws, parse_config(fast_doc), fast_alert),
        "paper desk fast 2/5": paper_desk(raws, fast_doc, args.batch, round_trip=False),
        "paper desk + state": paper_desk(raws, fast_doc, args.batch, round_trip=True),
    }
    signals = {name: run() for name, run in variants.items()}  # warm-up: imports, calendars
    print(
        f"python {platform.python_version()}, {args.quotes:,} quotes of {len(SYMBOLS)} symbols, "
        f"{args.rounds} interleaved rounds, desk batches of {args.batch}"
    )
    times = measure(variants, args.quotes, args.rounds)
    base = statistics.median(times["decode"])
    print(f"\n  {'variant':<28} {'µs/quote':>9} {'x decode':>9} {'quotes/s':>10} {'signals':>8}")
    results: dict[str, Any] = {}
    for name, runs in times.items():
        med = statistics.median(runs)
        print(f"  {name:<28} {med:9.2f} {med / base:9.2f} {1e6 / med:10,.0f} {signals[name]:8,}")
        results[name] = {
            "median_us_per_quote": round(med, 3),
            "best_us_per_quote": round(min(runs), 3),
            "ratio_to_decode": round(med / base, 3),
            "runs_us_per_quote": [round(t, 3) for t in runs],
            "signals": signals[name],
        }

    memory: dict[str, Any] = {}
    if not args.no_memory:
        feed = records[: MEMORY_QUOTES * len(SYMBOLS) : len(SYMBOLS)]  # one symbol's path
        memory["engines_default_peak_mib"] = round(
            engines_peak_mib(parse_config(default_doc), feed), 1
        )
        memory["engines_every_strategy_peak_mib"] = round(
            engines_peak_mib(parse_config(every_symbol(default_doc)), feed), 1
        )
        history, one_book = book_bytes(fast_doc, feed)
        memory["paper_book_quote_history"] = history
        memory["paper_book_full_history_bytes"] = one_book
        memory["paper_books_5000_mib"] = round(one_book * MEMORY_SYMBOLS / 2**20, 1)
        print(
            f"\n  memory, {MEMORY_SYMBOLS:,} symbols fed {MEMORY_QUOTES} quotes each "
            f"(tracemalloc peak): engines, default TOML {memory['engines_default_peak_mib']} MiB;"
            f" every strategy on every symbol {memory['engines_every_strategy_peak_mib']} MiB"
        )
        print(
            f"  one paper book with its full history of {history} quotes: {one_book:,} bytes,"
            f" x {MEMORY_SYMBOLS:,} = {memory['paper_books_5000_mib']} MiB"
        )

    args.json.parent.mkdir(exist_ok=True)
    doc = {
        "bench": "desk_core",
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "label": args.label,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "quotes": args.quotes,
        "symbols": list(SYMBOLS),
        "rounds": args.rounds,
        "batch": args.batch,
        "baseline": "decode",
        "variants": results,
        "memory": memory,
    }
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
