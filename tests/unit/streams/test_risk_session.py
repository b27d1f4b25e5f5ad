"""Trading sessions on the real XNYS calendar, trading days, and the session rule's scope."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from streams.risk import RiskBook, RiskConfig, RiskLimits, TradingCalendar, is_open, trading_day
from streams.risk.session import trading_calendar
from tests.kit.stubs import signal

NEW_YORK = ZoneInfo("America/New_York")


def ny_us(text: str) -> int:
    """Return the µs since the epoch of a New York wall-clock time "YYYY-MM-DD HH:MM[:SS.f]"."""
    local = datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)
    return int(local.timestamp()) * 1_000_000 + local.microsecond


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2024-01-03 15:00", True),  # a Wednesday afternoon
        ("2024-01-03 20:00", False),  # after the 16:00 close
        ("2024-01-03 09:30", True),  # the open is in the session...
        ("2024-01-03 09:29:59.999999", False),  # ...a microsecond before it is not
        ("2024-01-03 16:00", True),  # the close is in the session (a daily bar's stamp)
        ("2024-01-03 16:00:00.000001", False),
        ("2024-01-06 15:00", False),  # a Saturday
        ("2024-07-04 15:00", False),  # Independence Day
        ("2024-11-29 12:59", True),  # the day after Thanksgiving closes early, at 13:00
        ("2024-11-29 13:00", True),
        ("2024-11-29 13:00:00.000001", False),
        ("2024-11-29 15:00", False),
        ("2024-03-11 09:30", True),  # first Monday of daylight saving: 13:30 UTC
        ("2024-03-11 09:29", False),
        ("1999-06-01 12:00", False),  # before the calendar's span: never open
    ],
)
def test_xnys_sessions(when: str, open_: bool) -> None:
    assert is_open("XNYS", ny_us(when)) is open_


def test_next_open_after_a_holiday_is_the_following_morning() -> None:
    xnys = trading_calendar("XNYS")

    assert xnys.next_open_us(ny_us("2024-07-04 12:00")) == ny_us("2024-07-05 09:30")
    assert xnys.next_open_us(ny_us("2024-11-29 13:30")) == ny_us("2024-12-02 09:30")


def test_the_calendar_is_built_once() -> None:
    assert trading_calendar("XNYS") is trading_calendar("XNYS")


def test_no_calendar_is_always_open() -> None:
    assert is_open(None, ny_us("2024-01-06 03:00"))


def test_breaks_are_closed_and_end_at_the_next_open() -> None:
    # A handmade exchange: one session 0..100 with a lunch break 40..60, one 200..300.
    calendar = TradingCalendar("TEST", UTC, [0, 200], [100, 300], [40, -1], [60, -1])

    assert [calendar.is_open(t) for t in (0, 39, 40, 59, 60, 100, 101, 250)] == [
        True, True, False, False, True, True, False, True,
    ]  # fmt: skip
    assert calendar.next_open_us(45) == 60
    assert calendar.next_open_us(150) == 200
    assert calendar.next_open_us(301) is None


@pytest.mark.parametrize(
    ("calendar", "when", "day"),
    [
        ("XNYS", "2024-01-02 23:30", "2024-01-02"),  # 04:30 UTC on the 3rd
        ("XNYS", "2024-01-03 00:00", "2024-01-03"),
        (None, "2024-01-02 23:30", "2024-01-03"),  # without a calendar: the UTC date
        (None, "2024-01-02 18:59:59", "2024-01-02"),
    ],
)
def test_trading_day_is_the_exchange_local_date(calendar: str | None, when: str, day: str) -> None:
    assert trading_day(calendar, ny_us(when)) == day


def test_session_rule_filters_listed_symbols_only() -> None:
    saturday = ny_us("2024-01-06 15:00")
    limits = replace(RiskLimits(), calendar="XNYS", calendar_symbols=("AAPL",), cooldown_secs=0)
    config = RiskConfig(mode="paper", limits=limits)
    book = RiskBook(config)

    listed = book.decide(signal("AAPL", id="a", ts_event_us=saturday), config=config)
    fx = book.decide(
        signal("EURUSD", id="b", ts_event_us=saturday, ref_price=1.09, confidence=0.9),
        config=config,
    )

    assert listed.rejection is not None
    assert listed.rejection["rule"] == "session"
    assert "next open 2024-01-08T14:30:00+00:00" in listed.rejection["reason"]
    assert fx.order is not None
