"""Micro-benchmark: a strategy's indicator set per quote, primestream's IndicatorSet vs talipp.

Run: .venv/bin/python tests/bench/bench_indicators.py [--quotes N] [--repeats R] [--json PATH]

The set is what a typical strategy asks for: sma_10, sma_30, ema_12, rsi_14,
macd_12_26_9, bbands_20_2, atr_14, zscore_20, donchian_20. Both sides are fed the same
seeded random-walk quotes as `update(mid, mid, mid, 0.0, ts_us)`; talipp through its
incremental `add()` (an OHLCV per quote for ATR and Donchian; the z-score from its SMA
and StdDev). Each side is timed twice: updates alone, and updates plus reading every
latest value (`snapshot()` / `ind[-1]`), which is what the signal agent does per quote.
Variants run interleaved, R rounds, in one process; the report gives medians, µs per
quote, the ratio against talipp, and the verdict against the budget: the signal agent
must do >= 50,000 quotes/s per worker, so indicators get well under ~15 µs a quote.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from talipp.indicators import ATR, BB, EMA, MACD, RSI, SMA, DonchianChannels, StdDev
from talipp.ohlcv import OHLCV

from streams.indicators import IndicatorSet

NAMES = (
    "sma_10",
    "sma_30",
    "ema_12",
    "rsi_14",
    "macd_12_26_9",
    "bbands_20_2",
    "atr_14",
    "zscore_20",
    "donchian_20",
)
BUDGET_US = 15.0
T0_US = 1_704_205_800_000_000


def random_walk(n: int, seed: int = 7) -> list[float]:
    """Return N mids of a seeded random walk around 100 (steps of ~5 bp)."""
    rng = random.Random(seed)
    mid = 100.0
    out = []
    for _ in range(n):
        mid *= 1.0 + rng.gauss(0.0, 0.0005)
        out.append(round(mid, 4))
    return out


def ours(mids: list[float], *, read: bool) -> float:
    """Feed MIDS to an IndicatorSet; return the seconds taken."""
    indicators = IndicatorSet.from_names(NAMES)
    update = indicators.update
    snapshot = indicators.snapshot
    start = time.perf_counter()
    if read:
        for i, mid in enumerate(mids):
            update(mid, mid, mid, 0.0, T0_US + i)
            snapshot()
    else:
        for i, mid in enumerate(mids):
            update(mid, mid, mid, 0.0, T0_US + i)
    return time.perf_counter() - start


def talipp_set() -> tuple[list[Any], list[Any]]:
    """Return the same set as talipp indicators: (fed a float, fed an OHLCV)."""
    on_close = [
        SMA(10),
        SMA(30),
        EMA(12),
        RSI(14),
        MACD(12, 26, 9),
        BB(20, 2.0),
        SMA(20),
        StdDev(20),
    ]
    on_bar = [ATR(14), DonchianChannels(20)]
    return on_close, on_bar


def theirs(mids: list[float], *, read: bool) -> float:
    """Feed MIDS to the talipp set; return the seconds taken."""
    on_close, on_bar = talipp_set()
    adds_close = [ind.add for ind in on_close]
    adds_bar = [ind.add for ind in on_bar]
    everyone = on_close + on_bar
    mean_20, std_20 = on_close[6], on_close[7]
    start = time.perf_counter()
    for mid in mids:
        for add in adds_close:
            add(mid)
        bar = OHLCV(mid, mid, mid, mid, 0.0)
        for add in adds_bar:
            add(bar)
        if read:
            latest = {i: ind[-1] for i, ind in enumerate(everyone)}
            std = std_20[-1]
            if std:
                latest[-1] = (mid - mean_20[-1]) / std
    return time.perf_counter() - start


def cross_check(mids: list[float]) -> dict[str, float]:
    """Return |ours - talipp| / |talipp| of the final values both define the same way."""
    indicators = IndicatorSet.from_names(NAMES)
    on_close, on_bar = talipp_set()
    for i, mid in enumerate(mids):
        indicators.update(mid, mid, mid, 0.0, T0_US + i)
        for ind in on_close:
            ind.add(mid)
        bar = OHLCV(mid, mid, mid, mid, 0.0)
        for ind in on_bar:
            ind.add(bar)
    snap = indicators.snapshot()
    pairs = {
        "sma_10": on_close[0][-1],
        "sma_30": on_close[1][-1],
        "ema_12": on_close[2][-1],
        "rsi_14": on_close[3][-1],
        "macd_12_26_9.macd": on_close[4][-1].macd,
        "macd_12_26_9.macd_signal": on_close[4][-1].signal,
        "bbands_20_2.upper": on_close[5][-1].ub,
        "atr_14": on_bar[0][-1],
        "donchian_20.upper": on_bar[1][-1].ub,
    }
    return {key: abs(snap[key] - value) / abs(value) for key, value in pairs.items()}


def main() -> None:
    """Run the benchmark and print the medians, µs per quote and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    mids = random_walk(args.quotes)
    variants: dict[str, Callable[[], float]] = {
        "talipp add()": lambda: theirs(mids, read=False),
        "talipp add() + read latest": lambda: theirs(mids, read=True),
        "IndicatorSet.update": lambda: ours(mids, read=False),
        "IndicatorSet.update + snapshot": lambda: ours(mids, read=True),
    }
    print(f"python {platform.python_version()}, {len(NAMES)} indicators: {', '.join(NAMES)}")
    print(f"{args.quotes:,} quotes x {args.repeats} interleaved rounds")
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for round_no in range(args.repeats):
        for name, run in variants.items():
            seconds[name].append(run())
            rate = args.quotes / seconds[name][-1]
            print(f"  round {round_no + 1}/{args.repeats} {name:<32} {rate:>10,.0f} quotes/s")
    us = {name: statistics.median(s) / args.quotes * 1e6 for name, s in seconds.items()}
    print(f"\n  {'variant':<32} {'quotes/s':>10} {'us/quote':>9} {'vs talipp':>9}")
    for name, per_quote in us.items():
        base = us[
            "talipp add() + read latest" if "read" in name or "snapshot" in name else "talipp add()"
        ]
        print(f"  {name:<32} {1e6 / per_quote:>10,.0f} {per_quote:>9.2f} {base / per_quote:>8.1f}x")
    for name in ("talipp add() + read latest", "IndicatorSet.update + snapshot"):
        verdict = "meets" if us[name] < BUDGET_US else "misses"
        print(f"  {name}: {us[name]:.2f} us/quote {verdict} the {BUDGET_US:.0f} us budget")
    drift = cross_check(mids[: min(len(mids), 20_000)])
    print(
        "  final values vs talipp (relative):", ", ".join(f"{k} {v:.1e}" for k, v in drift.items())
    )
    if args.json:
        args.json.write_text(json.dumps({
            "bench": "indicators", "python": platform.python_version(),
            "quotes": args.quotes, "repeats": args.repeats, "indicators": list(NAMES),
            "us_per_quote_median": {k: round(v, 3) for k, v in us.items()},
            "final_relative_difference_vs_talipp": drift,
        }, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
