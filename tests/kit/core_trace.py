"""A trace of everything the paper core emits for GOOG's sample bars, one JSON line each.

The compiled-parity test runs it twice, compiled in-process and pure-Python in a child
process on a copy of the tree without extensions, and compares the traces line by line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from producers.market.sample import SampleSource
from schemas.codec import serializer_for
from streams.context import TradingConfig
from streams.engine import EngineSettings
from streams.execution.config import load_fill_model
from streams.risk.config import load_risk_config
from streams.strategies import load_config
from streams.strategies.config import EXAMPLES_DIR
from streams.trading import PaperVenue, TradingCore
from tests.kit.desk import RawRecord, avro_decoders

# Strategies whose runs trade often (the parity configs) and the shipped default.
TRACED = ("default.toml", "backtest_smacross_parity.toml", "backtest_rsi_reversion_parity.toml")
GARBAGE_EVERY = 97  # a bad record now and then: dead letters are part of the trace


def _none(_key: object) -> None:
    return None


def trace(toml: Path) -> Iterator[str]:
    """Yield one JSON line per record, dead letter and changed table key the core emits."""
    overrides = {"risk.capital": "10000"}
    trading = TradingConfig(load_risk_config(toml, overrides), load_fill_model(toml, overrides))
    core = TradingCore(
        load_config(toml, overrides),
        EngineSettings(),
        trading.risk,
        partitions=1,
        decoders=avro_decoders("market.bars", "Bar"),
        venue=PaperVenue(trading.fill_model) if trading.risk.mode == "paper" else None,
    )
    encode = serializer_for("Bar", registry=None)
    loaders = dict.fromkeys(core.tables(), _none)
    for i, row in enumerate(SampleSource.named("GOOG", clock=lambda: 0).records()):
        assert row.record is not None
        value = b"\x00garbage" if i % GARBAGE_EVERY == GARBAGE_EVERY - 1 else encode(row.record)
        out = core.process([RawRecord(value, i, key=b"GOOG", topic="market.bars")], loaders)
        for name, record in out.records:
            yield json.dumps([i, name, record.key, record.value], sort_keys=True, default=str)
        for letter in out.deadletters:
            yield json.dumps([i, "deadletter", letter.key, letter.headers], default=str)
        yield json.dumps([i, "changed", sorted(map(str, out.changed)), out.processed])


def main() -> None:
    """Print the traces of every TRACED config, and which engine module ran them."""
    import streams.engine

    print(json.dumps(["engine", Path(streams.engine.__file__ or "").suffix]))
    for name in TRACED:
        for line in trace(EXAMPLES_DIR / name):
            print(line)


if __name__ == "__main__":
    main()
    sys.exit(0)
