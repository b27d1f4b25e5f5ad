"""Pure, table-driven validation of Quote, Bar and NewsItem records; the clock is injected.

Each record kind has a rule table: `(field, check)` pairs run in order, and the first check
that returns a reason raises `ValidationError(reason, field)`. Cross-field rules (crossed
quote, bar range) come after the field rules, so they only ever see valid numbers.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from producers.exceptions import ValidationError

if TYPE_CHECKING:
    from infra.settings import Settings

__all__ = [
    "SYMBOL_PATTERN",
    "RecordKind",
    "ValidationLimits",
    "validate",
    "validate_bar",
    "validate_news",
    "validate_quote",
]

SYMBOL_PATTERN = re.compile(r"[A-Z][A-Z0-9.\-]{0,11}")
"""A well-formed symbol (matched in full): upper case, 1-12 chars, digits, '.' and '-'."""

RecordKind = Literal["quote", "bar", "news"]


@dataclass(frozen=True, slots=True)
class ValidationLimits:
    """Limits the rules check against.

    `max_future_secs`: how far past the injected now a timestamp may lie (default 300 s).
    `max_text_chars`: longest accepted text field (default 4000).
    `symbols`: the known symbols; empty accepts any well-formed symbol.
    """

    max_future_secs: float = 300.0
    max_text_chars: int = 4000
    symbols: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> ValidationLimits:
        """Return the limits configured in SETTINGS."""
        return cls(
            max_future_secs=settings.max_future_secs,
            max_text_chars=settings.max_text_chars,
            symbols=frozenset(settings.symbols),
        )


Record = Mapping[str, Any]
Check = Callable[[str, Record, int, ValidationLimits], "str | None"]
"""(field, record, now_us, limits) -> the reason the record breaks the rule, or None."""
Rule = tuple[str, Check]

_MISSING: Any = object()
_PLAIN_NUMBERS = (float, int)


def _fmt(value: object) -> str:
    # repr(float) is exact and short; numpy scalars would otherwise print as np.float64(...)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return repr(float(value))


def _secs(us: int) -> str:
    text = f"{us / 1_000_000:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number_problem(name: str, value: Any) -> str | None:
    """Return why VALUE is not a finite number, or None."""
    if type(value) not in _PLAIN_NUMBERS:  # the slow path: ABC checks only off the hot path
        if value is _MISSING or value is None:
            return f"{name} is missing"
        if not _is_number(value):
            return f"{name} is not a number ({type(value).__name__})"
        value = float(value)  # numpy scalars and other numbers.Real
    if math.isfinite(value):
        return None
    return f"{name} is NaN" if math.isnan(value) else f"{name} is infinite"


# --- field checks: (field, record, now_us, limits) -> reason or None -------------------


def _price(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    problem = _number_problem(name, value)
    if problem is not None:
        return problem
    if value < 0:
        return f"{name} {_fmt(value)} is negative"
    if value == 0:
        return f"{name} is zero"
    return None


def _optional_price(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    return None if rec.get(name) is None else _price(name, rec, now_us, limits)


def _size(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    problem = _number_problem(name, value)
    if problem is None and value <= 0:
        return f"{name} {_fmt(value)} is not positive"
    return problem


def _volume(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    problem = _number_problem(name, value)
    if problem is None and value < 0:
        return f"{name} {_fmt(value)} is negative"
    return problem


def _integer_problem(name: str, value: object) -> str | None:
    if type(value) is int:  # the hot path
        return None
    if value is _MISSING or value is None:
        return f"{name} is missing"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return f"{name} is not an integer ({type(value).__name__})"
    return None


def _positive_int(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    problem = _integer_problem(name, value)
    if problem is None and value <= 0:
        return f"{name} {_fmt(value)} is not positive"
    return problem


def _seq(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, 0)  # seq has an Avro default of 0
    problem = _integer_problem(name, value)
    if problem is None and value < 0:
        return f"{name} {_fmt(value)} is negative"
    return problem


def _timestamp(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    problem = _integer_problem(name, value)
    if problem is not None:
        return problem
    if value <= 0:
        return f"{name} {_fmt(value)} is not after the epoch"
    ahead_us = int(value) - now_us
    if ahead_us > limits.max_future_secs * 1_000_000:
        return f"{name} is {_secs(ahead_us)} s in the future (limit {limits.max_future_secs:g} s)"
    return None


def _symbol_problem(name: str, value: object) -> str | None:
    if value is _MISSING or value is None:
        return f"{name} is missing"
    if not isinstance(value, str):
        return f"{name} is not a string ({type(value).__name__})"
    if not value:
        return f"{name} is empty"
    if SYMBOL_PATTERN.fullmatch(value) is None:
        return f"{name} {value!r} is malformed"
    return None


def _symbol(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    problem = _symbol_problem(name, value)
    if problem is None and limits.symbols and value not in limits.symbols:
        return f"{name} {value!r} is not a known symbol"
    return problem


def _symbol_list(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    if not isinstance(value, list | tuple):
        return f"{name} is not a list"
    for index, item in enumerate(value):
        problem = _symbol_problem(f"{name}[{index}]", item)
        if problem is not None:
            return problem
    return None


def _text(name: str, value: object, limits: ValidationLimits) -> str | None:
    if not isinstance(value, str):
        return f"{name} is not a string ({type(value).__name__})"
    if len(value) > limits.max_text_chars:
        return f"{name} is {len(value)} chars (limit {limits.max_text_chars})"
    return None


def _required_text(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    if value is _MISSING or value is None:
        return f"{name} is missing"
    if isinstance(value, str) and not value.strip():
        return f"{name} is empty"
    return _text(name, value, limits)


def _optional_text(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name)
    return None if value is None else _text(name, value, limits)


_SENTIMENT_RANGES = {
    "compound": (-1.0, 1.0),
    "positive": (0.0, 1.0),
    "neutral": (0.0, 1.0),
    "negative": (0.0, 1.0),
}


def _sentiment(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    value = rec.get(name, _MISSING)
    if value is _MISSING or value is None:
        return f"{name} is missing"
    if not isinstance(value, Mapping):
        return f"{name} is not a record ({type(value).__name__})"
    for key, (low, high) in _SENTIMENT_RANGES.items():
        score = value.get(key, _MISSING)
        problem = _number_problem(f"{name}.{key}", score)
        if problem is not None:
            return problem
        if not low <= score <= high:
            return f"{name}.{key} {_fmt(score)} is out of range [{low:g}, {high:g}]"
    return None


# --- cross-field checks: run after the field checks, so the values are valid numbers ----


def _not_crossed(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    bid, ask = rec["bid"], rec["ask"]
    return f"bid {_fmt(bid)} > ask {_fmt(ask)} (crossed)" if bid > ask else None


def _high_covers(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    top = max(rec["open"], rec["close"])
    return f"high {_fmt(rec['high'])} < max(open, close) {_fmt(top)}" if rec["high"] < top else None


def _low_covers(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    bottom = min(rec["open"], rec["close"])
    return (
        f"low {_fmt(rec['low'])} > min(open, close) {_fmt(bottom)}" if rec["low"] > bottom else None
    )


def _symbol_listed(name: str, rec: Record, now_us: int, limits: ValidationLimits) -> str | None:
    symbol, listed = rec["symbol"], rec["symbols"]
    return None if symbol in listed else f"symbol {symbol!r} is not among symbols {list(listed)}"


# --- the tables -------------------------------------------------------------------------

_TIMESTAMPS: tuple[Rule, ...] = (("ts_event_us", _timestamp), ("ts_ingest_us", _timestamp))

QUOTE_RULES: tuple[Rule, ...] = (
    ("symbol", _symbol),
    *_TIMESTAMPS,
    ("bid", _price),
    ("ask", _price),
    ("last", _optional_price),
    ("bid_size", _size),
    ("ask_size", _size),
    ("seq", _seq),
    ("bid", _not_crossed),
)

BAR_RULES: tuple[Rule, ...] = (
    ("symbol", _symbol),
    *_TIMESTAMPS,
    ("interval_secs", _positive_int),
    ("open", _price),
    ("high", _price),
    ("low", _price),
    ("close", _price),
    ("volume", _volume),
    ("seq", _seq),
    ("high", _high_covers),
    ("low", _low_covers),
)

NEWS_RULES: tuple[Rule, ...] = (
    ("id", _required_text),
    ("symbol", _symbol),
    ("symbols", _symbol_list),
    ("headline", _required_text),
    ("body", _optional_text),
    ("source", _required_text),
    ("url", _optional_text),
    *_TIMESTAMPS,
    ("sentiment", _sentiment),
    ("symbol", _symbol_listed),
)

_TABLES: dict[RecordKind, tuple[Rule, ...]] = {
    "quote": QUOTE_RULES,
    "bar": BAR_RULES,
    "news": NEWS_RULES,
}


def validate(kind: RecordKind, rec: Record, *, now_us: int, limits: ValidationLimits) -> None:
    """Raise ValidationError for the first rule of KIND that REC breaks; now_us is µs UTC."""
    for field, check in _TABLES[kind]:
        reason = check(field, rec, now_us, limits)
        if reason is not None:
            raise ValidationError(reason, field)


_INF = math.inf
_WELL_FORMED: set[str] = set()
_WELL_FORMED_MAX = 100_000


def _well_formed(symbol: object) -> bool:
    """Remember symbols that match SYMBOL_PATTERN: a set lookup is cheaper than the regex."""
    if symbol in _WELL_FORMED:
        return True
    ok = isinstance(symbol, str) and SYMBOL_PATTERN.fullmatch(symbol) is not None
    if ok and len(_WELL_FORMED) < _WELL_FORMED_MAX:
        _WELL_FORMED.add(symbol)  # type: ignore[arg-type]  # ok implies str
    return ok


def _plain_quote_ok(rec: Record, now_us: int, limits: ValidationLimits) -> bool:
    """Accept the common, clearly sound quote in one pass; anything unusual returns False.

    Equivalent to QUOTE_RULES for plain floats and ints (NaN fails every comparison), so
    a False only means "let the rule table decide and name the reason".
    """
    bid = rec["bid"]
    ask = rec["ask"]
    bid_size = rec["bid_size"]
    ask_size = rec["ask_size"]
    last = rec.get("last")
    ts_event = rec["ts_event_us"]
    ts_ingest = rec["ts_ingest_us"]
    seq = rec.get("seq", 0)
    symbol = rec["symbol"]
    horizon = now_us + limits.max_future_secs * 1_000_000
    return (
        type(bid) is float
        and type(ask) is float
        and type(bid_size) is float
        and type(ask_size) is float
        and 0.0 < bid <= ask < _INF
        and 0.0 < bid_size < _INF
        and 0.0 < ask_size < _INF
        and (last is None or (type(last) is float and 0.0 < last < _INF))
        and type(ts_event) is int
        and type(ts_ingest) is int
        and 0 < ts_event <= horizon
        and 0 < ts_ingest <= horizon
        and type(seq) is int
        and seq >= 0
        and _well_formed(symbol)
        and (not limits.symbols or symbol in limits.symbols)
    )


def validate_quote(rec: Record, *, now_us: int, limits: ValidationLimits) -> None:
    """Raise ValidationError unless REC is a sound Quote record."""
    try:
        if _plain_quote_ok(rec, now_us, limits):
            return
    except KeyError:
        pass  # the rule table names the missing field
    validate("quote", rec, now_us=now_us, limits=limits)


def validate_bar(rec: Record, *, now_us: int, limits: ValidationLimits) -> None:
    """Raise ValidationError unless REC is a sound Bar record."""
    validate("bar", rec, now_us=now_us, limits=limits)


def validate_news(rec: Record, *, now_us: int, limits: ValidationLimits) -> None:
    """Raise ValidationError unless REC is a sound (fanned-out) NewsItem record."""
    validate("news", rec, now_us=now_us, limits=limits)
