"""The shortcuts a decision and a signal take give what the long way gives.

`size_qty` is `size(...).qty` without the reason; a signal id is BLAKE2b over the
`json.dumps` text of its fields, which `signal_id` now writes out itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from typing import Any

import pytest

from streams.risk import SizingRule, size
from streams.risk.sizing import size_qty
from streams.strategies import signal_id
from tests.kit.stubs import signal


def _rules(rng: random.Random) -> list[SizingRule]:
    lots = (1.0, 0.001, 25.0, 0.1)
    return [
        SizingRule("fixed_qty", qty=rng.uniform(0, 500), lot=rng.choice(lots)),
        SizingRule("fixed_notional", notional=rng.uniform(10, 1e5), lot=rng.choice(lots)),
        SizingRule(
            "vol_target",
            risk_per_trade=rng.uniform(1, 1_000),
            atr_multiple=rng.uniform(0.5, 3),
            lot=rng.choice(lots),
            max_qty=rng.choice((math.inf, 50.0)),
        ),
    ]


def test_size_qty_is_the_quantity_of_size() -> None:
    rng = random.Random(3)
    odd: tuple[Any, ...] = (None, 0.0, -1.0, math.nan, math.inf, True, "185.2")
    for _ in range(2_000):
        price = rng.choice((rng.uniform(0.5, 5_000), *odd))
        atr = rng.choice((rng.uniform(0.01, 9), *odd))
        record = signal(ref_price=price, features={"atr_14": atr})
        for rule in _rules(rng):
            assert repr(size_qty(rule, record)) == repr(size(rule, record).qty)


def _reference_id(symbol: Any, strategy: Any, ts: int, triggers: list[Any]) -> str:
    payload = json.dumps(
        [symbol, strategy, int(ts), list(triggers)], separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()


@pytest.mark.parametrize(
    ("symbol", "strategy", "triggers"),
    [
        ("AAPL", "sma_cross", ["quote:AAPL:1:2"]),
        ("BRK.B", 'a "quoted"\\name', ["news:é€😀", "tab\there\nnewline\x00"]),
        ("Ünï", "κ", []),
        ("AAPL", "x", [1, None]),  # not strings: json.dumps writes them as it always did
    ],
)
def test_a_signal_id_is_the_digest_of_the_json_of_its_fields(
    symbol: Any, strategy: Any, triggers: list[Any]
) -> None:
    for ts in (0, 1_704_205_800_000_123, True):
        assert signal_id(symbol, strategy, ts, triggers) == _reference_id(
            symbol, strategy, ts, triggers
        )
