"""A trace of everything the paper core emits for GOOG's sample bars, one JSON line each.

The compiled-parity test runs it twice, compiled in-process and pure-Python in a child
process on a copy of the tree without extensions, and compares the traces line by line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from streams.strategies.config import EXAMPLES_DIR
from tests.kit.desk import RawRecord, goog_bars, toml_core

# Strategies whose runs trade often (the parity configs) and the shipped default.
TRACED = ("default.toml", "backtest_smacross_parity.toml", "backtest_rsi_reversion_parity.toml")
GARBAGE_EVERY = 97  # a bad record now and then: dead letters are part of the trace


def _none(_key: object) -> None:
    return None


def trace(toml: Path) -> Iterator[str]:
    """Yield one JSON line per record, dead letter and changed table key the core emits."""
    core = toml_core(toml, {"risk.capital": "10000"}, "market.bars", "Bar")
    loaders = dict.fromkeys(core.tables(), _none)
    for i, (_bar, raw) in enumerate(goog_bars()):
        if i % GARBAGE_EVERY == GARBAGE_EVERY - 1:
            raw = RawRecord(b"\x00garbage", i, key=b"GOOG", topic="market.bars")
        out = core.process([raw], loaders)
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
