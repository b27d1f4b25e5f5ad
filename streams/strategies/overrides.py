"""Dotted-key overrides of a parsed TOML config document, such as settings carry.

An override `"strategies.sma_cross.params.fast" = 5` sets that key, creating the tables on
the way, so one can change a parameter, a symbol list (`"strategies.x.symbols"`), turn a
strategy off (`"strategies.x.enabled" = false`) or an ensemble weight without editing the
file. A string value is read as a TOML value when it is one (`"5"` -> 5, `"true"` -> true,
`'["AAPL"]'` -> a list), else kept as the string (`"ema"`, `"*"`): values from the
environment are all strings.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from streams.exceptions import ConfigError

__all__ = ["apply_overrides", "override_value"]


def override_value(value: object) -> object:
    """Return VALUE, or the TOML value a string spells (`"5"` -> 5), else the string itself."""
    if not isinstance(value, str):
        return value
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def apply_overrides(
    document: Mapping[str, Any], overrides: Mapping[str, object], source: str
) -> dict[str, Any]:
    """Return a deep copy of DOCUMENT with the dotted-key OVERRIDES applied, in order.

    Raise ConfigError naming SOURCE and the override when a key is empty or goes through
    a value that is not a table.
    """
    result = _copy(document)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if not all(parts):
            raise ConfigError(source, "empty part in override key", key=dotted, value=value)
        table = result
        for depth, part in enumerate(parts[:-1]):
            child = table.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(source, f"{where} is not a table", key=dotted, value=value)
            table = child
        table[parts[-1]] = override_value(value)
    return result


def _copy(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, Mapping) else v for k, v in document.items()}
