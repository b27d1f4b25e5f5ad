"""Average-cost position accounting: hand-computed P&L through partial fills and flips."""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from typing import Any

import pytest

from schemas.codec import deserializer_for, serializer_for
from streams.exceptions import InvalidInputError
from streams.execution import FillModel, PaperBook
from streams.positions import PositionBook, recompute_positions
from tests.kit import stubs
from tests.kit.stubs import T0_US


def fill(
    fill_id: str, side: str, qty: float, price: str, fee: str = "1", **kw: Any
) -> dict[str, Any]:
    return stubs.fill(
        id=fill_id, side=side, qty=qty, price=Decimal(price), fee=Decimal(fee),
        ts_event_us=T0_US + int(fill_id.rsplit("-", 1)[-1]), **kw,
    )  # fmt: skip


# Each step: the fill, then qty, avg_price, realized_pnl (gross) and fees after it.
HAND_COMPUTED = [
    # buy 100 @ 10: open long 100, avg 10
    (fill("f-1", "BUY", 100, "10"), 100.0, 10.0, "0", "1"),
    # buy 50 @ 13: same side, re-average (100 * 10 + 50 * 13) / 150 = 1650 / 150 = 11
    (fill("f-2", "BUY", 50, "13"), 150.0, 11.0, "0", "2"),
    # sell 120 @ 12: reduce, realize (12 - 11) * 120 = +120; avg stays 11 on the 30 left
    (fill("f-3", "SELL", 120, "12"), 30.0, 11.0, "120", "3"),
    # sell 50 @ 9: close 30 realizing (9 - 11) * 30 = -60 -> 60; the other 20 open short @ 9
    (fill("f-4", "SELL", 50, "9"), -20.0, 9.0, "60", "4"),
    # sell 30 @ 10: add to the short, re-average (20 * 9 + 30 * 10) / 50 = 480 / 50 = 9.6
    (fill("f-5", "SELL", 30, "10"), -50.0, 9.6, "60", "5"),
    # buy 20 @ 8.6: cover 20 of the short, realize (9.6 - 8.6) * 20 = +20 -> 80
    (fill("f-6", "BUY", 20, "8.6"), -30.0, 9.6, "80", "6"),
    # buy 40 @ 7: cover 30 realizing (9.6 - 7) * 30 = +78 -> 158; flip long 10 @ 7
    (fill("f-7", "BUY", 40, "7"), 10.0, 7.0, "158", "7"),
    # sell 10 @ 7.5: exactly flat, realize (7.5 - 7) * 10 = +5 -> 163; avg back to 0
    (fill("f-8", "SELL", 10, "7.5", fee="0.25"), 0.0, 0.0, "163", "7.25"),
]


def test_hand_computed_sequence_through_partial_closes_and_flips() -> None:
    book = PositionBook("default", "AAPL")

    for version, (f, qty, avg, realized, fees) in enumerate(HAND_COMPUTED, start=1):
        assert book.apply_fill(f) is True
        assert book.qty == qty
        assert book.avg_price == pytest.approx(avg, rel=1e-12)
        assert book.realized_pnl == Decimal(realized)
        assert book.fees == Decimal(fees)
        assert (book.version, book.last_fill_id) == (version, f["id"])

    # realized is gross: net of fees it is 163 - 7.25 = 155.75
    assert book.realized_pnl - book.fees == Decimal("155.75")
    assert book.ts_event_us == T0_US + 8


def test_realized_pnl_is_quantized_to_six_places() -> None:
    book = PositionBook("default", "AAPL")
    book.apply_fill(fill("f-1", "BUY", 2, "10"))
    book.apply_fill(fill("f-2", "BUY", 1, "10.01"))  # avg 30.01 / 3 = 10.00333...
    book.apply_fill(fill("f-3", "SELL", 1, "10.02"))  # 10.02 - 10.00333... = 0.0166666...

    assert book.realized_pnl == Decimal("0.016667")
    assert book.to_record()["realized_pnl"].as_tuple().exponent == -6


def test_a_duplicate_fill_is_ignored() -> None:
    book = PositionBook("default", "AAPL")
    book.apply_fill(fill("f-1", "BUY", 100, "10"))
    before = book.state()

    again = book.apply_fill(fill("f-1", "BUY", 100, "10"))

    assert again is False
    assert book.state() == before
    assert book.has_applied("f-1")


def test_the_fill_id_memory_is_bounded() -> None:
    book = PositionBook("default", "AAPL", fill_id_memory=3)
    for n in range(1, 5):
        book.apply_fill(fill(f"f-{n}", "BUY", 1, "10"))

    assert not book.has_applied("f-1")  # the oldest of four fell out of a memory of three
    assert [book.has_applied(f"f-{n}") for n in (2, 3, 4)] == [True, True, True]
    assert json.loads(json.dumps(book.state()))["applied"] == ["f-2", "f-3", "f-4"]


@pytest.mark.parametrize(
    ("fills", "mark", "unrealized"),
    [
        ([("BUY", 30, "11")], 12.5, 45.0),  # (12.5 - 11) * 30
        ([("SELL", 20, "9")], 10.0, -20.0),  # (10 - 9) * -20: a short loses when price rises
        ([("SELL", 20, "9")], 8.0, 20.0),
        ([("BUY", 5, "10"), ("SELL", 5, "12")], 50.0, 0.0),  # flat: nothing unrealized
    ],
)
def test_marks_give_unrealized_pnl(
    fills: list[tuple[str, float, str]], mark: float, unrealized: float
) -> None:
    book = PositionBook("default", "AAPL")
    for n, (side, qty, price) in enumerate(fills, start=1):
        book.apply_fill(fill(f"f-{n}", side, qty, price))

    changed = book.mark(mark, T0_US + 100)

    assert changed is True
    assert book.unrealized_pnl == pytest.approx(unrealized)
    assert book.to_record()["unrealized_pnl"] == pytest.approx(unrealized)
    assert book.to_record()["last_mark"] == mark


def test_marks_change_the_version_only_when_the_price_moves_forward_in_time() -> None:
    book = PositionBook("default", "AAPL")
    book.apply_fill(fill("f-1", "BUY", 10, "100"))

    first = book.mark(101.0, T0_US + 10)
    same_price = book.mark(101.0, T0_US + 20)
    older = book.mark(150.0, T0_US + 5)  # a stale quote must not override a newer mark
    moved = book.mark(99.0, T0_US + 30)

    assert (first, same_price, older, moved) == (True, False, False, True)
    assert book.version == 3  # the fill and two marks
    assert book.last_mark == 99.0
    assert book.ts_event_us == T0_US + 30
    with pytest.raises(InvalidInputError):
        book.mark(math.nan, T0_US + 40)


@pytest.mark.parametrize(
    "overrides",
    [
        {"symbol": "MSFT"},
        {"account": "other"},
        {"qty": 0.0},
        {"qty": math.inf},
        {"price": Decimal("NaN")},
        {"price": Decimal("-1")},
        {"fee": Decimal("Infinity")},
        {"side": "HOLD"},
    ],
)
def test_a_foreign_or_corrupt_fill_raises_and_changes_nothing(overrides: dict[str, Any]) -> None:
    book = PositionBook("default", "AAPL")
    book.apply_fill(fill("f-1", "BUY", 10, "100"))
    before = book.state()

    with pytest.raises(InvalidInputError):
        book.apply_fill({**fill("f-2", "SELL", 5, "101"), **overrides})
    assert book.state() == before


def test_the_record_is_a_valid_position() -> None:
    book = PositionBook("acct-7", "AAPL")
    book.apply_fill(fill("f-1", "BUY", 100, "10", account="acct-7"))
    book.apply_fill(fill("f-2", "SELL", 40, "10.333333", account="acct-7"))
    book.mark(10.5, T0_US + 3)
    serialize = serializer_for("Position", registry=None)
    deserialize = deserializer_for("Position", registry=None)

    record = book.to_record()

    assert record == {
        "account": "acct-7",
        "symbol": "AAPL",
        "qty": 60.0,
        "avg_price": 10.0,
        "realized_pnl": Decimal("13.333320"),  # (10.333333 - 10) * 40
        "fees": Decimal("2.000000"),
        "last_mark": 10.5,
        "unrealized_pnl": 30.0,  # (10.5 - 10) * 60
        "version": 3,
        "last_fill_id": "f-2",
        "ts_event_us": T0_US + 3,
    }
    assert deserialize(serialize(record)) == record


def test_state_round_trip_gives_identical_behaviour() -> None:
    book = PositionBook("default", "AAPL")
    for f, *_ in HAND_COMPUTED[:4]:
        book.apply_fill(f)
    book.mark(9.5, T0_US + 50)
    restored = PositionBook.from_state(json.loads(json.dumps(book.state())))

    for b in (book, restored):
        b.apply_fill(HAND_COMPUTED[3][0])  # a duplicate: still remembered after the trip
        for f, *_ in HAND_COMPUTED[4:]:
            b.apply_fill(f)
        b.mark(9.0, T0_US + 40)  # older than the restored mark time: ignored by both

    assert restored.to_record() == book.to_record()
    assert restored.state() == book.state()


def _random_fills(rng: random.Random, count: int) -> list[dict[str, Any]]:
    fills: list[dict[str, Any]] = []
    for n in range(count):
        if fills and rng.random() < 0.1:  # an at-least-once producer repeats a recent fill
            fills.append(dict(rng.choice(fills[-50:])))
            continue
        qty = float(rng.randint(1, 400)) if rng.random() < 0.8 else round(rng.uniform(0.1, 50), 3)
        fills.append(
            stubs.fill(
                rng.choice(["AAPL", "MSFT", "GOOG"]),
                id=f"f-{n}",
                account=rng.choice(["default", "acct-2"]),
                side=rng.choice(["BUY", "SELL"]),
                qty=qty,
                price=Decimal(rng.randint(5_000, 20_000)) / 100,
                fee=Decimal(rng.randint(0, 500)) / 100,
                ts_event_us=T0_US + n,
            )
        )
    return fills


@pytest.mark.parametrize("seed", [11, 12])
def test_recompute_agrees_with_the_books_on_random_fills(seed: int) -> None:
    fills = _random_fills(random.Random(seed), 5000)
    books: dict[tuple[str, str], PositionBook] = {}
    applied = flips = 0
    for f in fills:
        key = (f["account"], f["symbol"])
        book = books.setdefault(key, PositionBook(*key))
        before = book.qty
        applied += book.apply_fill(f)
        flips += before * book.qty < 0.0  # long <-> short in one fill
        if f["id"].endswith("7"):  # now and then, continue from the state, as after a restart
            books[key] = PositionBook.from_state(json.loads(json.dumps(book.state())))

    recomputed = recompute_positions(fills)

    assert 4000 < applied < 5000  # the duplicates were really there, and were skipped
    assert flips > 20
    assert set(recomputed) == set(books)
    for key, book in books.items():
        assert recomputed[key].to_record() == book.to_record()
        assert recomputed[key].state() == book.state()


def test_paper_fills_account_to_their_positions() -> None:
    broker = PaperBook("AAPL", FillModel(slippage_bps=5, commission_per_share=Decimal("0.005")))
    books: dict[tuple[str, str], PositionBook] = {}
    reports = [
        broker.on_order(
            {
                "id": "o-1",
                "signal_id": "s-1",
                "symbol": "AAPL",
                "account": "default",
                "side": "BUY",
                "qty": 300.0,
                "order_type": "MARKET",
                "limit_price": None,
                "tif": "DAY",
                "strategy": "t",
                "ts_event_us": T0_US,
            }
        ),
        broker.on_quote(stubs.quote(bid=99.9, ask=100.0, ts_event_us=T0_US + 1, ask_size=200.0)),
        broker.on_quote(stubs.quote(bid=99.9, ask=101.0, ts_event_us=T0_US + 2, ask_size=500.0)),
    ]
    for report in reports:
        for f in report.fills:
            key = (f["account"], f["symbol"])
            books.setdefault(key, PositionBook(*key)).apply_fill(f)

    book = books["default", "AAPL"]
    # 200 @ 100.05 and 100 @ 101.0505: avg = (20,010 + 10,105.05) / 300 = 100.38350
    assert sum(f["qty"] for r in reports for f in r.fills) == book.qty == 300.0
    assert book.avg_price == pytest.approx(100.3835)
    assert book.fees == Decimal("1.5")  # 300 * 0.005, split 1.00 + 0.50 over the two fills
