"""The risk gate's TOML tables: the shipped example, defaults, overrides, one-line errors."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from infra.exceptions import PrimestreamError
from streams.risk import (
    ConfigError,
    RiskConfig,
    RiskLimits,
    SizingRule,
    load_risk_config,
    parse_risk_config,
)
from streams.strategies import load_config, parse_config
from streams.strategies.config import EXAMPLES_DIR

DEFAULT = EXAMPLES_DIR / "default.toml"
STRATEGY = '[strategies.x]\nkind = "ma_cross"\nsymbols = "*"\n'


def test_the_shipped_default_configures_the_risk_gate() -> None:
    config = load_risk_config(DEFAULT)

    assert config.mode == "alert-only"
    assert (config.order_type, config.tif, config.account) == ("MARKET", "DAY", "default")
    assert config.limits.max_order_notional == 50_000.0
    assert config.limits.allow_short is False
    assert config.limits.calendar == "XNYS"
    assert config.limits.calendar_symbols == ("AAPL", "MSFT", "GOOG")
    assert config.sizing_for("sma_cross") == SizingRule("fixed_qty", qty=50.0, max_qty=500.0)
    assert config.sizing_for("ema_cross") == SizingRule("fixed_notional", notional=10_000.0)


def test_the_strategies_parser_still_reads_the_default_with_risk_tables() -> None:
    assert len(load_config(DEFAULT).strategies) == 9


def test_a_document_without_risk_tables_gets_the_defaults() -> None:
    config = parse_risk_config(tomllib.loads(STRATEGY))

    assert config == RiskConfig()
    assert config.limits == RiskLimits()
    assert config.sizing_for("x") == SizingRule()


def test_overrides_are_dotted_keys_and_strings_read_as_toml() -> None:
    overrides = {
        "risk.max_order_notional": "25000",
        "risk.mode": "paper",
        "risk.calendar": "none",
        "risk.allow_short": "true",
        "risk.calendar_symbols": '["AAPL"]',
        "sizing.*.notional": 5000,
        "sizing.sma_cross.max_qty": "inf",
    }

    config = load_risk_config(DEFAULT, overrides)

    assert config.mode == "paper"
    assert config.limits.max_order_notional == 25_000.0
    assert config.limits.calendar is None
    assert config.limits.allow_short is True
    assert config.limits.calendar_symbols == ("AAPL",)
    assert config.sizing_for("anything").notional == 5000.0
    assert config.sizing_for("sma_cross").max_qty == math.inf


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[risk]\ncolour = 1\n", "risk.colour = 1: unknown key (expected one of: mode,"),
        (
            "[risk]\nmax_order_notional = -1\n",
            "risk.max_order_notional = -1: must be a number >= 0",
        ),
        (
            "[risk]\nmax_order_notional = nan\n",
            "risk.max_order_notional = nan: must be a number >= 0",
        ),
        ("[risk]\nmin_confidence = 1.5\n", "risk.min_confidence = 1.5: must be between 0 and 1"),
        ('[risk]\nmode = "yolo"\n', "risk.mode = 'yolo': must be one of: alert-only, paper, live"),
        (
            '[risk]\ncalendar = "XXXX"\n',
            "risk.calendar = 'XXXX': must be an exchange-calendars code",
        ),
        ('[risk]\nallow_short = "yes"\n', "risk.allow_short = 'yes': must be true or false"),
        ("[risk]\ndedupe_ids = 0\n", "risk.dedupe_ids = 0: must be an integer >= 1"),
        ('[risk]\ncalendar_symbols = ["A", "A"]\n', "risk.calendar_symbols = ['A', 'A']: must be"),
        ("risk = 3\n", "risk = 3: must be a table"),
        ('[sizing."*"]\nsize = 3\n', "sizing.*.size = 3: unknown key (expected one of: kind,"),
        ('[sizing."*"]\nlot = 0\n', "sizing.*.lot = 0: must be a number > 0"),
        ('[sizing."*"]\nkind = "kelly"\n', "sizing.*.kind = 'kelly': must be one of: fixed_qty,"),
        ("[sizing.y]\nqty = 5\n", "sizing.y = {'qty': 5}: no strategy has this name (known: *,"),
    ],
)
def test_errors_name_the_file_the_key_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "risk.toml"
    path.write_text(text + STRATEGY)  # top-level keys go before the first table

    with pytest.raises(ConfigError) as caught:
        load_risk_config(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: {expected}")
    assert "\n" not in message
    assert isinstance(caught.value, PrimestreamError)
    assert isinstance(caught.value, ValueError)


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read"):
        load_risk_config(tmp_path / "missing.toml")


def test_sizing_names_are_free_without_strategies() -> None:
    # A risk-only document knows no strategy names, so it cannot check them.
    config = parse_risk_config({"sizing": {"any_name": {"qty": 5}}}, source="risk-only")

    assert config.sizing_for("any_name").qty == 5.0


def test_strategies_parser_ignores_the_risk_tables_but_not_other_keys() -> None:
    document = tomllib.loads(STRATEGY + '[risk]\nmode = "paper"\n[sizing.x]\nqty = 1\n')

    assert [spec.name for spec in parse_config(document).strategies] == ["x"]
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({**document, "riskk": {}})
