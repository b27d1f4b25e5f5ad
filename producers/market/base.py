"""The market-source contract (`MarketSource`, `SourceRow`) and `parse_source` to pick one.

Sources by spec:

| spec                               | source                                   |
| ---------------------------------- | ---------------------------------------- |
| `csv:PATH`                         | `files.CsvSource` (quotes or bars)       |
| `parquet:PATH`                     | `files.ParquetSource` (quotes or bars)   |
| `synthetic[:k=v,...]`              | `synthetic.SyntheticSource` (see there)  |
| `sample:NAME`                      | `sample.SampleSource`: GOOG, EURUSD, BTCUSD bars |

Every source stamps `ts_ingest_us` with the injected clock (µs since the epoch, UTC).
`parse_source` reads a file's header, so a missing or unusable file fails there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

from infra.clock import Clock
from producers.exceptions import SourceError
from producers.rows import SourceRow

__all__ = [
    "MarketKind",
    "MarketSource",
    "SourceRow",
    "parse_options",
    "parse_source",
]

MarketKind = Literal["quote", "bar"]


class MarketSource(Protocol):
    """A stream of Quote or Bar records; no I/O until asked."""

    @property
    def kind(self) -> MarketKind:
        """Whether the records are quotes or bars (a file source reads its header)."""
        ...

    @property
    def total(self) -> int | None:
        """How many rows to expect (an estimate for large CSVs), None if unknown."""
        ...

    def records(self) -> Iterator[SourceRow]:
        """Yield every row in source order; raise SourceError if the input is unusable."""
        ...


def parse_options(spec: str, text: str) -> dict[str, str]:
    """Parse "k=v,k=v" TEXT; a comma-part without '=' continues the previous value.

    So "symbols=AAPL,MSFT,seed=7" gives {"symbols": "AAPL,MSFT", "seed": "7"}.
    """
    options: dict[str, str] = {}
    key: str | None = None
    for part in text.split(",") if text else []:
        name, eq, value = part.partition("=")
        if eq:
            key = name.strip()
            if not key:
                raise SourceError(spec, f"option {part!r} has no name")
            options[key] = value.strip()
        elif key is None:
            raise SourceError(spec, f"expected k=v, got {part!r}")
        else:
            options[key] += "," + part.strip()
    return options


_SCHEMES = ("csv:PATH", "parquet:PATH", "synthetic[:k=v,...]", "sample:NAME")


def parse_source(spec: str, *, clock: Clock) -> MarketSource:
    """Return the market source SPEC names (see the module doc); SourceError if unknown."""
    # The implementations import pandas/pyarrow/backtesting: load only the one asked for.
    scheme, _, rest = spec.partition(":")
    if scheme in ("csv", "parquet") and rest:
        from producers.market.files import CsvSource, ParquetSource

        source = (
            CsvSource(rest, clock=clock) if scheme == "csv" else ParquetSource(rest, clock=clock)
        )
        _ = source.kind  # reads the header: an unusable file fails here, not mid-publish
        return source
    if scheme == "synthetic":
        from producers.market.synthetic import SyntheticSource

        return SyntheticSource.from_options(parse_options(spec, rest), clock=clock, spec=spec)
    if scheme == "sample" and rest:
        from producers.market.sample import SampleSource

        return SampleSource.named(rest, clock=clock)
    raise SourceError(spec, f"unknown market source; expected one of {', '.join(_SCHEMES)}")
