"""Market sources by name: the scheme of a `--source` spec picks the implementation.

| spec                  | source                                            |
| --------------------- | ------------------------------------------------- |
| `csv:PATH`            | `files.CsvSource` (quotes or bars)                |
| `parquet:PATH`        | `files.ParquetSource` (quotes or bars)            |
| `synthetic[:k=v,...]` | `synthetic.SyntheticSource` (see there)           |
| `sample:NAME`         | `sample.SampleSource`: GOOG, EURUSD, BTCUSD bars  |
| `stdin[:kind=bar]`    | `stdin.StdinMarketSource`: JSON lines on stdin    |

`etrade:SYMBOLS` (live E*TRADE quotes, `producers.market.etrade`) is not in this table:
it needs the OAuth session of the execution layer, which producers do not import, so
the CLI builds it (`cli.live_sources`).

Each entry names its factory as "module:function", imported only when that scheme is
asked for: the implementations import pandas, pyarrow or the backtesting package, and the
contract (`producers.market.base`) imports none of them, so nothing imports in a circle. A
factory takes what follows the scheme, the clock and the whole spec (for its errors), and
checks what it can at once (a file's header), so an unusable input fails here, not
half-way through publishing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from infra.clock import Clock
from producers.exceptions import SourceError
from producers.market.base import MarketSource
from producers.market.layout import FileLayout

__all__ = ["SOURCES", "SourceFactory", "parse_source"]

SourceFactory = Callable[..., MarketSource]  # (rest, *, clock, spec) -> MarketSource

SOURCES: dict[str, str] = {
    "csv": "producers.market.files:csv_source",
    "parquet": "producers.market.files:parquet_source",
    "synthetic": "producers.market.synthetic:synthetic_source",
    "sample": "producers.market.sample:sample_source",
    "stdin": "producers.market.stdin:stdin_source",
}
_FILES = ("csv", "parquet")
_FORMS = (
    "csv:PATH", "parquet:PATH", "synthetic[:k=v,...]", "sample:NAME", "stdin[:kind=bar]",
    "etrade:SYMBOLS",
)  # fmt: skip


def parse_source(spec: str, *, clock: Clock, layout: FileLayout | None = None) -> MarketSource:
    """Return the market source SPEC names (see the module doc); SourceError if unknown.

    LAYOUT (symbol, zone, close of a bare date) is for files; other sources refuse it.
    """
    scheme, _, rest = spec.partition(":")
    target = SOURCES.get(scheme)
    if target is None:
        raise SourceError(spec, f"unknown market source; expected one of {', '.join(_FORMS)}")
    module, _, name = target.partition(":")
    factory = cast(SourceFactory, getattr(importlib.import_module(module), name))
    if layout is None or layout == FileLayout():
        return factory(rest, clock=clock, spec=spec)
    if scheme not in _FILES:
        raise SourceError(spec, "--symbol, --tz and --close are for csv: and parquet: files")
    return factory(rest, clock=clock, spec=spec, layout=layout)
