"""Errors of the indicators: bad input, bad configuration, unreadable state."""

from __future__ import annotations

from infra.exceptions import PrimestreamError

__all__ = ["IndicatorConfigError", "IndicatorInputError", "IndicatorStateError"]


class IndicatorInputError(PrimestreamError, ValueError):
    """An update carried a NaN or infinite price, or a negative or non-finite volume.

    `field` names the offending input and `value` holds it. No indicator was changed:
    route the record to the dead-letter topic with this reason.
    """

    def __init__(self, field: str, value: float) -> None:
        super().__init__(
            f"indicator input {field}={value!r} is not a finite number"
            if field != "volume"
            else f"indicator input volume={value!r} is not a finite number >= 0"
        )
        self.field = field
        self.value = value


class IndicatorConfigError(PrimestreamError, ValueError):
    """An unknown indicator kind, or a parameter out of its range."""


class IndicatorStateError(PrimestreamError, ValueError):
    """A saved state is not one this indicator wrote (wrong kind, version or shape)."""
