"""The trading core: one loop for alert-only, paper, backtests and live (see `core`).

`TradingCore` (core) is pure and loads no stream framework; `PaperVenue` (venue) is the
paper venue; `outputs` builds the records it emits besides signals, orders and fills;
`views` serves its tables. `streams.agents.trading` runs it as the worker's agent.
"""

from __future__ import annotations

from streams.trading.core import (
    BOOKS,
    LEDGERS,
    POSITIONS,
    RISK,
    SIGNALS,
    TRACED_STAGES,
    Mode,
    TradingCore,
)
from streams.trading.venue import PaperVenue

__all__ = [
    "BOOKS",
    "LEDGERS",
    "POSITIONS",
    "RISK",
    "SIGNALS",
    "TRACED_STAGES",
    "Mode",
    "PaperVenue",
    "TradingCore",
]
