"""The gap rule per strategy and in exchange sessions; fills stamped at the session's open."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from streams.engine import EngineSettings, Event, SymbolEngine
from streams.exceptions import ConfigError
from streams.execution.bars import bar_open
from streams.risk.session import trading_calendar
from streams.strategies import GapPolicy, parse_config
from streams.strategies.gaps import elapsed_steps

_NY = ZoneInfo("America/New_York")
_DAY = 86_400


def _ny_us(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=_NY).timestamp()) * 1_000_000  # type: ignore[misc]


def _close(year: int, month: int, day: int) -> int:
    return _ny_us(year, month, day, 16)


@pytest.mark.parametrize(
    ("previous", "now", "steps"),
    [
        (_close(2008, 10, 31), _close(2008, 11, 3), 1),  # Fri -> Mon as DST ends: 73 h, 1 step
        (_close(2008, 11, 26), _close(2008, 11, 28), 1),  # Thanksgiving: a holiday, 1 step
        (_close(2009, 2, 13), _close(2009, 2, 17), 1),  # Presidents' Day weekend: 4 days
        (_close(2008, 11, 3), _close(2008, 11, 6), 3),  # two missing sessions
        (_close(2008, 11, 3), _close(2008, 11, 7), 4),
    ],
)
def test_daily_bars_count_the_sessions_that_closed(previous: int, now: int, steps: int) -> None:
    xnys = trading_calendar("XNYS")

    assert elapsed_steps(previous, now, _DAY, xnys) == steps
    assert GapPolicy(3.0).is_gap(previous, now, _DAY, xnys) is (steps > 3)


def test_wall_time_flags_what_sessions_do_not() -> None:
    dst_weekend = (_close(2008, 10, 31), _close(2008, 11, 3))

    assert GapPolicy(3.0).is_gap(*dst_weekend, _DAY) is True  # 73 h > 72 h
    assert GapPolicy(3.0).is_gap(*dst_weekend, _DAY, trading_calendar("XNYS")) is False


def test_intraday_bars_count_session_time_so_the_night_is_no_gap() -> None:
    xnys = trading_calendar("XNYS")
    last_of_day, first_of_next = _ny_us(2024, 1, 2, 16), _ny_us(2024, 1, 3, 10, 30)

    assert elapsed_steps(last_of_day, first_of_next, 3_600, xnys) == 1.0
    assert elapsed_steps(last_of_day, _ny_us(2024, 1, 3, 14, 30), 3_600, xnys) == 5.0
    assert elapsed_steps(last_of_day, first_of_next, 3_600) == pytest.approx(18.5)


def _bar(ts_us: int, close: float, seq: int) -> dict[str, Any]:
    return {
        "symbol": "GOOG", "ts_event_us": ts_us, "interval_secs": _DAY, "open": close,
        "high": close, "low": close, "close": close, "volume": 1e6, "seq": seq,
    }  # fmt: skip


def _config(**gap: object) -> Any:
    table = {"kind": "ma_cross", "symbols": "*", "params": {"fast": 2, "slow": 3}, **gap}
    return parse_config({"strategies": {"cross": table}})


# Closes under a 2/3 SMA: the cross up comes on the last bar, across the DST weekend.
_CLOSES = [10.0, 10.0, 10.0, 9.0, 12.0]
_DAYS = [(2008, 10, 27), (2008, 10, 28), (2008, 10, 29), (2008, 10, 31), (2008, 11, 3)]


def _signals(config: Any, calendar: str | None) -> list[str]:
    engine = SymbolEngine("GOOG", config, EngineSettings(), calendar)
    sides = []
    for seq, (day, close) in enumerate(zip(_DAYS, _CLOSES, strict=True)):
        bar = _bar(_close(*day), close, seq)
        out = engine.on_event(Event("bar", bar["ts_event_us"], bar))
        sides += [s["side"] for s in out.signals]
    return sides


@pytest.mark.parametrize(
    ("gap", "symbol_calendar", "fires"),
    [
        ({}, None, False),  # wall time: Fri -> Mon across DST is 73 h, a gap
        ({}, "XNYS", True),  # "auto": the symbol's calendar counts one session
        ({"calendar": "XNYS"}, None, True),  # the strategy names its own calendar
        ({"calendar": "none"}, "XNYS", False),  # or refuses the symbol's
        ({"max_gap_bars": 4}, None, True),  # or widens the rule: 73 h is ~3.04 days
        ({"max_gap_bars": float("inf")}, None, True),
    ],
)
def test_each_strategy_has_its_own_gap_rule(
    gap: dict[str, object], symbol_calendar: str | None, fires: bool
) -> None:
    assert ("BUY" in _signals(_config(**gap), symbol_calendar)) is fires


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("max_gap_bars", 0.5, "must be a number >= 1"),
        ("max_gap_bars", "three", "must be a number >= 1"),
        ("calendar", "NOPE", 'must be "auto", "none" or an exchange-calendars code'),
    ],
)
def test_bad_gap_keys_are_config_errors(key: str, value: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        _config(**{key: value})


def test_a_daily_bar_fills_at_its_session_open_when_the_calendar_is_known() -> None:
    monday = _bar(_close(2008, 11, 3), 100.0, 0)
    xnys_open = trading_calendar("XNYS").last_open_us(monday["ts_event_us"])

    assert xnys_open == _ny_us(2008, 11, 3, 9, 30)
    assert bar_open(monday, xnys_open)["ts_event_us"] == _ny_us(2008, 11, 3, 9, 30)
    # Without a calendar: the previous close time + 1 µs (Sunday, for a Monday bar).
    assert bar_open(monday)["ts_event_us"] == _close(2008, 11, 2) + 1
    # A session open outside the bar (a wrong calendar) is not used.
    assert bar_open(monday, _ny_us(2008, 10, 31, 9, 30))["ts_event_us"] == _close(2008, 11, 2) + 1
