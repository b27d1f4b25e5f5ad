"""The decayed news sentiment: half-life arithmetic, out-of-order news, state round trip."""

from __future__ import annotations

import json
import math

import pytest

from streams.exceptions import InvalidInputError
from streams.sentiment import DecayedSentiment, sentiment_key
from tests.kit.stubs import T0_US

H_US = 3_600_000_000  # the half-life used below: one hour, in µs


def sentiment(*items: tuple[float, int]) -> DecayedSentiment:
    s = DecayedSentiment(half_life_secs=3600)
    for score, ts_us in items:
        s.update(score, ts_us)
    return s


def test_no_news_is_neutral() -> None:
    s = DecayedSentiment(half_life_secs=60)

    assert s.value_at(T0_US) == 0.0
    assert s.weight_at(T0_US) == 0.0
    assert s.ts_us is None


@pytest.mark.parametrize(
    ("elapsed_us", "expected"),
    [
        (0, 0.8),  # fresh: the score itself
        (H_US, 0.4),  # one half-life: 0.8 / 2
        (2 * H_US, 0.2),  # two: 0.8 / 4
        (H_US // 2, 0.8 / math.sqrt(2)),  # half a half-life: 0.8 * 2^-0.5
        (10 * H_US, 0.8 / 1024),  # fades toward 0 when no news follows
    ],
)
def test_one_item_halves_every_half_life(elapsed_us: int, expected: float) -> None:
    s = sentiment((0.8, T0_US))

    assert s.value_at(T0_US + elapsed_us) == pytest.approx(expected)


def test_a_burst_is_normalized_to_the_weighted_mean() -> None:
    # +0.8 and +0.4 at once: weights 1 + 1 = 2 > 1, value = (0.8 + 0.4) / 2 = 0.6.
    # One half-life later: sum 0.6, weight 1: still 0.6. Two: sum 0.3, weight 0.5 <= 1: 0.3.
    s = sentiment((0.8, T0_US), (0.4, T0_US))

    assert s.value_at(T0_US) == pytest.approx(0.6)
    assert s.value_at(T0_US + H_US) == pytest.approx(0.6)
    assert s.value_at(T0_US + 2 * H_US) == pytest.approx(0.3)
    assert s.weight_at(T0_US + 2 * H_US) == pytest.approx(0.5)


def test_items_decay_by_their_own_age() -> None:
    # +1.0 at 0h and -0.5 at 1h, read at 2h: 1.0 * 1/4 - 0.5 * 1/2 = 0 (weights 0.25 + 0.5).
    s = sentiment((1.0, T0_US), (-0.5, T0_US + H_US))

    assert s.value_at(T0_US + 2 * H_US) == pytest.approx(0.0)
    assert s.weight_at(T0_US + 2 * H_US) == pytest.approx(0.75)


def test_the_value_stays_within_plus_minus_one() -> None:
    s = sentiment(*((1.0, T0_US + i) for i in range(100)))

    assert s.value_at(T0_US + 100) == pytest.approx(1.0)
    assert -1.0 <= s.value_at(T0_US + 100) <= 1.0


def test_out_of_order_news_is_decayed_forward_like_in_order_news() -> None:
    # In order: -0.4 at 0h, +0.8 at 1h. Out of order: +0.8 at 1h arrives first.
    # Either way, at 1h: sum = 0.8 - 0.4 * 1/2 = 0.6, weight = 1 + 1/2 = 1.5, value 0.4.
    in_order = sentiment((-0.4, T0_US), (0.8, T0_US + H_US))
    late = sentiment((0.8, T0_US + H_US), (-0.4, T0_US))

    assert late.ts_us == T0_US + H_US  # a late item does not move the state's time back
    assert late.value_at(T0_US + H_US) == pytest.approx(0.4)
    for t in (T0_US + H_US, T0_US + 3 * H_US):
        assert late.value_at(t) == pytest.approx(in_order.value_at(t))
    assert late.state() == pytest.approx(in_order.state())


def test_a_query_before_the_state_time_answers_with_the_value_at_the_state_time() -> None:
    # Decaying backward would grow the weights and count news before it was published.
    s = sentiment((0.8, T0_US + H_US))

    assert s.value_at(T0_US) == pytest.approx(0.8)


def test_state_round_trips_through_json() -> None:
    s = sentiment((0.8, T0_US), (-0.3, T0_US + H_US), (0.5, T0_US + H_US // 2))

    restored = DecayedSentiment.from_state(json.loads(json.dumps(s.state())))
    restored.update(0.2, T0_US + 2 * H_US)
    s.update(0.2, T0_US + 2 * H_US)

    assert restored.half_life_secs == 3600.0
    assert restored.ts_us == s.ts_us
    assert restored.value_at(T0_US + 3 * H_US) == s.value_at(T0_US + 3 * H_US)
    assert DecayedSentiment.from_state(DecayedSentiment(60).state()).value_at(T0_US) == 0.0


@pytest.mark.parametrize("score", [math.nan, math.inf, 1.5, -1.01])
def test_a_score_outside_minus_one_to_one_is_refused(score: float) -> None:
    with pytest.raises(InvalidInputError, match="score"):
        sentiment().update(score, T0_US)


@pytest.mark.parametrize("half_life_secs", [0.0, -1.0, math.nan, math.inf])
def test_the_half_life_must_be_positive(half_life_secs: float) -> None:
    with pytest.raises(InvalidInputError, match="half_life_secs"):
        DecayedSentiment(half_life_secs)


@pytest.mark.parametrize(
    "state",
    [
        {"ts_us": None, "weighted_sum": 0.0, "weight": 0.0},
        {"half_life_secs": 60.0, "ts_us": "x", "weighted_sum": 0.0, "weight": 0.0},
        {"half_life_secs": 60.0, "ts_us": 1, "weighted_sum": math.nan, "weight": 1.0},
        {"half_life_secs": 60.0, "ts_us": 1, "weighted_sum": 2.0, "weight": 1.0},
        {"half_life_secs": 0.0, "ts_us": 1, "weighted_sum": 0.0, "weight": 1.0},
        {"half_life_secs": 60.0, "ts_us": 1, "weighted_sum": 0.0, "weight": -1.0},
    ],
)
def test_a_corrupt_state_is_refused(state: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        DecayedSentiment.from_state(state)


def test_sentiment_key_names_the_half_life() -> None:
    assert sentiment_key(3600) == "sentiment_3600"
    assert sentiment_key(900.5) == "sentiment_900p5"
