"""The risk gate: every rule at its boundary, target arithmetic, pending, kill switch, state."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pytest

from schemas import serializer_for
from streams.exceptions import InvalidInputError
from streams.risk import (
    RULES,
    Decision,
    RiskBook,
    RiskConfig,
    RiskLimits,
    SizingRule,
)
from tests.kit.stubs import T0_US, fill, signal

SEC = 1_000_000
# Every limit open, so that a case sets only the one it is about.
OPEN = RiskLimits(
    min_confidence=0.0,
    max_position_qty=math.inf,
    max_position_notional=math.inf,
    max_gross_exposure=math.inf,
    max_net_exposure=math.inf,
    max_order_notional=math.inf,
    price_band_bps=math.inf,
    cooldown_secs=0.0,
    max_daily_loss=math.inf,
    allow_short=False,
    calendar=None,
)
FIXED_100 = SizingRule(kind="fixed_qty", qty=100.0)


def make_config(sizing: SizingRule = FIXED_100, **changes: Any) -> RiskConfig:
    limits = replace(OPEN, **{k: v for k, v in changes.items() if hasattr(OPEN, k)})
    settings = {k: v for k, v in changes.items() if not hasattr(OPEN, k)}
    return RiskConfig(**{"mode": "paper", **settings}, limits=limits, sizing={"*": sizing})


def sig(sid: str = "s-1", **overrides: Any) -> dict[str, Any]:
    return signal(**{"id": sid, **overrides})


def fill_of(side: str, qty: float, price: str, **overrides: Any) -> dict[str, Any]:
    return fill(side=side, qty=qty, price=Decimal(price), fee=Decimal("0"), **overrides)


def noop(book: RiskBook) -> None:
    pass


def holding(symbol: str, side: str, qty: float, price: str) -> Callable[[RiskBook], None]:
    """Prepare a book holding a position (from a fill of an order it did not send)."""

    def prepare(book: RiskBook) -> None:
        book.on_fill(fill_of(side, qty, price, symbol=symbol, id=f"f-{symbol}", order_id="x"))

    return prepare


def decided(*ids: str) -> Callable[[RiskBook], None]:
    def prepare(book: RiskBook) -> None:
        for sid in ids:
            book.decide(sig(sid, side="FLAT"), config=make_config(dedupe_ids=2))

    return prepare


def accepted_at_t0(book: RiskBook) -> None:
    assert book.decide(sig("first"), config=make_config()).order is not None


def realized_loss_of_1000(book: RiskBook) -> None:
    # Buy 100 @ 100, sell 100 @ 90: realized (90 - 100) x 100 = -1000, fees 0. The fills'
    # limit is exactly 1000: equal is allowed, so the kill switch stays off.
    config = make_config(max_daily_loss=1000.0)
    book.on_fill(fill_of("BUY", 100, "100", id="f-a", order_id="x"), config=config)
    assert book.on_fill(fill_of("SELL", 100, "90", id="f-b", order_id="x")) is None
    assert book.realized_today == -1000.0


def killed_then(reset: bool) -> Callable[[RiskBook], None]:
    def prepare(book: RiskBook) -> None:
        book.kill("operator")
        if reset:
            book.reset()

    return prepare


@dataclass(frozen=True)
class Variant:
    """One side of a boundary: signal fields, config changes, and how the book got there."""

    signal: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[RiskBook], None] = noop
    budget: float = 1.0


@dataclass(frozen=True)
class Case:
    rule: str
    at: Variant  # exactly at the boundary: accepted
    past: Variant  # just past it: refused by `rule`
    values: dict[str, float]  # what the refusal reports


NY_CLOSE_US = T0_US + 390 * 60 * SEC  # 2024-01-02 16:00 New York = 21:00 UTC
NEXT_OPEN_US = T0_US + 86_400 * SEC  # 2024-01-03 09:30 New York

CASES = [
    Case(
        "kill_switch",
        Variant(prepare=killed_then(reset=True)),
        Variant(prepare=killed_then(reset=False)),
        {"value": 1.0, "limit": 0.0},
    ),
    Case(
        # dedupe_ids = 2: after a, b, c only b and c are remembered.
        "duplicate",
        Variant(signal={"id": "a"}, prepare=decided("a", "b", "c")),
        Variant(signal={"id": "b"}, prepare=decided("a", "b", "c")),
        {"value": 1.0, "limit": 0.0},
    ),
    Case(
        # The close is in the session; a microsecond later is not, until the next open.
        "session",
        Variant(signal={"ts_event_us": NY_CLOSE_US}, config={"calendar": "XNYS"}),
        Variant(signal={"ts_event_us": NY_CLOSE_US + 1}, config={"calendar": "XNYS"}),
        {"value": float(NY_CLOSE_US + 1), "limit": float(NEXT_OPEN_US)},
    ),
    Case(
        "min_confidence",
        Variant(signal={"confidence": 0.8}, config={"min_confidence": 0.8}),
        Variant(signal={"confidence": 0.79}, config={"min_confidence": 0.8}),
        {"value": 0.79, "limit": 0.8},
    ),
    Case(
        # An order accepted at T0; the FLAT signal 60 s later closes it, 1 µs earlier is refused.
        "cooldown",
        Variant(
            signal={"side": "FLAT", "ts_event_us": T0_US + 60 * SEC},
            config={"cooldown_secs": 60.0},
            prepare=accepted_at_t0,
        ),
        Variant(
            signal={"side": "FLAT", "ts_event_us": T0_US + 60 * SEC - 1},
            config={"cooldown_secs": 60.0},
            prepare=accepted_at_t0,
        ),
        {"value": 59.999999, "limit": 60.0},
    ),
    Case(
        # 10,000 notional at 10,000 is one share (one lot); at 10,000.01 it is 0.999999 -> 0.
        "sizing",
        Variant(signal={"ref_price": 10_000.0}, config={"sizing": SizingRule("fixed_notional")}),
        Variant(signal={"ref_price": 10_000.01}, config={"sizing": SizingRule("fixed_notional")}),
        {"value": 0.0, "limit": 1.0},
    ),
    Case(
        # Holding 100, a BUY of size 100 has nothing to do; of size 101 it buys 1.
        "at_target",
        Variant(
            config={"sizing": SizingRule(qty=101.0)}, prepare=holding("AAPL", "BUY", 100, "185")
        ),
        Variant(
            config={"sizing": SizingRule(qty=100.0)}, prepare=holding("AAPL", "BUY", 100, "185")
        ),
        {"value": 0.0, "limit": 0.0, "target": 100.0, "committed": 100.0},
    ),
    Case(
        # 100 x 185.21 = 18,521 (= the limit, float noise and all); 100 x 185.22 = 18,522.
        "max_order_notional",
        Variant(signal={"ref_price": 185.21}, config={"max_order_notional": 18_521.0}),
        Variant(signal={"ref_price": 185.22}, config={"max_order_notional": 18_521.0}),
        {"value": 18_522.0, "limit": 18_521.0, "price": 185.22},
    ),
    Case(
        "max_position_qty",
        Variant(config={"max_position_qty": 100.0, "sizing": SizingRule(qty=100.0)}),
        Variant(config={"max_position_qty": 100.0, "sizing": SizingRule(qty=101.0)}),
        {"value": 101.0, "limit": 100.0, "before": 0.0},
    ),
    Case(
        "max_position_notional",
        Variant(signal={"ref_price": 185.21}, config={"max_position_notional": 18_521.0}),
        Variant(signal={"ref_price": 185.22}, config={"max_position_notional": 18_521.0}),
        {"value": 18_522.0, "limit": 18_521.0, "before": 0.0},
    ),
    Case(
        # MSFT 100 @ 400 = 40,000, + AAPL 100 @ 185.21 = 58,521 = 117,042 x budget 0.5.
        "max_gross_exposure",
        Variant(
            signal={"ref_price": 185.21},
            config={"max_gross_exposure": 117_042.0},
            prepare=holding("MSFT", "BUY", 100, "400"),
            budget=0.5,
        ),
        Variant(
            signal={"ref_price": 185.22},
            config={"max_gross_exposure": 117_042.0},
            prepare=holding("MSFT", "BUY", 100, "400"),
            budget=0.5,
        ),
        {"value": 58_522.0, "limit": 58_521.0, "before": 40_000.0, "budget": 0.5},
    ),
    Case(
        # Net: MSFT short 100 @ 400 = -40,000; an AAPL SELL (shorting) of 100 @ 185.21 makes
        # it -58,521 (| | = 234,084 x budget 0.25); at 185.22 it is -58,522.
        "max_net_exposure",
        Variant(
            signal={"ref_price": 185.21, "side": "SELL"},
            config={"max_net_exposure": 234_084.0, "allow_short": True},
            prepare=holding("MSFT", "SELL", 100, "400"),
            budget=0.25,
        ),
        Variant(
            signal={"ref_price": 185.22, "side": "SELL"},
            config={"max_net_exposure": 234_084.0, "allow_short": True},
            prepare=holding("MSFT", "SELL", 100, "400"),
            budget=0.25,
        ),
        {"value": 58_522.0, "limit": 58_521.0, "before": 40_000.0, "budget": 0.25},
    ),
    Case(
        # LIMIT buy at 100 x (1 + 50 bps) = 100.5, 50 bps from ref; 50.01 bps -> 100.5001.
        "price_band",
        Variant(
            signal={"ref_price": 100.0},
            config={"order_type": "LIMIT", "limit_offset_bps": 50.0, "price_band_bps": 50.0},
        ),
        Variant(
            signal={"ref_price": 100.0},
            config={"order_type": "LIMIT", "limit_offset_bps": 50.01, "price_band_bps": 50.0},
        ),
        {"value": 50.01, "limit": 50.0},
    ),
    Case(
        # A realized loss of 1000 today against a limit of 1000 (allowed), then 999.99.
        "daily_loss",
        Variant(config={"max_daily_loss": 1000.0}, prepare=realized_loss_of_1000),
        Variant(config={"max_daily_loss": 999.99}, prepare=realized_loss_of_1000),
        {"value": 1000.0, "limit": 999.99, "budget": 1.0},
    ),
]


def run(variant: Variant) -> tuple[RiskBook, Decision]:
    book = RiskBook()
    variant.prepare(book)
    config = make_config(**variant.config)
    return book, book.decide(sig(**variant.signal), config=config, budget=variant.budget)


def test_the_matrix_covers_every_rule() -> None:
    assert [case.rule for case in CASES] == [name for name, _ in RULES]


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_accepts_exactly_at_its_boundary(case: Case) -> None:
    _, decision = run(case.at)

    assert decision.rejection is None
    assert decision.order is not None
    assert decision.kill is None


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_refuses_just_past_its_boundary(case: Case) -> None:
    _, decision = run(case.past)

    assert decision.order is None
    assert decision.rejection is not None
    assert decision.rejection["rule"] == case.rule
    assert decision.rejection["values"] == pytest.approx(case.values, rel=1e-9)
    assert decision.rejection["reason"]


def test_daily_loss_refusal_trips_the_kill_switch() -> None:
    book, decision = run(CASES[-1].past)

    assert decision.kill is not None
    assert "999.99" in decision.kill
    assert book.killed
    later = book.decide(sig("s-2"), config=make_config())
    assert later.rejection is not None
    assert later.rejection["rule"] == "kill_switch"


def test_first_refusal_in_table_order_wins() -> None:
    config = make_config(min_confidence=0.9, max_order_notional=1.0)

    decision = RiskBook().decide(sig(confidence=0.5), config=config)

    assert decision.rejection is not None
    assert decision.rejection["rule"] == "min_confidence"


def test_an_order_that_reduces_an_over_limit_position_passes() -> None:
    book = RiskBook()
    holding("AAPL", "BUY", 300, "185")(book)
    config = make_config(max_position_qty=100.0, max_position_notional=1.0, max_gross_exposure=1.0)

    decision = book.decide(sig(side="FLAT"), config=config)

    assert decision.order is not None
    assert (decision.order["side"], decision.order["qty"]) == ("SELL", 300.0)


# --- target arithmetic ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "side", "allow_short", "expected"),
    [
        (("BUY", 100), "SELL", True, ("SELL", 200.0)),  # long 100 -> short 100
        (("BUY", 100), "SELL", False, ("SELL", 100.0)),  # long 100 -> flat
        (("BUY", 100), "FLAT", True, ("SELL", 100.0)),
        (("BUY", 40), "BUY", False, ("BUY", 60.0)),  # tops up to the size
        (("SELL", 50), "BUY", False, ("BUY", 150.0)),  # short 50 -> long 100
        (("SELL", 50), "FLAT", False, ("BUY", 50.0)),
        (None, "SELL", True, ("SELL", 100.0)),
        (None, "SELL", False, None),  # flat, no shorting: at target
        (("BUY", 100), "BUY", False, None),
    ],
)
def test_order_moves_position_plus_pending_to_the_target(
    held: tuple[str, float] | None, side: str, allow_short: bool, expected: tuple[str, float] | None
) -> None:
    book = RiskBook()
    if held is not None:
        holding("AAPL", held[0], held[1], "185")(book)

    decision = book.decide(sig(side=side), config=make_config(allow_short=allow_short))

    if expected is None:
        assert decision.rejection is not None
        assert decision.rejection["rule"] == "at_target"
    else:
        assert decision.order is not None
        assert (decision.order["side"], decision.order["qty"]) == expected


def test_order_and_rejection_records_are_valid_avro() -> None:
    config = make_config(order_type="LIMIT", limit_offset_bps=10.0, tif="IOC", account="acc-1")
    book = RiskBook()

    order = book.decide(sig("abc", ref_price=200.0), config=config).order
    rejection = book.decide(sig("abc", ref_price=200.0), config=config).rejection

    assert order == {
        "id": "o-abc",
        "signal_id": "abc",
        "symbol": "AAPL",
        "account": "acc-1",
        "side": "BUY",
        "qty": 100.0,
        "order_type": "LIMIT",
        "limit_price": 200.2,  # 200 x (1 + 10 bps): a buy pays up
        "tif": "IOC",
        "strategy": "sma_cross",
        "ts_event_us": T0_US,
    }
    assert rejection is not None
    assert rejection["rule"] == "duplicate"
    assert serializer_for("Order", registry=None)(order)
    assert serializer_for("Rejection", registry=None)(rejection)


def test_limit_sell_is_priced_below_the_reference() -> None:
    config = make_config(order_type="LIMIT", limit_offset_bps=10.0, allow_short=True)

    order = RiskBook().decide(sig(side="SELL", ref_price=200.0), config=config).order

    assert order is not None
    assert order["limit_price"] == 199.8


# --- pending accounting ---------------------------------------------------------------


@pytest.mark.parametrize("leaves_on_cancel", [60.0, 0.0])  # either broker convention
def test_pending_through_accept_partial_fill_and_cancel(leaves_on_cancel: float) -> None:
    book, config = RiskBook(), make_config()
    order = book.decide(sig("s-1"), config=config).order
    assert order is not None
    oid = order["id"]

    book.on_fill(fill_of("BUY", 40, "185", id="f-1", order_id=oid))
    snap = book.snapshot()["symbols"]["AAPL"]
    assert (snap["position"], snap["pending"]) == (40.0, 60.0)
    # Position 40 + pending 60 = the target 100: another BUY has nothing to do.
    again = book.decide(sig("s-2", ts_event_us=T0_US + SEC), config=config)
    assert again.rejection is not None
    assert again.rejection["rule"] == "at_target"

    cancel = {"order_id": oid, "symbol": "AAPL", "status": "CANCELED", "filled_qty": 40.0}
    book.on_order_event({**cancel, "leaves_qty": leaves_on_cancel})

    assert book.snapshot()["symbols"]["AAPL"]["pending"] == 0.0
    topped = book.decide(sig("s-3", ts_event_us=T0_US + 2 * SEC), config=config).order
    assert topped is not None
    assert (topped["side"], topped["qty"]) == ("BUY", 60.0)


def test_a_cancel_before_its_last_fill_keeps_that_fill_pending() -> None:
    book = RiskBook()
    oid = "o-s-1"
    book.decide(sig("s-1"), config=make_config())
    book.on_fill(fill_of("BUY", 40, "185", id="f-1", order_id=oid))

    # The broker filled 70 then canceled 30; its second fill (30) arrives after the cancel.
    end = {"order_id": oid, "symbol": "AAPL", "status": "CANCELED"}
    book.on_order_event({**end, "filled_qty": 70.0, "leaves_qty": 0.0})
    assert book.snapshot()["symbols"]["AAPL"]["pending"] == 30.0
    book.on_fill(fill_of("BUY", 30, "185", id="f-2", order_id=oid))

    snap = book.snapshot()["symbols"]["AAPL"]
    assert (snap["position"], snap["pending"]) == (70.0, 0.0)
    assert book.ledger_state("AAPL")["orders"] == {}


def test_alert_only_decisions_are_not_pending() -> None:
    book, config = RiskBook(), make_config(mode="alert-only")

    first = book.decide(sig("s-1"), config=config).order
    second = book.decide(sig("s-2", ts_event_us=T0_US + SEC), config=config).order

    assert first is not None
    assert second is not None
    assert second["qty"] == 100.0  # still sized against the real (flat) position


def test_a_fill_applied_twice_counts_once() -> None:
    book = RiskBook()
    loss = fill_of("BUY", 100, "185", id="f-1", order_id="x")

    book.on_fill(loss)
    book.on_fill(loss)

    assert book.snapshot()["symbols"]["AAPL"]["position"] == 100.0


# --- kill switch, days, state ---------------------------------------------------------


def losing_fills(day_us: int, tag: str) -> list[dict[str, Any]]:
    # Buy 100 @ 50 (fee 1), sell 100 @ 44 (fee 1): realized -600 gross, -602 net of fees.
    return [
        fill(side="BUY", qty=100.0, price=Decimal("50"), fee=Decimal("1"), id=f"{tag}-1",
             order_id="x", ts_event_us=day_us),
        fill(side="SELL", qty=100.0, price=Decimal("44"), fee=Decimal("1"), id=f"{tag}-2",
             order_id="x", ts_event_us=day_us + SEC),
    ]  # fmt: skip


def round_trip(book: RiskBook, config: RiskConfig) -> RiskBook:
    """Save BOOK as the worker does (its own state; each ledger under its symbol) and load it."""
    ledgers = json.loads(json.dumps({s: book.ledger_state(s) for s in book.ledgers}))
    resumed = RiskBook.from_state(json.loads(json.dumps(book.state())), config)
    for symbol, state in ledgers.items():
        resumed.attach(symbol, state)
    return resumed


def full_state(book: RiskBook) -> dict[str, Any]:
    return {**book.state(), "ledgers": {s: book.ledger_state(s) for s in sorted(book.ledgers)}}


def test_kill_switch_trips_on_a_loss_survives_state_and_clears_only_by_reset() -> None:
    config = make_config(max_daily_loss=1000.0, calendar="XNYS")
    book = RiskBook(config)
    results = [book.on_fill(f) for f in losing_fills(T0_US, "a") + losing_fills(T0_US, "b")]

    # -602 after "a", -1204 after "b": over 1000, the fourth fill trips it, once.
    assert results[:3] == [None, None, None]
    assert results[3] is not None
    assert "1,204.00" in results[3]
    assert book.killed

    restored = round_trip(book, config)
    next_day = T0_US + 86_400 * SEC  # a new trading day resets the loss, not the switch
    refused = restored.decide(sig("s-1", ts_event_us=next_day), config=config).rejection
    assert refused is not None
    assert refused["rule"] == "kill_switch"
    assert restored.realized_today == 0.0

    restored.reset()
    assert not restored.killed
    assert restored.decide(sig("s-2", ts_event_us=next_day), config=config).order is not None


def test_daily_loss_resets_at_the_exchange_midnight() -> None:
    config = make_config(max_daily_loss=1000.0, calendar="XNYS")
    # 23:30 New York on 2024-01-02 is already 2024-01-03 in UTC: still the 2nd in New York.
    late_evening = T0_US + (14 * 3600) * SEC
    next_morning = late_evening + 2 * 3600 * SEC  # 01:30 New York, 2024-01-03

    same_day = RiskBook(config)
    for f in losing_fills(T0_US, "a") + losing_fills(late_evening, "b"):
        same_day.on_fill(f)
    rolled = RiskBook(config)
    for f in losing_fills(T0_US, "a") + losing_fills(next_morning, "b"):
        rolled.on_fill(f)

    assert same_day.killed  # -1204 in one New York day
    assert not rolled.killed  # -602 on each of two days
    assert (rolled.day, rolled.realized_today) == ("2024-01-03", -602.0)


def test_without_a_calendar_the_day_is_the_utc_date() -> None:
    book = RiskBook(make_config(max_daily_loss=1000.0))
    late_evening = T0_US + (14 * 3600) * SEC  # 04:30 UTC on 2024-01-03
    for f in losing_fills(T0_US, "a") + losing_fills(late_evening, "b"):
        book.on_fill(f)

    assert not book.killed
    assert book.day == "2024-01-03"


def test_duplicates_are_remembered_across_a_state_round_trip() -> None:
    config = make_config()
    book = RiskBook(config)
    book.decide(sig("s-1"), config=config)

    restored = round_trip(book, config)

    refused = restored.decide(sig("s-1"), config=config).rejection
    assert refused is not None
    assert refused["rule"] == "duplicate"


def test_state_round_trip_decides_identically_afterwards() -> None:
    config = make_config(cooldown_secs=30.0, max_daily_loss=500.0, allow_short=True)
    events: list[tuple[str, dict[str, Any]]] = [
        ("signal", sig("a")),
        ("fill", fill_of("BUY", 60, "185", id="f-1", order_id="o-a")),
        ("signal", sig("b", side="SELL", ts_event_us=T0_US + 10 * SEC)),  # cooldown
        ("signal", sig("c", symbol="MSFT", ref_price=400.0)),
        ("event", {"order_id": "o-a", "symbol": "AAPL", "status": "CANCELED", "filled_qty": 60.0}),
        ("signal", sig("d", side="SELL", ts_event_us=T0_US + 40 * SEC)),
        ("fill", fill_of("SELL", 60, "170", id="f-2", order_id="o-d")),  # -900: kill
        ("signal", sig("e", symbol="MSFT", ts_event_us=T0_US + 50 * SEC)),
        ("signal", sig("a")),
    ]

    def play(book: RiskBook, part: list[tuple[str, dict[str, Any]]]) -> list[object]:
        out: list[object] = []
        for kind, record in part:
            if kind == "signal":
                out.append(book.decide(record, config=config))
            elif kind == "fill":
                out.append(book.on_fill(record))
            else:
                book.on_order_event(record)
        return out

    for cut in range(len(events) + 1):
        straight = RiskBook(config)
        expected = play(straight, events)
        resumed = RiskBook(config)
        first = play(resumed, events[:cut])
        resumed = round_trip(resumed, config)
        assert first + play(resumed, events[cut:]) == expected
        assert full_state(resumed) == full_state(straight)
    assert straight.killed


def test_snapshot_is_json_with_positions_and_exposure() -> None:
    book = RiskBook(make_config())
    holding("MSFT", "SELL", 10, "400")(book)
    book.decide(sig("s-1", ref_price=200.0), config=make_config())

    snap = json.loads(json.dumps(book.snapshot()))

    assert snap["symbols"]["AAPL"] == {
        "position": 0.0,
        "avg_price": 0.0,
        "pending": 100.0,
        "last_price": 200.0,
        "realized_today": 0.0,
    }
    assert snap["symbols"]["MSFT"]["position"] == -10.0
    assert (snap["gross_exposure"], snap["net_exposure"]) == (24_000.0, 16_000.0)
    assert (snap["killed"], snap["kill_reason"]) == (False, None)


@pytest.mark.parametrize(
    "bad",
    [
        {"ref_price": math.nan},
        {"ref_price": 0.0},
        {"side": "HOLD"},
        {"ts_event_us": 1.5},
        {"id": ""},
    ],
)
def test_an_unusable_signal_raises_and_changes_nothing(bad: dict[str, Any]) -> None:
    book = RiskBook()

    with pytest.raises(InvalidInputError):
        book.decide(sig(**bad), config=make_config())

    assert book.ledgers == {}


@pytest.mark.parametrize("bad", [{"qty": 0.0}, {"price": Decimal("NaN")}, {"side": "HOLD"}])
def test_an_unusable_fill_raises(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        RiskBook().on_fill(fill(**bad))


@pytest.mark.parametrize(
    ("side", "allow_short"), [("FLAT", True), ("FLAT", False), ("SELL", False)]
)
def test_a_target_that_needs_no_size_is_zero_not_minus_zero(side: str, allow_short: bool) -> None:
    decision = RiskBook().decide(sig(side=side), config=make_config(allow_short=allow_short))

    assert decision.rejection is not None
    assert decision.rejection["reason"] == "already at target 0 (position + pending 0)"
    assert repr(decision.rejection["values"]["target"]) == "0.0"
