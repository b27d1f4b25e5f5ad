"""The market-source contract: `MarketSource`, `SourceRow`, the options a spec carries.

The implementations are picked by name in `producers.market.registry`; this module knows
none of them. Every source stamps `ts_ingest_us` with the injected clock (µs since the
epoch, UTC).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

from producers.exceptions import SourceError
from producers.rows import SourceRow

__all__ = ["MarketKind", "MarketSource", "SourceRow", "parse_options"]

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
