"""A million quotes through the whole pipeline, as a backtest runs them (issue 5, point 8).

Run: .venv/bin/python -m tests.bench.bench_backtest [--sizes 100000,300000,1000000]

Per size: a fresh namespace, N synthetic quotes of 5 symbols (seeded), the bundled
backtest example (SMA 10/20 crossover, paper broker), and `cli.backtest_run.run_pipeline`, the
code `primestream backtest` runs: topics, a `primestream worker`, publishing, and the wait
for the end-of-stream markers. The figure is quotes / pipeline seconds (worker start to
the group past every marker: the worker's start-up is included, publishing overlaps
processing). Baseline, measured in the same run on the same topic: a plain confluent
consumer reading the N quotes (no decoding), so the ratio says how far the pipeline is
from reading alone. Linearity: seconds per 100,000 quotes at each size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from cli.backtest_run import BacktestFailedError, PipelineInputs, run_pipeline
from infra.settings import Settings
from schemas.clients import Clients
from streams.strategies.config import EXAMPLES_DIR
from tests.bench.harness import RESULTS, broker

_SYMBOLS = "AAPL,MSFT,GOOG,AMZN,NVDA"


def _raw_read_secs(bootstrap: str, topic: str, expected: int) -> float:
    """Seconds a plain consumer takes to read EXPECTED records of TOPIC from the start."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    seen, eof, started = 0, 0, time.perf_counter()
    while eof < len(parts):
        for message in consumer.consume(10_000, timeout=1.0):
            if message.error():
                eof += 1
            elif message.value():
                seen += 1
    secs = time.perf_counter() - started
    consumer.close()
    if seen < expected:
        raise RuntimeError(f"the raw reader saw {seen:,} of {expected:,} quotes")
    return secs


def _run(settings: Settings, size: int, workdir: Path) -> dict[str, float]:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    runtime = Clients(settings.model_copy(update={"namespace": namespace}))
    config = EXAMPLES_DIR / "backtest_sma_cross.toml"
    spec = f"synthetic:symbols={_SYMBOLS},seed=7,count={size}"
    log = workdir / f"worker-{size}.log"
    try:
        run = run_pipeline(
            runtime,
            PipelineInputs(spec, None, config, log, 600.0),
            say=lambda line: print(f"  {line}", flush=True),
        )
    except BacktestFailedError:
        # the log goes with the temporary home: show why before it does
        print(log.read_text(errors="replace")[-6000:] if log.exists() else "(no worker log)")
        raise
    raw = _raw_read_secs(
        runtime.endpoints.bootstrap_servers, runtime.settings.topic("market.quotes"), size
    )
    figures = {
        "quotes": size,
        "pipeline_secs": round(run.pipeline_secs, 1),
        "quotes_per_sec": round(size / run.pipeline_secs),
        "raw_read_per_sec": round(size / raw),
        "ratio_to_raw_read": round(raw / run.pipeline_secs, 4),
        "secs_per_100k": round(run.pipeline_secs / size * 100_000, 2),
        "fills": len(run.fills),
        "dead_letters": run.dead_letters,
    }
    print(f"  {figures}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with broker() as endpoints, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            bootstrap_servers=endpoints.bootstrap_servers,
            schema_registry_url=endpoints.schema_registry_url,
            home=Path(tmp),
            partitions=2,
        )
        # the worker subprocess reads its settings from the environment
        os.environ.update(
            PRIMESTREAM_BOOTSTRAP_SERVERS=endpoints.bootstrap_servers,
            PRIMESTREAM_HOME=tmp,
            PRIMESTREAM_PARTITIONS="2",
        )
        if endpoints.schema_registry_url:
            os.environ["PRIMESTREAM_SCHEMA_REGISTRY_URL"] = endpoints.schema_registry_url
        for size in sizes:
            print(f"{size:,} quotes", flush=True)
            results.append(_run(settings, size, Path(tmp)))
    RESULTS.mkdir(exist_ok=True)
    doc = {
        "bench": "bench_backtest",
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "baseline": "a plain confluent consumer reading the same quotes",
        "runs": results,
    }
    (RESULTS / "bench_backtest.json").write_text(json.dumps(doc, indent=2) + "\n")
    for r in results:
        print(
            f"{r['quotes']:>10,} quotes  {r['pipeline_secs']:>8,.1f} s  "
            f"{r['quotes_per_sec']:>8,} quotes/s  ratio to raw read {r['ratio_to_raw_read']:.4f}  "
            f"{r['secs_per_100k']:.2f} s per 100k"
        )


if __name__ == "__main__":
    main()
