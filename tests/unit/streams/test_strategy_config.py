"""The TOML strategy config: examples, errors that name the problem, overrides, indicators."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from infra.exceptions import PrimestreamError
from streams.strategies import (
    STRATEGIES,
    ConfigError,
    StrategyConfig,
    ensemble_weights,
    load_config,
    parse_config,
    required_indicators,
    required_sentiment,
)
from streams.strategies.config import EXAMPLES_DIR

TWO_CROSSES = """
[strategies.fast_cross]
kind = "ma_cross"
symbols = ["AAPL", "MSFT"]
params = { fast = 10, slow = 20 }

[strategies.slow_cross]
kind = "ma_cross"
symbols = "*"
params = { fast = 10, slow = 50 }

[strategies.bands]
kind = "bollinger_reversion"
symbols = ["AAPL"]
params = { period = 20, k = 2 }

[strategies.news]
kind = "sentiment_momentum"
symbols = ["MSFT"]
params = { half_life_secs = 900.0 }
"""


def write(tmp_path: Path, text: str, name: str = "strategies.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the shipped examples -------------------------------------------------------------


def test_default_example_runs_every_strategy_kind_and_an_ensemble() -> None:
    config = load_config(EXAMPLES_DIR / "default.toml")

    assert {spec.kind for spec in config.strategies} == set(STRATEGIES)
    assert config.ensemble is not None
    assert set(config.ensemble.weights) == {spec.name for spec in config.strategies}
    assert required_indicators(config, "AAPL")  # every example symbol needs something
    assert required_sentiment(config, "AAPL") == (3600.0,)


def test_sma_cross_example_is_just_the_crossover() -> None:
    config = load_config(EXAMPLES_DIR / "sma_cross.toml")

    assert [(s.name, s.kind, s.symbols) for s in config.strategies] == [
        ("sma_cross", "ma_cross", "*")
    ]
    assert config.ensemble is None
    assert required_indicators(config, "ANY") == {
        "sma_10": ("sma", {"period": 10}),
        "sma_30": ("sma", {"period": 30}),
    }


# --- reading a file -------------------------------------------------------------------


def test_a_config_is_read_with_defaults_filled_in(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO_CROSSES))

    fast = config.strategies[0]
    assert [s.name for s in config.strategies] == ["fast_cross", "slow_cross", "bands", "news"]
    assert dict(fast.params) == {
        "fast": 10,
        "slow": 20,
        "ma": "sma",
        "full_bps": 50.0,
        "confidence": 0.5,
    }
    assert fast.symbols == ("AAPL", "MSFT")
    assert [s.name for s in config.for_symbol("GOOG")] == ["slow_cross"]
    assert fast.strategy is STRATEGIES["ma_cross"]


def test_required_indicators_computes_each_indicator_once(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO_CROSSES))

    # AAPL: fast_cross (10/20), slow_cross (10/50), bands: SMA(10) is shared, k 2 -> "2".
    assert required_indicators(config, "AAPL") == {
        "sma_10": ("sma", {"period": 10}),
        "sma_20": ("sma", {"period": 20}),
        "sma_50": ("sma", {"period": 50}),
        "bbands_20_2": ("bbands", {"period": 20, "k": 2.0}),
    }
    assert list(required_indicators(config, "GOOG")) == ["sma_10", "sma_50"]
    assert required_sentiment(config, "MSFT") == (900.0,)
    assert required_sentiment(config, "AAPL") == ()


def test_config_objects_are_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO_CROSSES))

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.strategies = ()  # type: ignore[misc]  # frozen by design
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.strategies[0].kind = "rsi_reversion"  # type: ignore[misc]  # frozen by design
    with pytest.raises(TypeError):
        config.strategies[0].params["fast"] = 5  # type: ignore[index]  # read-only by design


# --- errors name the file, the strategy, the key and the value -------------------------

CROSS = '[strategies.x]\nkind = "ma_cross"\nsymbols = ["AAPL"]\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[strategies.x\n", ["invalid TOML"]),
        ("", ["defines no [strategies.<name>] tables"]),
        ('[strategy.x]\nkind = "ma_cross"\n', ["strategy = ", "unknown key"]),
        ('[strategies.x]\nkind = "sma"\nsymbols = "*"\n', ["'x'", "kind = 'sma'", "unknown kind"]),
        ('[strategies.x]\nkind = "ma_cross"\n', ["'x'", "missing key symbols"]),
        ('[strategies.x]\nkind = ["ma_cross"]\nsymbols = "*"\n', ["kind = ['ma_cross']"]),
        (CROSS.replace('["AAPL"]', "[]"), ["'x'", "symbols = []", "non-empty list"]),
        (CROSS.replace('["AAPL"]', '["A", "A"]'), ["symbols = ['A', 'A']", "distinct"]),
        (CROSS.replace('["AAPL"]', '"AAPL"'), ["symbols = 'AAPL'"]),
        (CROSS + "period = 3\n", ["'x'", "period = 3", "unknown key"]),
        (CROSS + "params = { fast = 10.5 }\n", ["'x'", "params.fast = 10.5", "integer"]),
        (CROSS + "params = { fast = 0 }\n", ["params.fast = 0", "must be >= 1"]),
        (CROSS + "params = { fast = 40 }\n", ["params.fast = 40", "below slow (30)"]),
        (CROSS + 'params = { ma = "hma" }\n', ["params.ma = 'hma'", "one of sma, ema, wma"]),
        (CROSS + "params = { speed = 1 }\n", ["params.speed = 1", "unknown parameter"]),
        (CROSS + 'enabled = "no"\n', ["enabled = 'no'", "true or false"]),
        (CROSS + "[ensemble]\nweights = { y = 1 }\n", ["'ensemble'", "weights.y = 1", "no strat"]),
        (CROSS + "[ensemble]\nweights = { x = -1 }\n", ["weights.x = -1", ">= 0"]),
        (CROSS + '[ensemble]\nname = "x"\n', ["name = 'x'", "no strategy has"]),
        (CROSS + "[ensemble]\nmin_strength = 1.5\n", ["min_strength = 1.5", "below 1"]),
        (CROSS + "[ensemble]\ncolour = 1\n", ["colour = 1", "unknown key"]),
        ('[strategies."a b"]\nkind = "ma_cross"\nsymbols = "*"\n', ["'a b'", "strategy name"]),
    ],
)
def test_a_bad_config_names_the_problem(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text, name="bad.toml")

    with pytest.raises(ConfigError) as err:
        load_config(path)

    message = str(err.value)
    assert message.startswith(f"{path}: ")
    for part in expected:
        assert part in message
    assert isinstance(err.value, PrimestreamError)
    assert isinstance(err.value, ValueError)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"

    with pytest.raises(ConfigError, match="cannot read") as err:
        load_config(path)

    assert err.value.source == str(path)


def test_a_config_error_carries_its_parts(tmp_path: Path) -> None:
    path = write(tmp_path, CROSS + "params = { slow = 1 }\n")

    with pytest.raises(ConfigError) as err:
        load_config(path)

    assert (err.value.source, err.value.strategy, err.value.key, err.value.value) == (
        str(path),
        "x",
        "params.slow",
        1,
    )
    assert err.value.problem == "must be >= 2"


# --- overrides (from settings) --------------------------------------------------------


def test_overrides_change_params_symbols_and_switch_strategies_off(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_CROSSES)

    config = load_config(
        path,
        overrides={
            "strategies.fast_cross.params.fast": 5,  # a typed value
            "strategies.fast_cross.params.ma": "ema",  # a string that is no TOML value
            "strategies.slow_cross.symbols": '["GOOG"]',  # strings from the environment
            "strategies.bands.enabled": "false",
            "strategies.news.params.threshold": "0.5",
        },
    )

    by_name = {s.name: s for s in config.strategies}
    assert set(by_name) == {"fast_cross", "slow_cross", "news"}
    assert by_name["fast_cross"].params["fast"] == 5
    assert by_name["fast_cross"].params["ma"] == "ema"
    assert by_name["slow_cross"].symbols == ("GOOG",)
    assert by_name["news"].params["threshold"] == 0.5
    assert list(required_indicators(config, "AAPL")) == ["ema_5", "ema_20"]


def test_an_override_can_add_a_strategy_and_an_ensemble(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, CROSS),
        overrides={
            "strategies.rsi.kind": "rsi_reversion",
            "strategies.rsi.symbols": "*",
            "strategies.rsi.params.period": "7",
            "ensemble.min_strength": 0.2,
        },
    )

    assert [(s.name, s.kind) for s in config.strategies] == [
        ("x", "ma_cross"),
        ("rsi", "rsi_reversion"),
    ]
    assert config.ensemble is not None
    assert config.ensemble.min_strength == 0.2
    assert ensemble_weights(config, "AAPL") == {"x": 1.0, "rsi": 1.0}


def test_a_bad_override_names_the_file_and_the_override(tmp_path: Path) -> None:
    path = write(tmp_path, CROSS)

    with pytest.raises(ConfigError) as through_value:
        load_config(path, overrides={"strategies.x.kind.name": "y"})
    with pytest.raises(ConfigError) as bad_value:
        load_config(path, overrides={"strategies.x.params.fast": "ten"})

    assert str(through_value.value).startswith(f"{path}: strategies.x.kind.name = 'y'")
    assert "strategies.x.kind is not a table" in str(through_value.value)
    assert str(bad_value.value) == f"{path}: strategy 'x': params.fast = 'ten': must be a number"


def test_overrides_leave_the_parsed_document_alone() -> None:
    document = {"strategies": {"x": {"kind": "ma_cross", "symbols": "*", "params": {"fast": 3}}}}

    parse_config(document, overrides={"strategies.x.params.fast": 4})

    assert document["strategies"]["x"]["params"] == {"fast": 3}


# --- the ensemble's members -----------------------------------------------------------


def test_ensemble_members_are_the_weighted_strategies_running_on_the_symbol(
    tmp_path: Path,
) -> None:
    text = TWO_CROSSES + "[ensemble]\nweights = { fast_cross = 2.0, bands = 0.0, news = 1 }\n"
    config = load_config(write(tmp_path, text))

    assert ensemble_weights(config, "AAPL") == {"fast_cross": 2.0}  # bands has weight 0
    assert ensemble_weights(config, "MSFT") == {"fast_cross": 2.0, "news": 1.0}
    assert ensemble_weights(config, "GOOG") == {}  # slow_cross is not weighted: no member
    off = load_config(
        write(tmp_path, text, "off.toml"), overrides={"strategies.fast_cross.enabled": False}
    )
    assert ensemble_weights(off, "MSFT") == {"news": 1.0}  # a disabled member does not vote


def test_without_an_ensemble_table_there_is_no_ensemble(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO_CROSSES))

    assert config.ensemble is None
    assert ensemble_weights(config, "AAPL") == {}
    assert isinstance(config, StrategyConfig)
