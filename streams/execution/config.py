"""The `[execution]` table of the strategy config: the paper broker's fill model.

```toml
[execution]
slippage_bps = 1.0            # market orders pay it on top of the touch
commission_per_share = 0.005  # fee = max(commission_min, per_share x qty + bps x notional)
commission_min = 1.0
commission_bps = 0.0
quote_history = 1024          # recent quotes a book keeps to match late orders in event time
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from streams.exceptions import ConfigError
from streams.execution.fill_model import FillModel
from streams.strategies.overrides import apply_overrides

__all__ = ["load_fill_model", "parse_fill_model"]

_DECIMALS = ("commission_per_share", "commission_min")
_FLOATS = ("slippage_bps", "commission_bps")
_DEFAULT_HISTORY = 1024


def parse_fill_model(
    document: Mapping[str, Any],
    overrides: Mapping[str, object] | None = None,
    *,
    source: str = "<config>",
) -> FillModel:
    """Return the fill model of DOCUMENT's [execution] table (defaults where absent)."""
    if overrides:
        document = apply_overrides(document, overrides, source)
    table = document.get("execution", {})
    if not isinstance(table, dict):
        raise ConfigError(source, "[execution] must be a table")
    known = (*_DECIMALS, *_FLOATS, "quote_history", "fill_displayed_size")
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(source, f"execution.{unknown[0]}: unknown key (expected: {known})")
    values: dict[str, Any] = {"quote_history": _DEFAULT_HISTORY}
    for key, value in table.items():
        values[key] = _value(key, value, source)
    try:
        return FillModel(**values)
    except ValueError as exc:
        raise ConfigError(source, f"[execution]: {exc}") from None


def _value(key: str, value: object, source: str) -> Any:
    """Return VALUE of the [execution] KEY as the fill model takes it; ConfigError if it is not."""
    if key == "fill_displayed_size":
        if not isinstance(value, bool):
            raise ConfigError(source, f"execution.{key}: not true or false: {value!r}")
        return value
    try:
        if key in _DECIMALS:
            return Decimal(str(value))
        if key in _FLOATS:
            return float(value)  # type: ignore[arg-type]  # checked: ValueError/TypeError below
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, InvalidOperation):
        raise ConfigError(source, f"execution.{key}: not a number: {value!r}") from None


def load_fill_model(path: str | Path, overrides: Mapping[str, object] | None = None) -> FillModel:
    """Read the TOML file at PATH and return its fill model."""
    with Path(path).open("rb") as f:
        document = tomllib.load(f)
    return parse_fill_model(document, overrides, source=str(path))
