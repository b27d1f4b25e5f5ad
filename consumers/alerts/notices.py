"""What a person is told: one `Notice` per alert-carrying record, built without I/O.

Each topic's records map to a kind: an alert-only order (`alerts`), a kill switch tripped
or reset (`risk.control`; a daily-loss trip is a KILL from a partition's risk gate), a venue
rejection (`orders.events` REJECTED; an expired E*TRADE token is one, named as such).
Everything else on those topics (NEW, FILLED, ...) is not news and gives no notice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "SOURCE_TOPICS",
    "Notice",
    "RecentKeys",
    "Severity",
    "notice_of",
]

Severity = Literal["info", "warning", "critical"]
SOURCE_TOPICS: tuple[str, ...] = ("alerts", "risk.control", "orders.events")
"""The logical topics whose records can carry an alert."""

FieldValue = str | int | float | None


@dataclass(frozen=True)
class Notice:
    """One thing to tell a person: KIND, how bad, a title, a line of text and its fields.

    KEY identifies it for receivers that deduplicate (delivery is at-least-once), and for
    the dispatcher, which tells a broadcast (one record per partition) only once.
    """

    kind: str
    severity: Severity
    title: str
    text: str
    key: str
    ts_event_us: int
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    namespace: str = ""


def _alert(record: Mapping[str, Any], namespace: str) -> Notice:
    order = record.get("order") or {}
    return Notice(
        kind="alert_only_order",
        severity="info",
        title=f"Alert-only order: {order.get('side', '?')} {record['symbol']}",
        text=str(record["message"]),
        key=f"alert:{record['signal_id']}",
        ts_event_us=int(record["ts_event_us"]),
        fields={
            "symbol": record["symbol"],
            "strategy": record["strategy"],
            "side": order.get("side"),
            "qty": order.get("qty"),
            "order_type": order.get("order_type"),
            "strength": record["strength"],
            "signal_id": record["signal_id"],
        },
        namespace=namespace,
    )


def _control(record: Mapping[str, Any], namespace: str) -> Notice:
    action, reason, source = record["action"], str(record["reason"]), str(record["source"])
    kind: str
    severity: Severity
    if action == "KILL" and reason.startswith("daily loss"):
        kind, severity, title = "daily_loss_trip", "critical", "Daily loss limit tripped"
    elif action == "KILL":
        kind, severity, title = "kill_switch_tripped", "critical", "Kill switch tripped"
    else:
        kind, severity, title = "kill_switch_reset", "warning", "Kill switch reset"
    ts = int(record["ts_event_us"])
    return Notice(
        kind=kind,
        severity=severity,
        title=title,
        text=f"{reason} (by {source}); new orders are "
        + ("refused until `primestream risk reset`" if action == "KILL" else "accepted again"),
        # One KILL/RESET is written to every partition: the same key for all of them.
        key=f"risk.control:{action}:{source}:{ts}",
        ts_event_us=ts,
        fields={"action": action, "reason": reason, "source": source},
        namespace=namespace,
    )


def _rejection(record: Mapping[str, Any], namespace: str) -> Notice:
    reason = str(record.get("reason") or "no reason given")
    expired = "access token" in reason
    return Notice(
        kind="etrade_token_expired" if expired else "venue_rejection",
        severity="critical" if expired else "warning",
        title="E*TRADE access token expired" if expired else f"Venue rejected {record['symbol']}",
        text=f"order {record['order_id']} ({record['symbol']}): {reason}",
        key=f"orders.events:{record['order_id']}:REJECTED",
        ts_event_us=int(record["ts_event_us"]),
        fields={
            "order_id": record["order_id"],
            "symbol": record["symbol"],
            "account": record.get("account"),
            "reason": reason,
        },
        namespace=namespace,
    )


def notice_of(topic: str, record: Mapping[str, Any], namespace: str = "") -> Notice | None:
    """Return the notice of RECORD from the logical TOPIC, or None if it is not news."""
    if topic == "alerts":
        return _alert(record, namespace)
    if topic == "risk.control":
        return _control(record, namespace)
    if topic == "orders.events" and record.get("status") == "REJECTED":
        return _rejection(record, namespace)
    return None


class RecentKeys:
    """The last LIMIT notice keys seen, so a broadcast is told once, not once per partition."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._keys: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """Return True if KEY was not among the recent keys (and remember it)."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True
