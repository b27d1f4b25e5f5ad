"""Random valid records for a parsed schema: the data of property tests and benchmarks.

With `edge=True` values lean on the corners of each type: longs near ±2**63 and varint
length boundaries, NaN and infinities, empty and non-ASCII strings, empty collections,
decimals at the precision limit.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import Any

from schemas.shapes import is_timestamp_micros, resolve, type_name

__all__ = ["NOW_US", "random_record", "random_value"]

NOW_US = 1_700_000_000_000_000  # 2023-11-14, a fixed "now" so samples are reproducible

_LONG_EDGES = (
    0,
    -1,
    1,
    63,
    -64,
    64,
    -65,
    8191,
    8192,
    -8193,
    2**48,
    2**55 - 1,
    2**55,
    2**62,
    -(2**62),
    2**63 - 1,
    -(2**63),
    2**48 - 1,
    -(2**48),
)
_INT_EDGES = (0, -1, 1, 63, -64, 64, 8191, 8192, 2**31 - 1, -(2**31), 2**20)
_DOUBLE_EDGES = (
    0.0,
    -0.0,
    1.0,
    -1.5,
    math.inf,
    -math.inf,
    math.nan,
    5e-324,
    1.7976931348623157e308,
)
_FLOAT_EDGES = (0.0, -0.0, 1.0, -1.5, math.inf, -math.inf, math.nan, 0.25)
_ALPHABETS = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
    "abcdefghijklmnopqrstuvwxyz \t\n\"'\\",
    "éüßçñøÅ€£¥",
    "日本語株式市場",
    "📈📉💹🚀",
)
_POOL = ("AAPL", "MSFT", "BRK.B", "", "sma_cross", "default", "paper", "Reuters")


def _text(rng: random.Random, edge: bool) -> str:
    if rng.random() < 0.3:
        return rng.choice(_POOL)
    size = (
        rng.choice((0, 1, 63, 64, 65, 200)) if edge and rng.random() < 0.3 else rng.randint(0, 24)
    )
    alphabet = "".join(_ALPHABETS) if edge else _ALPHABETS[0]
    return "".join(rng.choice(alphabet) for _ in range(size))


def _long(rng: random.Random, edge: bool, *, timestamp: bool) -> int:
    if edge and rng.random() < 0.3:
        return rng.choice(_LONG_EDGES)
    if timestamp:
        return NOW_US + rng.randint(-(10**14), 10**14)
    return rng.randint(-(2 ** rng.randint(0, 63)), 2 ** rng.randint(0, 63) - 1)


def _double(rng: random.Random, edge: bool, edges: tuple[float, ...]) -> float:
    if edge and rng.random() < 0.2:
        return rng.choice(edges)
    return rng.uniform(-1e6, 1e6)


def _decimal(rng: random.Random, edge: bool, schema: dict[str, Any]) -> Decimal:
    precision, scale = int(schema["precision"]), int(schema.get("scale", 0))
    limit = 10**precision - 1
    if edge and rng.random() < 0.3:
        unscaled = rng.choice((0, limit, -limit, -128, -(2**15), 127, -1, 2**40))
    else:
        unscaled = rng.randint(-(10**12), 10**12)
    return Decimal(unscaled).scaleb(-scale)


def random_value(schema: Any, named: dict[str, Any], rng: random.Random, edge: bool) -> Any:  # noqa: C901
    """Return a random valid value of SCHEMA (a parsed schema or a part of one)."""
    schema = resolve(schema, named)
    kind = type_name(schema)
    if kind == "record":
        return {f["name"]: random_value(f["type"], named, rng, edge) for f in schema["fields"]}
    if kind in ("long", "int"):
        if kind == "int":
            return rng.choice(_INT_EDGES) if edge else rng.randint(-(2**31), 2**31 - 1)
        return _long(rng, edge, timestamp=is_timestamp_micros(schema))
    if kind in ("double", "float"):
        if kind == "float":  # exactly representable as binary32
            return rng.choice(_FLOAT_EDGES) if edge else float(rng.randint(-(2**20), 2**20)) / 8
        return _double(rng, edge, _DOUBLE_EDGES)
    if kind == "string":
        return _text(rng, edge)
    if kind == "bytes":
        if isinstance(schema, dict) and schema.get("logicalType") == "decimal":
            return _decimal(rng, edge, schema)
        return rng.randbytes(rng.randint(0, 20))
    if kind == "enum":
        return rng.choice(schema["symbols"])
    if kind == "union":
        return random_value(rng.choice(schema), named, rng, edge)
    if kind in ("array", "map"):
        size = rng.choice((0, 0, 1, 3, 70)) if edge else rng.randint(0, 4)
        if kind == "array":
            return [random_value(schema["items"], named, rng, edge) for _ in range(size)]
        return {
            _text(rng, edge): random_value(schema["values"], named, rng, edge) for _ in range(size)
        }
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    raise ValueError(f"no sample for type {kind!r}")


def random_record(
    schema: dict[str, Any], rng: random.Random, *, edge: bool = False
) -> dict[str, Any]:
    """Return a random valid record of the parsed record SCHEMA."""
    record: dict[str, Any] = random_value(schema, schema.get("__named_schemas", {}), rng, edge)
    return record
