"""The paper venue's fill model: prices, fees, partial fills, tifs, no look-ahead, determinism."""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from typing import Any

import pytest

from schemas.codec import deserializer_for, serializer_for
from streams.exceptions import InvalidInputError
from streams.execution import EMPTY, ExecutionReport, FillModel, PaperBook
from streams.trading import PaperVenue
from tests.kit import stubs
from tests.kit.stubs import T0_US

MIN_US = 60_000_000
HOUR_US = 60 * MIN_US
FREE = FillModel()


def order(
    order_id: str = "o-1",
    *,
    side: str = "BUY",
    qty: float = 100.0,
    order_type: str = "MARKET",
    limit_price: float | None = None,
    tif: str = "DAY",
    ts_event_us: int = T0_US,
    symbol: str = "AAPL",
) -> dict[str, Any]:
    return {
        "id": order_id,
        "signal_id": f"sig-{order_id}",
        "symbol": symbol,
        "account": "default",
        "side": side,
        "qty": qty,
        "order_type": order_type,
        "limit_price": limit_price,
        "tif": tif,
        "strategy": "sma_cross",
        "ts_event_us": ts_event_us,
    }


def quote(
    dt_us: int, *, bid: float = 99.99, ask: float = 100.0, size: float = 10_000.0, **kw: Any
) -> dict[str, Any]:
    return stubs.quote(
        "AAPL", bid=bid, ask=ask, ts_event_us=T0_US + dt_us, bid_size=size, ask_size=size, **kw
    )


def statuses(report: ExecutionReport) -> list[str]:
    return [e["status"] for e in report.events]


# -- prices and fees -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "bid", "ask", "qty", "model", "price", "fee"),
    [
        # buy at the ask + 5 bps: 100.00 * 1.0005 = 100.05; 100 * 0.005 = 0.50 < min 1.00
        (
            "BUY", 99.98, 100.00, 100.0,
            FillModel(slippage_bps=5, commission_per_share=Decimal("0.005"),
                      commission_min=Decimal("1.00")),
            "100.050000", "1.000000",
        ),
        # sell at the bid - 10 bps: 50.00 * 0.999 = 49.95; notional 1000 * 49.95 = 49,950;
        # fee = 1000 * 0.005 + 1 bp * 49,950 = 5.00 + 4.995 = 9.995 (> min 1.00)
        (
            "SELL", 50.00, 50.02, 1000.0,
            FillModel(slippage_bps=10, commission_per_share=Decimal("0.005"),
                      commission_min=Decimal("1.00"), commission_bps=1),
            "49.950000", "9.995000",
        ),
        # 3 bps on 10.01: 10.01 * 1.0003 = 10.013003; 3 * 0.005 = 0.015 < min 0.35
        (
            "BUY", 10.00, 10.01, 3.0,
            FillModel(slippage_bps=3, commission_per_share=Decimal("0.005"),
                      commission_min=Decimal("0.35")),
            "10.013003", "0.350000",
        ),
        ("BUY", 185.20, 185.22, 200.0, FREE, "185.220000", "0.000000"),  # all zero: free
        ("SELL", 185.20, 185.22, 200.0, FREE, "185.200000", "0.000000"),
    ],
)  # fmt: skip
def test_market_order_pays_the_touch_plus_slippage_and_commission(
    side: str, bid: float, ask: float, qty: float, model: FillModel, price: str, fee: str
) -> None:
    book = PaperBook("AAPL", model)
    book.on_order(order(side=side, qty=qty))

    report = book.on_quote(quote(1, bid=bid, ask=ask))

    (fill,) = report.fills
    assert fill["price"] == Decimal(price)
    assert fill["fee"] == Decimal(fee)
    assert (fill["qty"], fill["side"], fill["venue"]) == (qty, side, "paper")
    assert fill["id"] == "o-1-1"
    assert fill["ts_event_us"] == T0_US + 1  # the quote's time, not the order's
    assert statuses(report) == ["FILLED"]
    assert report.events[0]["avg_fill_price"] == pytest.approx(float(price))


def test_partial_fills_by_displayed_size_across_quotes() -> None:
    # BUY 1000 against asks of 300 @ 10.00, 500 @ 10.10, 400 @ 10.20: fills 300, 500, 200.
    # avg = (3000 + 5050 + 2040) / 1000 = 10.09. Commission 0.01/share, min 5 per ORDER:
    # cumulative 300 -> max(5, 3) = 5; 800 -> 8; 1000 -> 10; so the fills pay 5, 3, 2.
    model = FillModel(commission_per_share=Decimal("0.01"), commission_min=Decimal("5"))
    book = PaperBook("AAPL", model)
    new = book.on_order(order(qty=1000.0))

    reports = [
        book.on_quote(quote(1, ask=10.00, size=300.0)),
        book.on_quote(quote(2, ask=10.10, size=500.0)),
        book.on_quote(quote(3, ask=10.20, size=400.0)),
    ]

    total = sum(reports, new)
    assert statuses(total) == ["NEW", "PARTIALLY_FILLED", "PARTIALLY_FILLED", "FILLED"]
    assert [e["filled_qty"] for e in total.events] == [0.0, 300.0, 800.0, 1000.0]
    assert [e["leaves_qty"] for e in total.events] == [1000.0, 700.0, 200.0, 0.0]
    assert [f["qty"] for f in total.fills] == [300.0, 500.0, 200.0]
    assert [f["id"] for f in total.fills] == ["o-1-1", "o-1-2", "o-1-3"]
    assert [f["fee"] for f in total.fills] == [Decimal("5"), Decimal("3"), Decimal("2")]
    assert total.events[1]["avg_fill_price"] == pytest.approx(10.00)
    assert total.events[2]["avg_fill_price"] == pytest.approx(8050 / 800)  # 10.0625
    assert total.events[3]["avg_fill_price"] == pytest.approx(10.09)
    assert book.open_orders == ()
    assert book.position == 1000.0


def test_orders_share_a_quotes_displayed_size_first_come_first_served() -> None:
    book = PaperBook("AAPL")
    book.on_order(order("a", qty=300.0))
    book.on_order(order("b", qty=300.0))

    report = book.on_quote(quote(1, size=400.0))  # a takes 300, b the 100 left

    assert [(f["order_id"], f["qty"]) for f in report.fills] == [("a", 300.0), ("b", 100.0)]
    assert book.open_orders == ("b",)


def test_without_displayed_size_one_quote_fills_everything() -> None:
    book = PaperBook("AAPL", FillModel(fill_displayed_size=False))
    book.on_order(order(qty=50_000.0))

    report = book.on_quote(quote(1, size=100.0))

    assert [f["qty"] for f in report.fills] == [50_000.0]


# -- limit, IOC, DAY -------------------------------------------------------------------------


def test_limit_buy_rests_until_the_ask_crosses_and_fills_at_the_ask_without_slippage() -> None:
    book = PaperBook("AAPL", FillModel(slippage_bps=10))
    book.on_order(order(order_type="LIMIT", limit_price=10.00))

    above = [book.on_quote(quote(1, bid=10.03, ask=10.05)), book.on_quote(quote(2, ask=10.01))]
    crossed = book.on_quote(quote(3, bid=9.96, ask=9.98))

    assert above == [EMPTY, EMPTY]
    assert [f["price"] for f in crossed.fills] == [Decimal("9.98")]  # better than 10.00
    assert statuses(crossed) == ["FILLED"]


@pytest.mark.parametrize(
    ("side", "limit", "bid", "ask", "price"),
    [
        ("BUY", 10.00, 9.99, 10.00, "10.00"),  # ask == limit fills at the limit
        ("SELL", 10.00, 10.00, 10.01, "10.00"),  # bid == limit
        ("SELL", 10.00, 10.03, 10.04, "10.03"),  # better than the limit
        ("BUY", 10.00, 10.00, 10.01, None),  # not crossed: rests
        ("SELL", 10.00, 9.99, 10.00, None),
    ],
)
def test_limit_orders_fill_only_when_crossed(
    side: str, limit: float, bid: float, ask: float, price: str | None
) -> None:
    book = PaperBook("AAPL", FillModel(slippage_bps=25))
    book.on_order(order(side=side, order_type="LIMIT", limit_price=limit))

    report = book.on_quote(quote(1, bid=bid, ask=ask))

    assert [f["price"] for f in report.fills] == ([] if price is None else [Decimal(price)])
    assert book.open_orders == (() if price else ("o-1",))


def test_ioc_fills_what_the_first_eligible_quote_shows_and_cancels_the_rest() -> None:
    book = PaperBook("AAPL")
    book.on_order(order(qty=500.0, tif="IOC"))

    same_time = book.on_quote(quote(0, size=1000.0))  # the order's own instant: not eligible
    report = book.on_quote(quote(1, size=200.0))

    assert same_time == EMPTY
    assert statuses(report) == ["PARTIALLY_FILLED", "CANCELED"]
    canceled = report.events[1]
    assert (canceled["filled_qty"], canceled["leaves_qty"]) == (200.0, 0.0)
    assert canceled["reason"] == "IOC remainder canceled"
    assert book.open_orders == ()
    assert book.on_quote(quote(2)) == EMPTY


def test_ioc_limit_not_marketable_is_canceled_unfilled() -> None:
    book = PaperBook("AAPL")
    book.on_order(order(order_type="LIMIT", limit_price=99.0, tif="IOC"))

    report = book.on_quote(quote(1, ask=100.0))

    assert statuses(report) == ["CANCELED"]
    assert report.events[0]["reason"] == "IOC not filled"
    assert report.fills == ()


def test_day_order_expires_on_the_first_quote_of_the_next_new_york_date() -> None:
    # T0 is 2024-01-02 09:30 New York (14:30 UTC). 23:59 New York is already Jan 3 in UTC,
    # but still Jan 2 on the trading calendar; 00:00:01 New York on Jan 3 expires the order.
    book = PaperBook("AAPL")
    book.on_order(order(order_type="LIMIT", limit_price=90.0, tif="DAY"))
    late_evening = 14 * HOUR_US + 29 * MIN_US
    next_day = 14 * HOUR_US + 30 * MIN_US + 1_000_000

    evening = book.on_quote(quote(late_evening))
    expired = book.on_quote(quote(next_day, bid=89.0, ask=89.5))  # would cross: expiry first

    assert evening == EMPTY
    assert statuses(expired) == ["CANCELED"]
    assert expired.events[0]["reason"] == "day order expired"
    assert expired.events[0]["ts_event_us"] == T0_US + next_day
    assert expired.fills == ()


def test_gtc_order_survives_the_night() -> None:
    book = PaperBook("AAPL")
    book.on_order(order(order_type="LIMIT", limit_price=90.0, tif="GTC"))

    report = book.on_quote(quote(3 * 24 * HOUR_US, bid=89.0, ask=89.5))

    assert statuses(report) == ["FILLED"]
    assert report.fills[0]["price"] == Decimal("89.5")


def test_cancel_by_request_closes_an_open_order_once() -> None:
    book = PaperBook("AAPL")
    book.on_order(order(order_type="LIMIT", limit_price=90.0))

    first = book.cancel("o-1", T0_US + 5)
    again = book.cancel("o-1", T0_US + 6)

    assert statuses(first) == ["CANCELED"]
    assert first.events[0]["reason"] == "canceled by request"
    assert first.events[0]["ts_event_us"] == T0_US + 5
    assert again == EMPTY
    assert book.cancel("nope", T0_US) == EMPTY


# -- acceptance ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"qty": 0.0}, "qty must be a finite number > 0"),
        ({"qty": -5.0}, "qty must be a finite number > 0"),
        ({"qty": math.nan}, "qty must be a finite number > 0"),
        ({"qty": math.inf}, "qty must be a finite number > 0"),
        ({"order_type": "LIMIT"}, "a LIMIT order needs a positive finite limit_price"),
        ({"order_type": "LIMIT", "limit_price": 0.0}, "a LIMIT order needs a positive"),
        ({"order_type": "LIMIT", "limit_price": math.nan}, "a LIMIT order needs a positive"),
        ({"symbol": "MSFT"}, "symbol 'MSFT' is not this book's (AAPL)"),
        ({"side": "HOLD"}, "side must be one of BUY, SELL"),
        ({"tif": "FOK"}, "tif must be one of DAY, IOC, GTC"),
    ],
)
def test_bad_orders_are_rejected_with_a_reason(overrides: dict[str, Any], why: str) -> None:
    book = PaperBook("AAPL")
    book.on_quote(quote(1))  # a quote after the order: a rejected order never fills

    report = book.on_order({**order(), **overrides})

    assert statuses(report) == ["REJECTED"]
    event = report.events[0]
    assert why in event["reason"]
    assert (event["filled_qty"], event["leaves_qty"], event["ts_event_us"]) == (0.0, 0.0, T0_US)
    assert report.fills == ()
    assert book.open_orders == ()


def test_an_accepted_order_is_new_with_its_own_event_time() -> None:
    report = PaperBook("AAPL").on_order(order(qty=70.0, ts_event_us=T0_US + 42))

    assert report.events == (
        {
            "order_id": "o-1",
            "symbol": "AAPL",
            "account": "default",
            "status": "NEW",
            "filled_qty": 0.0,
            "leaves_qty": 70.0,
            "avg_fill_price": None,
            "reason": None,
            "ts_event_us": T0_US + 42,
        },
    )


def test_a_repeated_order_id_is_ignored() -> None:
    book = PaperBook("AAPL")
    book.on_order(order(qty=100.0))

    again = book.on_order(order(qty=100.0))
    filled = book.on_quote(quote(1))

    assert again == EMPTY
    assert [f["qty"] for f in filled.fills] == [100.0]


@pytest.mark.parametrize(
    "overrides",
    [{"bid": math.nan}, {"ask": 0.0}, {"ask_size": -1.0}, {"symbol": "MSFT"}, {"ts_event_us": 1.5}],
)
def test_a_corrupt_quote_raises_and_fills_nothing(overrides: dict[str, Any]) -> None:
    book = PaperBook("AAPL")
    book.on_order(order())

    with pytest.raises(InvalidInputError):
        book.on_quote({**quote(1), **overrides})
    assert book.open_orders == ("o-1",)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"slippage_bps": -1.0},
        {"commission_bps": math.inf},
        {"commission_min": Decimal("-1")},
        {"quote_history": 0},
    ],
)
def test_fill_model_refuses_impossible_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        FillModel(**kwargs)


# -- no look-ahead and arrival order ---------------------------------------------------------


def test_the_quote_at_the_orders_own_event_time_never_fills_it() -> None:
    book = PaperBook("AAPL")
    before = book.on_quote(quote(0))  # the quote that produced the signal, seen first

    accepted = book.on_order(order(ts_event_us=T0_US))
    same = book.on_quote(quote(0, seq=1))  # another quote at the very same microsecond
    later = book.on_quote(quote(1))

    assert before == EMPTY
    assert statuses(accepted) == ["NEW"]
    assert same == EMPTY
    assert statuses(later) == ["FILLED"]


def test_a_late_order_fills_from_the_buffered_quotes_after_its_time() -> None:
    book = PaperBook("AAPL")
    book.on_quote(quote(-1, ask=99.0))  # before the order: never used
    book.on_quote(quote(1, ask=100.0, size=60.0))
    book.on_quote(quote(2, ask=101.0, size=60.0))

    report = book.on_order(order(qty=100.0))

    assert statuses(report) == ["NEW", "PARTIALLY_FILLED", "FILLED"]
    assert [(f["qty"], f["price"], f["ts_event_us"]) for f in report.fills] == [
        (60.0, Decimal("100"), T0_US + 1),
        (40.0, Decimal("101"), T0_US + 2),
    ]


def _scenario(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Orders and quotes of one symbol over two trading days, each stream in its own order."""
    orders, quotes = [], []
    for i in range(60):
        ts = T0_US + i * 7 * MIN_US + (24 * HOUR_US if i >= 40 else 0)
        mid = 100.0 + rng.uniform(-2, 2)
        quotes.append(
            stubs.quote(
                "AAPL", bid=round(mid - 0.01, 2), ask=round(mid + 0.01, 2), ts_event_us=ts,
                bid_size=float(rng.choice([0, 50, 100, 300])),
                ask_size=float(rng.choice([0, 50, 100, 300])), seq=i,
            )
        )  # fmt: skip
        if i % 3 == 0:  # an order stamped at a quote's time (its signal) or just after
            limit = round(mid + rng.uniform(-1.5, 1.0), 2)
            orders.append(
                order(
                    f"o{i}",
                    side=rng.choice(["BUY", "SELL"]),
                    qty=float(rng.choice([80, 250, 700])),
                    order_type=rng.choice(["MARKET", "LIMIT"]),
                    limit_price=limit,
                    tif=rng.choice(["DAY", "IOC", "GTC"]),
                    ts_event_us=ts + rng.choice([0, 5]),
                )
            )
    return orders, quotes


def _run(steps: list[tuple[str, dict[str, Any]]], model: FillModel) -> tuple[Any, ...]:
    book = PaperBook("AAPL", model)
    report = EMPTY
    for kind, record in steps:
        report += book.on_order(record) if kind == "order" else book.on_quote(record)
    fills = sorted(report.fills, key=lambda f: f["id"])
    events = sorted(report.events, key=lambda e: (e["order_id"], e["filled_qty"], e["status"]))
    position = sum(f["qty"] if f["side"] == "BUY" else -f["qty"] for f in fills)
    return fills, events, position


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fills_do_not_depend_on_how_orders_and_quotes_interleave(seed: int) -> None:
    rng = random.Random(seed)
    orders, quotes = _scenario(rng)
    model = FillModel(slippage_bps=2, commission_per_share=Decimal("0.005"),
                      commission_min=Decimal("1"))  # fmt: skip
    live = sorted(
        [("order", o) for o in orders] + [("quote", q) for q in quotes],
        key=lambda s: (s[1]["ts_event_us"], s[0] == "quote"),
    )  # each order right after the quote that caused it
    quotes_first = [("quote", q) for q in quotes] + [("order", o) for o in orders]
    shuffled = []  # a random merge that keeps each topic's own order
    o_left, q_left = list(orders), list(quotes)
    while o_left or q_left:
        take_order = o_left and (not q_left or rng.random() < 0.3)
        shuffled.append(("order", o_left.pop(0)) if take_order else ("quote", q_left.pop(0)))

    expected = _run(live, model)

    assert len(expected[0]) > 10  # the scenario does fill, partially and across both days
    assert {e["status"] for e in expected[1]} >= {"PARTIALLY_FILLED", "FILLED", "CANCELED"}
    assert _run(quotes_first, model) == expected
    assert _run(shuffled, model) == expected


def test_an_order_older_than_the_quote_history_is_rejected() -> None:
    book = PaperBook("AAPL", FillModel(quote_history=2))
    for dt in (1, 2, 3):  # the quote at +1 is pushed out
        book.on_quote(quote(dt))

    stale = book.on_order(order("old", ts_event_us=T0_US))
    covered = book.on_order(order("ok", ts_event_us=T0_US + 1))

    assert statuses(stale) == ["REJECTED"]
    assert "quote history" in stale.events[0]["reason"]
    assert statuses(covered) == ["NEW", "FILLED"]  # everything after +1 is still buffered


# -- state, broker, wire format ----------------------------------------------------------------


def test_state_round_trip_mid_order_gives_identical_later_fills() -> None:
    model = FillModel(slippage_bps=3, commission_per_share=Decimal("0.01"),
                      commission_min=Decimal("2"), quote_history=4)  # fmt: skip
    book = PaperBook("AAPL", model)
    book.on_order(order("big", qty=1000.0, tif="GTC"))
    book.on_order(order("lim", side="SELL", qty=300.0, order_type="LIMIT", limit_price=100.5))
    for dt in range(1, 6):
        book.on_quote(quote(dt, size=150.0))
    restored = PaperBook.from_state(json.loads(json.dumps(book.state())))
    later: list[tuple[str, dict[str, Any]]] = [
        ("quote", quote(6, size=200.0)),
        ("order", order("late", qty=50.0, ts_event_us=T0_US + 3)),  # replays buffered quotes
        ("quote", quote(7, bid=100.6, ask=100.7, size=400.0)),
        ("quote", quote(8, size=1000.0)),
    ]

    def feed(b: PaperBook) -> list[ExecutionReport]:
        return [b.on_quote(r) if k == "quote" else b.on_order(r) for k, r in later]

    assert book.open_orders == ("big", "lim")  # mid-order: big has 750 of 1000 filled
    assert restored.state() == book.state()
    assert feed(restored) == feed(book)
    assert restored.state() == book.state()


def test_the_paper_venue_routes_by_symbol_and_round_trips_through_its_table() -> None:
    model = FillModel(commission_min=Decimal("1"))
    venue, empty = PaperVenue(model), (lambda key: None)
    trace = [["traceparent", "00-" + "1" * 32 + "-" + "2" * 16 + "-01"]]
    venue.on_order(order("a", qty=100.0), trace, empty)
    venue.on_order(order("m", qty=40.0, side="SELL", symbol="MSFT"), [], empty)
    aapl = venue.on_quote("AAPL", quote(1, size=60.0), empty)
    msft = venue.on_quote(
        "MSFT", stubs.quote("MSFT", bid=400.0, ask=400.1, ts_event_us=T0_US + 1), empty
    )
    table = {s: json.loads(json.dumps(venue.state(s))) for s in ("AAPL", "MSFT")}
    restored = PaperVenue(model)

    assert [f["qty"] for f in aapl.fills] == [60.0]
    assert [(f["side"], f["qty"]) for f in msft.fills] == [("SELL", 40.0)]
    assert venue.trace_of("AAPL", "a") == [(k, v.encode()) for k, v in trace]
    assert restored.on_quote("AAPL", quote(2), table.get) == venue.on_quote("AAPL", quote(2), empty)
    assert restored.trace_of("AAPL", "a") == venue.trace_of("AAPL", "a")


def test_reports_concatenate() -> None:
    a = ExecutionReport(events=({"n": 1},), fills=({"f": 1},))
    b = ExecutionReport(events=({"n": 2},))

    assert a + b == ExecutionReport(events=({"n": 1}, {"n": 2}), fills=({"f": 1},))
    assert a + EMPTY is a
    assert EMPTY + b is b
    assert not EMPTY
    assert ExecutionReport.EMPTY is EMPTY


def test_fills_and_order_events_are_valid_avro() -> None:
    model = FillModel(slippage_bps=7, commission_per_share=Decimal("0.0035"),
                      commission_bps=0.5)  # fmt: skip
    book = PaperBook("AAPL", model)
    report = book.on_order(order(qty=333.0))
    report += book.on_quote(quote(1, bid=185.2, ask=185.23, size=111.0))
    report += book.on_order({**order("bad"), "qty": -1.0})
    report += book.on_quote(quote(2, size=500.0))
    fill_codec = serializer_for("Fill", registry=None), deserializer_for("Fill", registry=None)
    event_codec = (
        serializer_for("OrderEvent", registry=None),
        deserializer_for("OrderEvent", registry=None),
    )

    assert len(report.fills) == 2
    assert {e["status"] for e in report.events} == {"NEW", "PARTIALLY_FILLED", "FILLED", "REJECTED"}
    for fill in report.fills:
        assert fill["price"].as_tuple().exponent == -6
        assert fill_codec[1](fill_codec[0](fill)) == fill
    for event in report.events:
        assert event_codec[1](event_codec[0](event)) == event
