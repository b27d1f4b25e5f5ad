"""The records the trading core emits besides signals, orders and fills, built in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.edge import OutRecord, StageOutput
from streams.positions.accounting import PositionBook

__all__ = ["alert_record", "book_key", "broadcast_kill", "position_key", "position_record"]


def book_key(partition: int) -> str:
    """Return the `risk-state` table key of PARTITION's book."""
    return f"partition-{partition}"


def position_key(account: str, symbol: str) -> str:
    """Return the `positions` topic key: compaction keeps one record per account and symbol."""
    return symbol if account == "default" else f"{account}/{symbol}"


def position_record(
    book: PositionBook, partition: int, headers: list[tuple[str, bytes]]
) -> OutRecord:
    """Return BOOK as a `positions` record, placed in its symbol's PARTITION explicitly.

    The key may name an account too, so the partitioner could not be trusted with it.
    """
    key = position_key(book.account, book.symbol).encode()
    return OutRecord(key, book.to_record(), headers, partition)


def broadcast_kill(
    out: StageOutput, reason: str, ts_us: int, partition: int, partitions: int
) -> None:
    """Queue a KILL for every partition of risk.control: one partition's loss stops all."""
    record = {
        "action": "KILL",
        "reason": reason,
        "source": f"risk/{partition}",
        "ts_event_us": ts_us,
    }
    for target in range(partitions):
        out.records.append(("risk.control", OutRecord(b"*", record, [], target)))


def alert_record(signal: Mapping[str, Any], order: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Alert of alert-only mode: the signal and the order it would have sent."""
    message = (
        f"{order['side']} {order['qty']:g} {order['symbol']} {order['order_type']}"
        f" ({signal['strategy']}, strength {signal['strength']:+.2f}, "
        f"confidence {signal['confidence']:.2f}, ref {signal['ref_price']:g})"
    )
    return {
        "signal_id": signal["id"],
        "symbol": signal["symbol"],
        "strategy": signal["strategy"],
        "message": message,
        "strength": float(signal["strength"]),
        "order": dict(order),
        "ts_event_us": signal["ts_event_us"],
    }
