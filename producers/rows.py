"""What every source yields: one row, a record or the reason it is not one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SourceRow"]


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One row of a source: a record, or the reason it could not be parsed into one.

    `row` is the 1-based data row (header not counted) or line of a file source, None for
    generated data. Exactly one of `record` and `error` is set. `error` is the reason
    alone, e.g. "bid 'abc' is not a number", so "row {row}: {error}" reads well and the
    first word groups reasons by field, as validation reasons do.
    """

    row: int | None
    record: dict[str, Any] | None = None
    error: str | None = None
