"""Run every benchmark in turn: `make bench` (python -m tests.bench [NAME ...])."""

from __future__ import annotations

import runpy
import sys

BENCHES = (
    "bench_codec",
    "bench_producer",
    "bench_indicators",
    "bench_desk_core",
    "bench_commit",
    "bench_signals",
    "bench_latency",
    "bench_backtest",
    "bench_tracing",
    "bench_memory",
)


def main() -> None:
    names = sys.argv[1:] or list(BENCHES)
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        sys.argv = [name]
        runpy.run_module(f"tests.bench.{name}", run_name="__main__")


if __name__ == "__main__":
    main()
