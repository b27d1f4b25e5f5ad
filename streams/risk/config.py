"""The risk gate's limits, sizing rules and order style, read from the strategies' TOML.

The same document as `streams.strategies.config` carries two more kinds of table:

    [risk]                          # optional; every key has a default (RiskLimits, RiskConfig)
    mode = "alert-only"             # "alert-only" | "paper" | "live"
    max_order_notional = 50000.0    # the limits are flat keys of this table
    calendar = "XNYS"               # an exchange-calendars code, or "none": always open
    calendar_symbols = "*"          # or ["AAPL", "MSFT"]: only these are session-filtered
    capital = 100000.0              # the account's cash; orders are sized and capped by it

    [sizing."*"]                    # the default rule; [sizing.<strategy>] for one strategy
    kind = "fixed_notional"
    notional = 10000.0

Every problem raises ConfigError naming the file and the dotted key (`risk.max_order_notional`,
`sizing.sma_cross.qty`), as overrides spell it. Limits are numbers >= 0 (`inf`: no limit).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from streams.exceptions import ConfigError
from streams.strategies.overrides import apply_overrides

__all__ = [
    "ALL_SIZING",
    "EQUITY_SIZING",
    "Mode",
    "RiskConfig",
    "RiskLimits",
    "SizingRule",
    "load_risk_config",
    "parse_risk_config",
]

Mode = Literal["alert-only", "paper", "live"]
OrderType = Literal["MARKET", "LIMIT"]
TimeInForce = Literal["DAY", "IOC", "GTC"]
SizingKind = Literal["fixed_qty", "fixed_notional", "vol_target", "pct_equity", "all_in"]
EQUITY_SIZING: Final = ("pct_equity", "all_in")
"""Sizing kinds worked out again at the fill price from the account's equity (funds)."""

ALL_SIZING: Final = "*"
"""The sizing table every strategy without its own rule uses."""

_NO_CALENDAR: Final = "none"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The thresholds of the risk rules; a value equal to its limit is allowed.

    Exposure and daily-loss limits are portfolio-wide: each partition's book enforces
    its `budget` share of them (see `streams.risk.rules`).
    """

    min_confidence: float = 0.3
    max_position_qty: float = 1_000.0
    max_position_notional: float = 100_000.0
    max_gross_exposure: float = 1_000_000.0
    max_net_exposure: float = 500_000.0
    max_order_notional: float = 50_000.0
    price_band_bps: float = 500.0
    cooldown_secs: float = 60.0
    max_daily_loss: float = 10_000.0
    allow_short: bool = False
    calendar: str | None = "XNYS"
    calendar_symbols: tuple[str, ...] | Literal["*"] = "*"
    dedupe_ids: int = 64
    # The account's cash at the start, per partition `capital x budget` like the other
    # portfolio limits; inf: no cash account (orders are not capped by cash).
    capital: float = math.inf

    def session_filtered(self, symbol: str) -> bool:
        """Return True if SYMBOL trades only in the calendar's sessions (exchange-listed)."""
        if self.calendar is None:
            return False
        return self.calendar_symbols == "*" or symbol in self.calendar_symbols


@dataclass(frozen=True, slots=True)
class SizingRule:
    """How many shares a signal's order targets; quantities round down to `lot`.

    fixed_qty: `qty`; fixed_notional: `notional / ref_price`; vol_target:
    `risk_per_trade / (atr_multiple * features[atr_feature])`; pct_equity: `pct x equity /
    price`, all_in: pct 1 (equity: the account's, `risk.capital`; worked out again at the
    fill price with the fees, see `streams.trading.funds`); all capped at `max_qty`.
    """

    kind: SizingKind = "fixed_qty"
    qty: float = 100.0
    notional: float = 10_000.0
    risk_per_trade: float = 100.0
    atr_multiple: float = 2.0
    atr_feature: str = "atr_14"
    lot: float = 1.0
    max_qty: float = math.inf
    pct: float = 1.0


def _default_sizing() -> Mapping[str, SizingRule]:
    return MappingProxyType({ALL_SIZING: SizingRule()})


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """The risk gate's mode, limits, sizing by strategy name ("*": default) and order style.

    A LIMIT order's price is `ref_price * (1 ± limit_offset_bps / 1e4)`, `+` for buys: it
    pays up to the offset to get filled.
    """

    mode: Mode = "alert-only"
    limits: RiskLimits = field(default_factory=RiskLimits)
    sizing: Mapping[str, SizingRule] = field(default_factory=_default_sizing)
    order_type: OrderType = "MARKET"
    limit_offset_bps: float = 10.0
    tif: TimeInForce = "DAY"
    account: str = "default"

    def sizing_for(self, strategy: str) -> SizingRule:
        """Return STRATEGY's sizing rule, else the "*" rule, else the default rule."""
        rule = self.sizing.get(strategy) or self.sizing.get(ALL_SIZING)
        return rule if rule is not None else SizingRule()


def load_risk_config(path: str | Path, overrides: Mapping[str, object] | None = None) -> RiskConfig:
    """Read the TOML file at PATH, apply the dotted-key OVERRIDES, and return its risk config."""
    source = str(path)
    try:
        with Path(path).open("rb") as f:
            document = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(source, f"cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"invalid TOML: {exc}") from exc
    return parse_risk_config(document, overrides, source=source)


def parse_risk_config(
    document: Mapping[str, Any],
    overrides: Mapping[str, object] | None = None,
    *,
    source: str = "<config>",
) -> RiskConfig:
    """Return the risk config of a parsed TOML DOCUMENT's [risk] and [sizing.*] tables.

    Other top-level tables (strategies, ensemble) are left to their parsers. OVERRIDES are
    dotted keys such as "risk.max_order_notional"; SOURCE names the document in errors.
    """
    if overrides:
        document = apply_overrides(document, overrides, source)
    risk = _table(source, "risk", document.get("risk", {}))
    known = tuple(_RISK_KEYS) + tuple(_LIMIT_KEYS)
    _no_unknown_keys(source, "risk", risk, known)
    settings = {
        k: _RISK_KEYS[k](source, f"risk.{k}", v) for k, v in risk.items() if k in _RISK_KEYS
    }
    limits = {
        k: _LIMIT_KEYS[k](source, f"risk.{k}", v) for k, v in risk.items() if k in _LIMIT_KEYS
    }
    sizing = _sizing(source, document)
    return RiskConfig(limits=RiskLimits(**limits), sizing=sizing, **settings)


# --- validation -------------------------------------------------------------------------

_Parse = Callable[[str, str, object], Any]


def _fail(source: str, key: str, value: object, problem: str) -> ConfigError:
    return ConfigError(source, problem, key=key, value=value)


def _table(source: str, key: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, key, value, "must be a table")
    return value


def _no_unknown_keys(
    source: str, where: str, table: Mapping[str, Any], known: tuple[str, ...]
) -> None:
    for key, value in table.items():
        if key not in known:
            problem = f"unknown key (expected one of: {', '.join(known)})"
            raise _fail(source, f"{where}.{key}", value, problem)


def _number(source: str, key: str, value: object, *, low: float, high: float) -> float:
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    if low <= number <= high:  # False for NaN
        return number
    span = f"between {low:g} and {high:g}" if math.isfinite(high) else f"a number >= {low:g}"
    raise _fail(source, key, value, f"must be {span}")


def _non_negative(source: str, key: str, value: object) -> float:
    return _number(source, key, value, low=0.0, high=math.inf)


def _positive(source: str, key: str, value: object) -> float:
    number = _non_negative(source, key, value)
    if number == 0.0:
        raise _fail(source, key, value, "must be a number > 0")
    return number


def _positive_finite(source: str, key: str, value: object) -> float:
    number = _positive(source, key, value)
    if not math.isfinite(number):
        raise _fail(source, key, value, "must be a finite number > 0")
    return number


def _fraction(source: str, key: str, value: object) -> float:
    return _number(source, key, value, low=0.0, high=1.0)


def _positive_fraction(source: str, key: str, value: object) -> float:
    number = _fraction(source, key, value)
    if number == 0.0:
        raise _fail(source, key, value, "must be above 0 and at most 1")
    return number


def _flag(source: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _fail(source, key, value, "must be true or false")
    return value


def _count(source: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(source, key, value, "must be an integer >= 1")
    return value


def _text(source: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise _fail(source, key, value, "must be a non-empty string")
    return value


def _choice(*options: str) -> _Parse:
    def parse(source: str, key: str, value: object) -> str:
        if value not in options:
            raise _fail(source, key, value, f"must be one of: {', '.join(options)}")
        return str(value)

    return parse


def _calendar(source: str, key: str, value: object) -> str | None:
    # Deferred: pandas-heavy, only needed to check the code. It ships no type information.
    import exchange_calendars  # type: ignore[import-untyped]

    if value == _NO_CALENDAR:
        return None
    names = exchange_calendars.get_calendar_names(include_aliases=True)
    if not isinstance(value, str) or value not in names:
        problem = f'must be an exchange-calendars code such as "XNYS", or "{_NO_CALENDAR}"'
        raise _fail(source, key, value, problem)
    return value


def _symbols(source: str, key: str, value: object) -> tuple[str, ...] | Literal["*"]:
    if value == "*":
        return "*"
    if isinstance(value, list):
        symbols = tuple(s for s in value if isinstance(s, str) and s and s == s.strip())
        if len(set(symbols)) == len(value) and "*" not in symbols:
            return symbols
    raise _fail(source, key, value, 'must be "*" or a list of distinct symbols')


_RISK_KEYS: Final[dict[str, _Parse]] = {
    "mode": _choice("alert-only", "paper", "live"),
    "order_type": _choice("MARKET", "LIMIT"),
    "limit_offset_bps": _non_negative,
    "tif": _choice("DAY", "IOC", "GTC"),
    "account": _text,
}
_LIMIT_PARSERS: Final[dict[str, _Parse]] = {
    "min_confidence": _fraction,
    "allow_short": _flag,
    "calendar": _calendar,
    "calendar_symbols": _symbols,
    "dedupe_ids": _count,
    "capital": _positive,
}
_LIMIT_KEYS: Final[dict[str, _Parse]] = {
    f.name: _LIMIT_PARSERS.get(f.name, _non_negative) for f in fields(RiskLimits)
}
_SIZING_KEYS: Final[dict[str, _Parse]] = {
    "kind": _choice("fixed_qty", "fixed_notional", "vol_target", "pct_equity", "all_in"),
    "pct": _positive_fraction,
    "qty": _positive_finite,
    "notional": _positive_finite,
    "risk_per_trade": _positive_finite,
    "atr_multiple": _positive_finite,
    "atr_feature": _text,
    "lot": _positive_finite,
    "max_qty": _positive,
}


def _sizing(source: str, document: Mapping[str, Any]) -> Mapping[str, SizingRule]:
    tables = _table(source, "sizing", document.get("sizing", {}))
    names = _sizing_names(document)
    rules = {ALL_SIZING: SizingRule()}
    for name, body in tables.items():
        where = f"sizing.{name}"
        if names is not None and name not in names:
            problem = f"no strategy has this name (known: {', '.join(sorted(names))})"
            raise _fail(source, where, body, problem)
        table = _table(source, where, body)
        _no_unknown_keys(source, where, table, tuple(_SIZING_KEYS))
        rules[name] = SizingRule(
            **{k: _SIZING_KEYS[k](source, f"{where}.{k}", v) for k, v in table.items()}
        )
    return MappingProxyType(rules)


def _sizing_names(document: Mapping[str, Any]) -> set[str] | None:
    """Return the names a [sizing.<name>] table may have; None when no strategies are known."""
    strategies = document.get("strategies")
    if not isinstance(strategies, dict):
        return None
    ensemble = document.get("ensemble")
    name = ensemble.get("name", "ensemble") if isinstance(ensemble, dict) else "ensemble"
    return {ALL_SIZING, *strategies, str(name)}
