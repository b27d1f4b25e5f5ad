"""The risk gate's pure logic: limits and sizing config, the rule table, per-partition state.

No Kafka here: the trading core (`streams.trading.core`), per signal of a partition, calls

    decision = book.decide(signal, config=config, budget=1 / partitions)
    # decision.order -> orders (alert-only: an Alert), decision.rejection -> orders.rejected,
    # decision.kill -> broadcast: every partition's book.kill(reason)

per Fill `book.on_fill(fill)` (a returned reason is a kill to broadcast), per ended
OrderEvent `book.on_order_event(event)`, and keeps `book.state()` in a table
(`RiskBook.from_state(state, config, budget)` rebuilds it).
"""

from __future__ import annotations

from streams.exceptions import ConfigError
from streams.risk.config import (
    RiskConfig,
    RiskLimits,
    SizingRule,
    load_risk_config,
    parse_risk_config,
)
from streams.risk.rules import RULES, Decision, RiskBook, order_id
from streams.risk.session import TradingCalendar, is_open, trading_calendar, trading_day
from streams.risk.sizing import SizeResult, size

__all__ = [
    "RULES",
    "ConfigError",
    "Decision",
    "RiskBook",
    "RiskConfig",
    "RiskLimits",
    "SizeResult",
    "SizingRule",
    "TradingCalendar",
    "is_open",
    "load_risk_config",
    "order_id",
    "parse_risk_config",
    "size",
    "trading_calendar",
    "trading_day",
]
