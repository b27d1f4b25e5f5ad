"""What tracing costs the pipeline: off, ratio-sampled and always on, in one run (issue 6).

Run: .venv/bin/python -m tests.bench.bench_tracing [--quotes 30000] [--repeats 2] [--ratio 0.01]

Each variant runs `cli.backtest_run.run_pipeline` (a paper `primestream worker`, the
bundled SMA 10/20 config, N seeded synthetic quotes of 5 symbols) in a fresh namespace;
the producer and the worker export to a local Zipkin (the real backend, started here) at
the variant's sampling ratio: 0 (off: no exporter at all), --ratio, and 1.0 (always on).
The figure is the worker's processing rate: the records it committed between its first
commit and the end of the input, over that time (its start-up excluded). Two ways each:
the producer publishing while the worker runs (the tracing producer then shares the two
cores with the worker, and can bound it), and "published first" (all quotes in Kafka
before the worker starts: the worker's own cost of tracing). Variants run round-robin,
--repeats times, so the machine's drift hits all of them alike; ratios are of medians
against "tracing off" (concurrent), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from cli.backtest_run import PipelineInputs, run_pipeline
from infra import local
from infra.settings import Settings
from infra.tracing_backend import spans_url
from schemas.clients import Clients
from streams.strategies.config import EXAMPLES_DIR
from tests.bench.harness import Measurement, Report

_SYMBOLS = "AAPL,MSFT,GOOG,AMZN,NVDA"


def _variant_env(ratio: float, zipkin: str) -> dict[str, str]:
    if ratio == 0.0:
        return {"PRIMESTREAM_TRACING_EXPORTER": "none", "PRIMESTREAM_TRACING_SAMPLE_RATIO": "0"}
    return {
        "PRIMESTREAM_TRACING_EXPORTER": "zipkin",
        "PRIMESTREAM_ZIPKIN_ENDPOINT": zipkin,
        "PRIMESTREAM_TRACING_SAMPLE_RATIO": str(ratio),
    }


def _run(
    base: Settings, ratio: float, zipkin: str, quotes: int, workdir: Path, *, first: bool
) -> float:
    os.environ.update(_variant_env(ratio, zipkin))  # the worker subprocess reads these
    settings = base.model_copy(
        update={
            "namespace": f"trc{uuid.uuid4().hex[:8]}",
            "tracing_exporter": "none" if ratio == 0.0 else "zipkin",
            "zipkin_endpoint": zipkin,
            "tracing_sample_ratio": ratio,
        }
    )
    marks: list[tuple[float, int]] = []
    run_pipeline(
        Clients(settings),
        PipelineInputs(
            f"synthetic:symbols={_SYMBOLS},seed=7,count={quotes}",
            None,
            EXAMPLES_DIR / "backtest_sma_cross.toml",
            workdir / f"worker-{ratio}.log",
            600.0,
            publish_first=first,
        ),
        say=lambda _line: None,
        progress=lambda done, _total: marks.append((time.monotonic(), done)),
    )
    started = next((t, d) for t, d in marks if d > 0)
    ended = marks[-1]
    return (ended[1] - started[1]) / max(1e-6, ended[0] - started[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ratio", type=float, default=0.01)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="primestream-bench-") as home:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, home=Path(home), kafka_port=0, registry_port=0, tracing_port=0
        )
        endpoints = local.up(settings, with_registry=False, with_tracing=True, progress=print)
        try:
            address = next(s.address for s in local.status(settings) if s.name == "tracing")
            zipkin = spans_url(address or "")
            os.environ.update(
                PRIMESTREAM_BOOTSTRAP_SERVERS=endpoints.bootstrap_servers,
                PRIMESTREAM_HOME=home,
                PRIMESTREAM_PARTITIONS="2",
            )
            base = settings.model_copy(
                update={"bootstrap_servers": endpoints.bootstrap_servers, "partitions": 2}
            )
            levels = {"tracing off": 0.0, f"ratio {args.ratio:g}": args.ratio, "always on": 1.0}
            variants = {
                f"{name}{suffix}": (ratio, first)
                for first, suffix in ((False, ""), (True, ", published first"))
                for name, ratio in levels.items()
            }
            results = {name: Measurement(name) for name in variants}
            for round_no in range(args.repeats):
                for name, (ratio, first) in variants.items():
                    rate = _run(base, ratio, zipkin, args.quotes, Path(home), first=first)
                    results[name].rates.append(rate)
                    print(f"  round {round_no + 1} {name:<32} {rate:>10,.0f} quotes/s", flush=True)
        finally:
            local.down(settings)
    notes: dict[str, object] = {"quotes": args.quotes, "repeats": args.repeats}
    report = Report("bench_tracing", "tracing off", results, notes=notes)
    for line in report.lines():
        print(line)
    print(f"saved {report.save()}")


if __name__ == "__main__":
    main()
