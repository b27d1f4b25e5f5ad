"""The paper broker's [execution] table: costs, and whether bar volume limits fill size."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.exceptions import ConfigError
from streams.execution.config import parse_fill_model


def test_costs_and_the_displayed_size_switch_are_read() -> None:
    model = parse_fill_model(
        {"execution": {"slippage_bps": 1.0, "commission_min": 1.0, "fill_displayed_size": False}}
    )

    assert model.slippage_bps == 1.0
    assert model.commission_min == Decimal("1.0")
    assert model.fill_displayed_size is False


def test_fills_are_limited_by_displayed_size_unless_told_otherwise() -> None:
    assert parse_fill_model({}).fill_displayed_size is True


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"fill_displayed_size": "no"}, "not true or false"),
        ({"slippage_bps": "x"}, "not a number"),
        ({"slipage_bps": 1.0}, "unknown key"),
    ],
)
def test_bad_execution_keys_are_refused_with_the_key_named(
    table: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_fill_model({"execution": table})
