"""The paper desk as tests set it up: its TOML, the scripted quote path, and the offline desk.

Integration tests and benchmarks write `desk_toml(...)` for a worker; unit tests build
the same desk in-process with `offline_desk(...)` and feed it `scripted_quotes(...)`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from infra.stage_tracing import StageTracer
from producers.market.sample import SampleSource
from schemas.codec import deserializer_for, serializer_for
from streams.context import TradingConfig
from streams.engine import EngineSettings
from streams.execution.config import load_fill_model
from streams.execution.fill_model import FillModel
from streams.risk.config import RiskConfig, RiskLimits, SizingRule, load_risk_config
from streams.strategies import StrategyConfig, load_config, parse_config
from streams.trading import PaperVenue, TradingCore
from tests.kit import stubs

__all__ = [
    "CROSS_2_3",
    "PAPER_FEES",
    "PAPER_LIMITS",
    "SCRIPTED_MIDS",
    "RawRecord",
    "avro_decoders",
    "desk_toml",
    "ma_cross_toml",
    "offline_desk",
    "paper_risk",
    "scripted_quotes",
]

# Mids under a 2/3 SMA crossover: BUY on quote 3 (mid 11), SELL on quote 5 (mid 9); the
# hand-worked numbers are in tests/integration/test_trading.py.
SCRIPTED_MIDS = (10, 10, 10, 11, 12, 9, 8, 7)

_NO_LIMITS = """\
max_order_notional = inf
max_position_qty = inf
max_position_notional = inf
max_gross_exposure = inf
max_net_exposure = inf
max_daily_loss = inf
"""


def ma_cross_toml(name: str = "cross", *, fast: int = 2, slow: int = 3, ma: str = "sma") -> str:
    """Return one `[strategies.NAME]` ma_cross table, on every symbol."""
    return (
        f"[strategies.{name}]\n"
        'kind = "ma_cross"\n'
        'symbols = "*"\n'
        f'params = {{ fast = {fast}, slow = {slow}, ma = "{ma}" }}\n'
    )


def desk_toml(
    strategies: str | None = None,
    *,
    mode: str = "paper",
    qty: float = 100.0,
    unlimited: bool = False,
    slippage_bps: float | None = 0.0,
) -> str:
    """Return a trading TOML: STRATEGIES (default `ma_cross_toml()`), then risk and sizing.

    Risk trades every signal (no confidence floor, no cooldown, shorts allowed, no
    calendar); UNLIMITED also lifts every notional, position and loss limit. Sizing is
    QTY shares a signal. SLIPPAGE_BPS None leaves out `[execution]` (the worker's
    defaults); otherwise it comes with a commission of 0.01 a share, 1.00 at least.
    """
    risk = (
        "[risk]\n"
        f'mode = "{mode}"\n'
        "min_confidence = 0.0\n"
        "cooldown_secs = 0.0\n"
        "allow_short = true\n"
        'calendar = "none"\n'
    ) + (_NO_LIMITS if unlimited else "")
    sizing = f'[sizing."*"]\nkind = "fixed_qty"\nqty = {qty!r}\n'
    sections = [strategies if strategies is not None else ma_cross_toml(), risk, sizing]
    if slippage_bps is not None:
        sections.append(
            "[execution]\n"
            f"slippage_bps = {slippage_bps!r}\n"
            "commission_per_share = 0.01\n"
            "commission_min = 1.0\n"
        )
    return "\n".join(sections)


CROSS_2_3 = parse_config(
    {
        "strategies": {
            "cross": {"kind": "ma_cross", "symbols": "*", "params": {"fast": 2, "slow": 3}}
        }
    }
)
PAPER_LIMITS = RiskLimits(min_confidence=0.0, cooldown_secs=0.0, allow_short=True, calendar=None)
PAPER_FEES = FillModel(commission_per_share=Decimal("0.01"), commission_min=Decimal("1"))


def paper_risk(limits: RiskLimits = PAPER_LIMITS) -> RiskConfig:
    """Return paper-mode risk under LIMITS, sizing 100 shares a signal on every symbol."""
    return RiskConfig(
        mode="paper", limits=limits, sizing={"*": SizingRule(kind="fixed_qty", qty=100.0)}
    )


def offline_desk(
    decoders: Mapping[str, tuple[str, Any]],
    *,
    strategies: StrategyConfig = CROSS_2_3,
    risk: RiskConfig | None = None,
    fill_model: FillModel = PAPER_FEES,
    partitions: int = 1,
    tracers: Mapping[str, StageTracer] | None = None,
) -> TradingCore:
    """Build the trading core in paper mode over DECODERS (input topic -> record name, decoder).

    RISK defaults to `paper_risk()`; no TRACERS records no spans.
    """
    risk = risk if risk is not None else paper_risk()
    return TradingCore(
        strategies,
        EngineSettings(),
        risk,
        partitions=partitions,
        decoders=decoders,
        venue=PaperVenue(fill_model),
        tracers=tracers if tracers is not None else {},
    )


def toml_core(toml: Path, overrides: Mapping[str, str], topic: str, record: str) -> TradingCore:
    """Build the trading core a worker runs for the strategy TOML (with OVERRIDES) over TOPIC.

    Paper mode gets the TOML's paper venue; other modes none, as in the worker.
    """
    trading = TradingConfig(load_risk_config(toml, overrides), load_fill_model(toml, overrides))
    return TradingCore(
        load_config(toml, overrides),
        EngineSettings(),
        trading.risk,
        partitions=1,
        decoders=avro_decoders(topic, record),
        venue=PaperVenue(trading.fill_model) if trading.risk.mode == "paper" else None,
    )


def goog_bars() -> Iterator[tuple[dict[str, Any], RawRecord]]:
    """Yield GOOG's sample bars, each with its registry-free Avro bytes as consumed."""
    encode = serializer_for("Bar", registry=None)
    for i, row in enumerate(SampleSource.named("GOOG", clock=lambda: 0).records()):
        bar = row.record
        assert bar is not None
        yield bar, RawRecord(encode(bar), i, key=b"GOOG", topic="market.bars")


def avro_decoders(topic: str, record: str = "Quote") -> dict[str, tuple[str, Any]]:
    """Map TOPIC to RECORD's registry-free decoder, as `offline_desk` takes them."""
    return {topic: (record, deserializer_for(record, registry=None))}


@dataclass(frozen=True)
class RawRecord:
    """A consumed Kafka message as the desk reads it, without a broker."""

    value: bytes
    offset: int
    key: bytes = b"ACME"
    topic: str = "market.quotes"
    partition: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def scripted_quotes(
    topic: str = "market.quotes", mids: tuple[int, ...] = SCRIPTED_MIDS
) -> list[RawRecord]:
    """Encode ACME quotes at MIDS, one a second from T0, spread 0.02, 1,000 shown a side."""
    encode = serializer_for("Quote", registry=None)
    return [
        RawRecord(
            encode(
                stubs.quote(
                    "ACME",
                    bid=mid - 0.01,
                    ask=mid + 0.01,
                    bid_size=1000.0,
                    ask_size=1000.0,
                    ts_event_us=stubs.T0_US + i * 1_000_000,
                    seq=i,
                )
            ),
            i,
            topic=topic,
        )
        for i, mid in enumerate(mids)
    ]
