"""Micro-benchmark: per-record Avro encode/decode cost, fastavro generic vs specialized.

Run: .venv/bin/python tests/bench/bench_codec.py [--records N] [--repeats R]

Each repeat times every codec over the same N realistic records (a pool of symbols,
increasing timestamps, random prices), interleaved so machine noise hits all of them
alike; the best repeat is reported. fastavro's decode is timed twice: with the schema
as is (timestamps come back as datetime) and without logical types (int µs, which is
what the specialized decoder returns).
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fastavro import schemaless_reader, schemaless_writer

from schemas.catalog import parsed_schema
from schemas.codec import deserializer_for, serializer_for
from schemas.fastcodec import plain_schema, record_decoder, record_encoder

T0_US = 1_704_205_800_000_000
SYMBOLS = [f"S{i:03d}" for i in range(40)] + ["AAPL", "MSFT", "BRK.B", "GOOG", "NVDA"]


def quotes(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Return N quotes: 45 symbols, µs timestamps a few ms apart, a last price half the time."""
    out = []
    for i in range(n):
        bid = round(rng.uniform(10, 500), 2)
        out.append({
            "symbol": rng.choice(SYMBOLS), "ts_event_us": T0_US + i * 1_731,
            "ts_ingest_us": T0_US + i * 1_731 + rng.randint(50, 400),
            "bid": bid, "ask": bid + 0.01 * rng.randint(1, 5),
            "bid_size": float(rng.randint(1, 50) * 100),
            "ask_size": float(rng.randint(1, 50) * 100),
            "last": bid + 0.01 if rng.random() < 0.5 else None, "seq": i,
        })  # fmt: skip
    return out


def bars(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Return N one-minute bars."""
    out = []
    for i in range(n):
        close = rng.uniform(10, 500)
        out.append({
            "symbol": rng.choice(SYMBOLS), "ts_event_us": T0_US + i * 60_000_000,
            "ts_ingest_us": T0_US + i * 60_000_000 + 250, "interval_secs": 60,
            "open": close * 0.999, "high": close * 1.002, "low": close * 0.997, "close": close,
            "volume": float(rng.randint(1_000, 2_000_000)), "seq": i,
        })  # fmt: skip
    return out


def signals(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Return N signals with a few params/features and one trigger id."""
    out = []
    for i in range(n):
        symbol = rng.choice(SYMBOLS)
        out.append({
            "id": f"sma_cross:{symbol}:{T0_US + i}", "symbol": symbol, "strategy": "sma_cross",
            "side": rng.choice(["BUY", "SELL", "FLAT"]), "strength": rng.uniform(-1, 1),
            "confidence": rng.random(), "ref_price": rng.uniform(10, 500),
            "ts_event_us": T0_US + i * 1_000,
            "params": {"fast": 10.0, "slow": 30.0},
            "features": {"sma_fast": rng.uniform(10, 500), "sma_slow": rng.uniform(10, 500),
                         "rsi": rng.uniform(0, 100)},
            "trigger_ids": [f"{symbol}:{i}"],
        })  # fmt: skip
    return out


GENERATORS = {"Quote": quotes, "Bar": bars, "Signal": signals}


def per_record_us(fn: Callable[[Any], object], items: list[Any]) -> float:
    """Return the µs per item of calling FN on every item once."""
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def bench(name: str, records: list[dict[str, Any]], repeats: int) -> dict[str, float]:
    """Return the best per-record µs of each codec on RECORDS."""
    schema, plain = parsed_schema(name), plain_schema(parsed_schema(name))
    encode, decode = record_encoder(name), record_decoder(name)
    serialize = serializer_for(name, registry=None)
    deserialize = deserializer_for(name, registry=None)

    def fastavro_encode(record: dict[str, Any]) -> bytes:
        stream = io.BytesIO()
        schemaless_writer(stream, schema, record)
        return stream.getvalue()

    bodies = [fastavro_encode(r) for r in records]
    framed = [serialize(r) for r in records]
    assert bodies == [encode(r) for r in records], "specialized bytes differ from fastavro"
    cases: dict[str, tuple[Callable[[Any], object], list[Any]]] = {
        "enc fastavro": (fastavro_encode, records),
        "enc specialized": (encode, records),
        "enc serializer": (serialize, records),
        "dec fastavro": (lambda b: schemaless_reader(io.BytesIO(b), schema), bodies),
        "dec fastavro-int": (lambda b: schemaless_reader(io.BytesIO(b), plain), bodies),
        "dec specialized": (lambda b: decode(b, 0), bodies),
        "dec deserializer": (deserialize, framed),
    }
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(repeats):
        for case, (fn, items) in cases.items():
            best[case] = min(best[case], per_record_us(fn, items))
    return best


def main() -> None:
    """Run the benchmark and print µs/record and speed-ups."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"python {sys.version.split()[0]}, {args.records} records x best of {args.repeats}")
    header = (
        f"{'record':8} {'enc fastavro':>12} {'enc fast':>9} {'speed-up':>8} {'+framing':>9} | "
        f"{'dec fastavro':>12} {'(int ts)':>9} {'dec fast':>9} {'speed-up':>8} {'+framing':>9}"
    )
    print(header + "\n" + "-" * len(header))
    for name, generate in GENERATORS.items():
        r = bench(name, generate(rng, args.records), args.repeats)
        print(
            f"{name:8} {r['enc fastavro']:10.2f}us {r['enc specialized']:7.2f}us "
            f"{r['enc fastavro'] / r['enc specialized']:7.1f}x {r['enc serializer']:7.2f}us | "
            f"{r['dec fastavro']:10.2f}us {r['dec fastavro-int']:7.2f}us "
            f"{r['dec specialized']:7.2f}us "
            f"{r['dec fastavro-int'] / r['dec specialized']:7.1f}x {r['dec deserializer']:7.2f}us"
        )
    print("speed-up = fastavro / specialized (decode: vs fastavro with int timestamps)")


if __name__ == "__main__":
    main()
