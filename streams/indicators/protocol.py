"""The indicator contract: what any incremental indicator offers, compiled or not.

It lives apart from `base.py` because `base.py` is compiled with mypyc (see
`infra/compile.py`), and a compiled module cannot hold a runtime-checkable Protocol:
this one stays plain Python so `isinstance(x, Indicator)` keeps working for users' own
indicators as well as ours.
"""

from __future__ import annotations

from typing import Any, Protocol, Self, runtime_checkable

__all__ = ["Indicator"]


@runtime_checkable
class Indicator(Protocol):
    """One incremental indicator of one symbol."""

    @property
    def kind(self) -> str:
        """Return the indicator's kind, e.g. "sma" (a class attribute in ours)."""
        ...

    def update(self, close: float, high: float, low: float, volume: float, ts_us: int) -> None:
        """Fold in one record (a bar, or a quote as `update(mid, mid, mid, 0.0, ts_us)`)."""
        ...

    @property
    def ready(self) -> bool:
        """Return True once the warm-up is over and `values()` is valid."""
        ...

    def values(self) -> dict[str, float]:
        """Return the current outputs by name, or {} during the warm-up."""
        ...

    def state(self) -> dict[str, Any]:
        """Return the whole state as JSON-serializable data."""
        ...

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        """Rebuild an indicator from `state()` output."""
        ...
