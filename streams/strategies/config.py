"""Which strategies run on which symbols with which parameters, read from a TOML file.

    [strategies.sma_cross]          # the strategy's name: what its signals are tagged with
    kind = "ma_cross"               # a key of STRATEGIES (default: the name)
    symbols = ["AAPL", "MSFT"]      # or "*" for every symbol
    enabled = true                  # optional; false keeps the table but runs nothing
    params = { fast = 10, slow = 30 }   # optional; the rest take their defaults
    max_gap_bars = 3.0              # optional; a longer step is a gap (streams.strategies.gaps)
    calendar = "auto"               # optional; the gap rule's sessions: "auto" ([risk] calendar
                                    # of a session-filtered symbol), "none" (wall time), or "XNYS"

    [ensemble]                      # optional: combine the views (streams.strategies.ensemble)
    name = "ensemble"
    min_strength = 0.1
    weights = { sma_cross = 1.0 }   # optional; default: every strategy, weight 1

Every problem raises ConfigError naming the file, the strategy and the bad key and value.
Overrides (from settings) are dotted keys applied before validation, see `overrides`.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from streams.exceptions import ConfigError, ParamError
from streams.strategies.base import Bound, IndicatorSpecs, ParamValue, Strategy
from streams.strategies.ensemble import EnsembleSpec
from streams.strategies.overrides import apply_overrides
from streams.strategies.registry import STRATEGIES

__all__ = [
    "AUTO_CALENDAR",
    "EXAMPLES_DIR",
    "ConfigError",
    "StrategyConfig",
    "StrategySpec",
    "ensemble_weights",
    "load_config",
    "parse_config",
    "required_indicators",
    "required_sentiment",
]

# From the package, not `__file__`: a compiled module's `__file__` is not its source's.
EXAMPLES_DIR = Path(str(resources.files("streams.strategies") / "examples"))
"""The shipped example configs: default.toml (every strategy), sma_cross.toml (backtests)."""

ALL_SYMBOLS: Final = "*"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_STRATEGY_KEYS = ("kind", "symbols", "params", "enabled", "max_gap_bars", "calendar")
AUTO_CALENDAR: Final = "auto"
NO_CALENDAR: Final = "none"
_ENSEMBLE_KEYS = ("name", "weights", "min_strength", "enabled")


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """One configured strategy: its name, kind, symbols ("*" for all) and complete params."""

    name: str
    kind: str
    symbols: tuple[str, ...] | Literal["*"]
    params: Mapping[str, ParamValue]
    max_gap_bars: float | None = None  # None: the engine's default (EngineSettings)
    calendar: str | None = AUTO_CALENDAR  # "auto", None (wall time) or an exchange code
    _bound: Bound | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def strategy(self) -> Strategy:
        """Return the strategy of this spec's kind."""
        return STRATEGIES[self.kind]

    @property
    def evaluate(self) -> Bound:
        """Return the strategy's evaluation with this spec's params bound, made once per spec.

        Every engine of a symbol the spec runs on shares it: `evaluate(snapshot, previous,
        price)` is `strategy(snapshot, previous, price, params)`, with less work per call.
        """
        bound = self._bound
        if bound is None:
            bound = self.strategy.bound(self.params)
            object.__setattr__(self, "_bound", bound)  # a cache: frozen for everything else
        return bound

    def applies_to(self, symbol: str) -> bool:
        """Return True if this strategy runs on SYMBOL."""
        return self.symbols == ALL_SYMBOLS or symbol in self.symbols


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    """The enabled strategies, in file order, and the ensemble (None when there is none)."""

    strategies: tuple[StrategySpec, ...]
    ensemble: EnsembleSpec | None = None

    def for_symbol(self, symbol: str) -> tuple[StrategySpec, ...]:
        """Return the strategies that run on SYMBOL."""
        return tuple(spec for spec in self.strategies if spec.applies_to(symbol))


def load_config(path: str | Path, overrides: Mapping[str, object] | None = None) -> StrategyConfig:
    """Read the TOML config at PATH, apply the dotted-key OVERRIDES, and validate it."""
    source = str(path)
    try:
        with Path(path).open("rb") as f:
            document = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(source, f"cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"invalid TOML: {exc}") from exc
    return parse_config(document, source, overrides)


def parse_config(
    document: Mapping[str, Any],
    source: str = "<config>",
    overrides: Mapping[str, object] | None = None,
) -> StrategyConfig:
    """Return the config of a parsed TOML DOCUMENT; SOURCE names it in errors."""
    if overrides:
        document = apply_overrides(document, overrides, source)
    # [risk] and [sizing.*] belong to the risk gate (streams.risk.config), [execution] to
    # the paper broker (streams.execution.config).
    known = ("strategies", "ensemble", "risk", "sizing", "execution")
    _no_unknown_keys(source, None, document, known)
    tables = document.get("strategies")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(source, "defines no [strategies.<name>] tables")
    specs = [_strategy(source, name, body) for name, body in tables.items()]
    enabled = tuple(spec for spec in specs if spec is not None)
    ensemble = None
    if "ensemble" in document:
        ensemble = _ensemble(source, document["ensemble"], set(tables))
    return StrategyConfig(enabled, ensemble)


def required_indicators(config: StrategyConfig, symbol: str) -> IndicatorSpecs:
    """Return the IndicatorSet specs SYMBOL needs, each indicator once however many read it."""
    specs: IndicatorSpecs = {}
    for spec in config.for_symbol(symbol):
        for name, indicator in spec.strategy.indicators(spec.params).items():
            specs.setdefault(name, indicator)  # a name fixes its kind and parameters
    return specs


def required_sentiment(config: StrategyConfig, symbol: str) -> tuple[float, ...]:
    """Return the half-lives (secs) of the decayed news sentiments SYMBOL's strategies read."""
    half_lives = {
        half_life
        for spec in config.for_symbol(symbol)
        if (half_life := spec.strategy.sentiment_half_life_secs(spec.params)) is not None
    }
    return tuple(sorted(half_lives))


def ensemble_weights(config: StrategyConfig, symbol: str) -> dict[str, float]:
    """Return the ensemble's members on SYMBOL and their weights (> 0); empty: no ensemble."""
    if config.ensemble is None:
        return {}
    running = config.for_symbol(symbol)
    if not config.ensemble.weights:
        return {spec.name: 1.0 for spec in running}
    names = {spec.name for spec in running}
    return {n: w for n, w in config.ensemble.weights.items() if n in names and w > 0.0}


def _no_unknown_keys(
    source: str, strategy: str | None, table: Mapping[str, Any], known: tuple[str, ...]
) -> None:
    for key, value in table.items():
        if key not in known:
            problem = f"unknown key (expected one of: {', '.join(known)})"
            raise ConfigError(source, problem, strategy=strategy, key=key, value=value)


def _enabled(source: str, strategy: str, table: Mapping[str, Any]) -> bool:
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(
            source, "must be true or false", strategy=strategy, key="enabled", value=enabled
        )
    return enabled


def _strategy(source: str, name: str, body: object) -> StrategySpec | None:
    if not _NAME.match(name):
        problem = "a strategy name is a letter, then letters, digits, _ or -"
        raise ConfigError(source, problem, strategy=name)
    if not isinstance(body, dict):
        raise ConfigError(source, "must be a table", strategy=name, key=name, value=body)
    _no_unknown_keys(source, name, body, _STRATEGY_KEYS)
    if not _enabled(source, name, body):
        return None
    kind = body.get("kind", name)
    if not isinstance(kind, str) or kind not in STRATEGIES:
        problem = f"unknown kind (known: {', '.join(STRATEGIES)})"
        raise ConfigError(source, problem, strategy=name, key="kind", value=kind)
    if "symbols" not in body:
        raise ConfigError(source, 'missing key symbols (a list, or "*")', strategy=name)
    symbols = _symbols(source, name, body["symbols"])
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError(source, "must be a table", strategy=name, key="params", value=params)
    try:
        resolved = STRATEGIES[kind].resolve(params)
    except ParamError as exc:
        raise ConfigError(
            source, exc.problem, strategy=name, key=f"params.{exc.key}", value=exc.value
        ) from exc
    calendar = _gap_calendar(source, name, body.get("calendar", AUTO_CALENDAR))
    max_gap = _max_gap_bars(source, name, body.get("max_gap_bars"))
    return StrategySpec(name, kind, symbols, resolved, max_gap, calendar)


def _max_gap_bars(source: str, name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1.0:
        return float(value)
    problem = "must be a number >= 1 (inf: never a gap)"
    raise ConfigError(source, problem, strategy=name, key="max_gap_bars", value=value)


def _gap_calendar(source: str, name: str, value: object) -> str | None:
    if value == AUTO_CALENDAR:
        return AUTO_CALENDAR
    if value == NO_CALENDAR:
        return None
    # Deferred: it loads pandas, and only a named calendar needs checking. No type info.
    import exchange_calendars  # type: ignore[import-untyped]

    if not isinstance(value, str) or value not in exchange_calendars.get_calendar_names(
        include_aliases=True
    ):
        problem = f'must be "{AUTO_CALENDAR}", "{NO_CALENDAR}" or an exchange-calendars code'
        raise ConfigError(source, problem, strategy=name, key="calendar", value=value)
    return value


def _symbols(source: str, name: str, value: object) -> tuple[str, ...] | Literal["*"]:
    if value == ALL_SYMBOLS:
        return ALL_SYMBOLS
    if isinstance(value, list) and _distinct_symbols(value):
        return tuple(value)
    problem = 'must be "*" or a non-empty list of distinct symbols'
    raise ConfigError(source, problem, strategy=name, key="symbols", value=value)


def _distinct_symbols(values: list[object]) -> bool:
    strings = all(isinstance(s, str) and s and s == s.strip() and s != "*" for s in values)
    return bool(values) and strings and len(set(values)) == len(values)


def _ensemble(source: str, body: object, defined: set[str]) -> EnsembleSpec | None:
    label = "ensemble"
    if not isinstance(body, dict):
        raise ConfigError(source, "must be a table", key=label, value=body)
    _no_unknown_keys(source, label, body, _ENSEMBLE_KEYS)
    if not _enabled(source, label, body):
        return None
    name = body.get("name", label)
    if not isinstance(name, str) or not _NAME.match(name) or name in defined:
        problem = "must be a valid name that no strategy has"
        raise ConfigError(source, problem, strategy=label, key="name", value=name)
    min_strength = _number(source, "min_strength", body.get("min_strength", 0.0), high=1.0)
    weights = body.get("weights", {})
    if not isinstance(weights, dict):
        raise ConfigError(source, "must be a table", strategy=label, key="weights", value=weights)
    checked: dict[str, float] = {}
    for member, weight in weights.items():
        if member not in defined:
            problem = f"no strategy has this name (defined: {', '.join(sorted(defined))})"
            raise ConfigError(
                source, problem, strategy=label, key=f"weights.{member}", value=weight
            )
        # A disabled member keeps its weight but, running nowhere, never votes.
        checked[member] = _number(source, f"weights.{member}", weight)
    return EnsembleSpec(name, MappingProxyType(checked), min_strength)


def _number(source: str, key: str, value: object, high: float | None = None) -> float:
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    if math.isfinite(number) and number >= 0.0 and (high is None or number < high):
        return number
    bound = f" and below {high:g}" if high is not None else ""
    problem = f"must be a number >= 0{bound}"
    raise ConfigError(source, problem, strategy="ensemble", key=key, value=value)
