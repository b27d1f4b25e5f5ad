"""Records of the alert-carrying topics become the notices a person reads, once each."""

from __future__ import annotations

from typing import Any

import pytest

from consumers.alerts.notices import RecentKeys, notice_of

_ORDER = {"side": "BUY", "qty": 100.0, "order_type": "MARKET", "symbol": "ACME"}
_ALERT = {
    "signal_id": "sig-1",
    "symbol": "ACME",
    "strategy": "cross",
    "message": "BUY 100 ACME MARKET (cross, strength +0.50, confidence 1.00, ref 11)",
    "strength": 0.5,
    "order": _ORDER,
    "ts_event_us": 1_700_000_000_000_000,
}


def _control(action: str, reason: str, source: str) -> dict[str, Any]:
    return {"action": action, "reason": reason, "source": source, "ts_event_us": 7}


def _event(status: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "order_id": "o-1",
        "symbol": "ACME",
        "account": "default",
        "status": status,
        "filled_qty": 0.0,
        "leaves_qty": 0.0,
        "avg_fill_price": None,
        "reason": reason,
        "ts_event_us": 9,
    }


def test_an_alert_only_order_names_the_order_and_keys_on_its_signal() -> None:
    notice = notice_of("alerts", _ALERT, "ns")

    assert notice is not None
    assert (notice.kind, notice.severity, notice.key) == ("alert_only_order", "info", "alert:sig-1")
    assert notice.title == "Alert-only order: BUY ACME"
    assert notice.text == _ALERT["message"]
    assert notice.fields["qty"] == 100.0
    assert notice.namespace == "ns"


@pytest.mark.parametrize(
    ("record", "kind", "severity"),
    [
        (_control("KILL", "desk halt", "operator:ana"), "kill_switch_tripped", "critical"),
        (
            _control("KILL", "daily loss: realized loss today 12.00", "risk/1"),
            "daily_loss_trip",
            "critical",
        ),
        (_control("RESET", "reset by operator", "operator:ana"), "kill_switch_reset", "warning"),
    ],
)
def test_risk_controls_are_trips_daily_loss_trips_and_resets(
    record: dict[str, Any], kind: str, severity: str
) -> None:
    notice = notice_of("risk.control", record)

    assert notice is not None
    assert (notice.kind, notice.severity) == (kind, severity)
    assert record["reason"] in notice.text
    assert record["source"] in notice.text


def test_a_broadcast_kill_has_one_key_for_every_partition_and_a_later_one_another() -> None:
    first = notice_of("risk.control", _control("KILL", "x", "operator:ana"))
    again = notice_of("risk.control", _control("KILL", "x", "operator:ana"))
    later = notice_of("risk.control", {**_control("KILL", "x", "operator:ana"), "ts_event_us": 8})

    assert first is not None
    assert again is not None
    assert later is not None
    assert first.key == again.key != later.key


def test_venue_rejections_are_news_and_an_expired_token_is_named() -> None:
    rejected = notice_of("orders.events", _event("REJECTED", "insufficient buying power"))
    expired = notice_of(
        "orders.events",
        _event("REJECTED", "the E*TRADE access token expired at midnight US Eastern: ..."),
    )

    assert rejected is not None
    assert expired is not None
    assert (rejected.kind, rejected.severity) == ("venue_rejection", "warning")
    assert "insufficient buying power" in rejected.text
    assert (expired.kind, expired.severity) == ("etrade_token_expired", "critical")


@pytest.mark.parametrize("status", ["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED"])
def test_other_order_events_are_not_news(status: str) -> None:
    assert notice_of("orders.events", _event(status)) is None


def test_recent_keys_tell_a_key_once_and_forget_the_oldest_past_the_limit() -> None:
    recent = RecentKeys(limit=2)

    firsts = [recent.first_time(k) for k in ("a", "a", "b", "c", "a")]

    assert firsts == [True, False, True, True, True]  # "a" was pushed out by b and c
