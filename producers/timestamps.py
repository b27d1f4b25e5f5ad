"""Read input timestamps (ISO-8601 with a zone, or epoch s/ms/µs/ns) as µs since the epoch.

Epoch numbers carry no unit, so it is read from the magnitude:

| |value|          | unit         |
| ---------------- | ------------ |
| < 1e11           | seconds      |
| < 1e14           | milliseconds |
| < 1e17           | microseconds |
| otherwise        | nanoseconds  |

which is unambiguous for every instant from 1973 to 5138. Text without a zone
("2024-01-02T09:30:00") is refused, never guessed as local time.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

__all__ = ["EPOCH", "datetime_to_us", "epoch_to_us", "parse_timestamp_us"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
# (upper bound of |value|, µs per unit); past the last bound the value is nanoseconds.
_UNITS = ((1e11, 1_000_000), (1e14, 1_000), (1e17, 1))


def datetime_to_us(moment: datetime) -> int:
    """Return the zone-aware MOMENT as µs since the epoch; ValueError if it has no zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()!r} has no time zone")
    return (moment - EPOCH) // _ONE_US


def epoch_to_us(value: float) -> int:
    """Return epoch VALUE (unit read from its magnitude, see the module doc) in µs."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    for bound, factor in _UNITS:
        if abs(value) < bound:
            return value * factor if isinstance(value, int) else round(value * factor)
    return value // 1_000 if isinstance(value, int) else round(value / 1_000)


def _parse_text(text: str) -> int:
    stripped = text.strip()
    if not stripped:
        raise ValueError("is empty")
    try:
        return epoch_to_us(int(stripped))
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        pass
    else:
        return epoch_to_us(number)
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is neither ISO-8601 nor an epoch number") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return datetime_to_us(moment)


def parse_timestamp_us(value: object) -> int:
    """Return VALUE (datetime, epoch number or text) as µs since the epoch.

    Raise ValueError with a short reason if it cannot be read or has no time zone.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, datetime):
        return datetime_to_us(value)
    if isinstance(value, int | float):
        return epoch_to_us(value)
    if isinstance(value, str):
        return _parse_text(value)
    raise ValueError(f"{value!r} is not a time")
