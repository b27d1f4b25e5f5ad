"""The account at a paper fill: equity sizing at the fill price, the cash cap, the cash book."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from streams.exceptions import ConfigError
from streams.execution.fill_model import FillModel
from streams.execution.paper_book import PaperBook
from streams.risk.config import RiskConfig, RiskLimits, SizingRule, parse_risk_config
from streams.risk.rules import RiskBook
from streams.risk.sizing import SizeResult, size, size_qty
from streams.trading.funds import AccountFunds
from tests.kit import stubs

_SEC = 1_000_000


def _risk(kind: str = "all_in", *, capital: float = 10_000.0, **rule: Any) -> RiskConfig:
    limits = RiskLimits(
        min_confidence=0.0, cooldown_secs=0.0, calendar=None, capital=capital,
        max_order_notional=1e12, max_position_notional=1e12, max_position_qty=1e12,
        max_gross_exposure=1e12, max_net_exposure=1e12, price_band_bps=1e9,
    )  # fmt: skip
    return RiskConfig(mode="paper", limits=limits, sizing={"*": SizingRule(kind=kind, **rule)})  # type: ignore[arg-type]


def _decide(book: RiskBook, config: RiskConfig, side: str, ref: float, n: int) -> dict[str, Any]:
    signal = stubs.signal("ACME", id=f"s{n}", side=side, ref_price=ref, ts_event_us=n * _SEC)
    decision = book.decide(signal, config=config)
    assert decision.order is not None, decision.rejection
    return decision.order


def _open_at(price: float, n: int) -> dict[str, Any]:
    return stubs.quote(
        "ACME", bid=price, ask=price, bid_size=1e9, ask_size=1e9, ts_event_us=n * _SEC + 1
    )


class _Account:
    """A risk book, its paper book and the funds between them, as the core wires them."""

    def __init__(self, config: RiskConfig, model: FillModel | None = None) -> None:
        self.config = config
        self.model = model or FillModel()
        self.risk = RiskBook(config)
        self.book = PaperBook("ACME", self.model)
        self.events: list[dict[str, Any]] = []

    def trade(self, side: str, ref: float, fill_at: float, n: int) -> float:
        """Signal at REF, fill at the next quote FILL_AT; return the filled quantity."""
        order = _decide(self.risk, self.config, side, ref, n)
        funds = AccountFunds(self.risk, self.config, self.model)
        report = self.book.on_order(order, funds)
        report += self.book.on_quote(_open_at(fill_at, n), funds)
        for fill in report.fills:
            self.risk.on_fill(fill)
        for event in report.events:
            self.risk.on_order_event(event)
        self.events += report.events
        return sum(f["qty"] for f in report.fills)


def test_all_in_is_sized_at_the_fill_price_not_the_signal_price() -> None:
    account = _Account(_risk("all_in"))

    bought = account.trade("BUY", ref=100.0, fill_at=110.0, n=1)

    assert bought == 90.0  # 10,000 // 110, not 10,000 // 100 = 100
    assert account.risk.cash == Decimal("100.000000")
    filled = account.events[-1]
    assert filled["status"] == "FILLED"
    assert "sized at the fill price 110" in filled["reason"]


def test_equity_compounds_from_trade_to_trade() -> None:
    account = _Account(_risk("all_in"))
    account.trade("BUY", ref=100.0, fill_at=100.0, n=1)  # 100 shares, cash 0
    sold = account.trade("SELL", ref=120.0, fill_at=125.0, n=2)  # closes at 125: 12,500

    bought = account.trade("BUY", ref=100.0, fill_at=100.0, n=3)

    assert sold == 100.0
    assert account.risk.equity() == pytest.approx(12_500.0)
    assert bought == 125.0


def test_pct_equity_puts_in_its_share_with_the_fees() -> None:
    model = FillModel(commission_bps=10.0, commission_per_share=Decimal("0.01"))
    account = _Account(_risk("pct_equity", pct=0.5), model)

    bought = account.trade("BUY", ref=100.0, fill_at=100.0, n=1)

    assert bought == 49.0  # 5,000 / (100 x 1.001 + 0.01) = 49.94 -> 49 shares
    fee = Decimal("0.01") * 49 + Decimal("0.001") * 4_900
    assert account.risk.cash == Decimal(10_000) - 4_900 - fee


def test_an_order_beyond_the_free_cash_is_reduced_and_says_why() -> None:
    account = _Account(_risk("fixed_qty", qty=150.0))

    bought = account.trade("BUY", ref=50.0, fill_at=80.0, n=1)

    assert bought == 125.0  # 10,000 / 80
    assert account.events[-1]["status"] == "FILLED"
    assert "reduced to 125: free cash 10,000.00" in account.events[-1]["reason"]


def test_nothing_affordable_cancels_the_order() -> None:
    account = _Account(_risk("fixed_qty", qty=10.0, capital=50.0))

    bought = account.trade("BUY", ref=40.0, fill_at=60.0, n=1)

    assert bought == 0.0
    assert account.events[-1]["status"] == "CANCELED"
    assert account.events[-1]["reason"].startswith("insufficient cash")
    assert account.risk.ledgers["ACME"].pending_qty == 0.0, "the cancel freed the pending qty"


def test_closing_a_long_needs_no_cash_and_is_not_resized() -> None:
    account = _Account(_risk("all_in"))
    account.trade("BUY", ref=100.0, fill_at=100.0, n=1)  # all in: no cash left

    sold = account.trade("SELL", ref=90.0, fill_at=80.0, n=2)

    assert sold == 100.0
    assert account.risk.cash == Decimal("8000.000000")


def _reversing(capital: float = 10_000.0) -> _Account:
    """All in, shorts allowed, 0.2% commission: backtesting.py's SmaCross example."""
    config = _risk("all_in", capital=capital)
    config = replace(config, limits=replace(config.limits, allow_short=True))
    return _Account(config, FillModel(commission_bps=20.0))


def test_a_reversal_sizes_from_the_equity_at_the_fill_price_less_the_closing_fees() -> None:
    account = _reversing()
    assert account.trade("BUY", ref=100.0, fill_at=100.0, n=1) == 99.0  # 10,000 / 100.2

    # Long 99 from 100, signal at 110, fill at 120: the long closes at 120 for
    # 10,000 + 99 x 20 - 19.80 - 23.76 (fees in, fees out) = 11,936.44, and the short
    # is that / 120.24 = 99.27 -> 99 (marked at the signal's 110, it would be 91).
    sold = account.trade("SELL", ref=110.0, fill_at=120.0, n=2)

    assert sold == 99.0 + 99.0
    assert account.risk.ledgers["ACME"].qty == -99.0
    assert "equity 11,936.44" in account.events[-1]["reason"]


def test_a_short_reversed_to_a_long_is_not_capped_by_its_stale_mark() -> None:
    account = _reversing()
    account.trade("BUY", ref=100.0, fill_at=100.0, n=1)
    account.trade("SELL", ref=110.0, fill_at=120.0, n=2)  # short 99 from 120

    # Signal at 130, fill at 100: the short closes at 100 for 11,936.44 + 99 x 20 - 19.80
    # = 13,872.88, / 100.2 = 138.45 -> 138 long. Valued at the signal's 130, the short
    # would leave free cash for 79 only.
    bought = account.trade("BUY", ref=130.0, fill_at=100.0, n=3)

    assert bought == 99.0 + 138.0
    assert account.risk.ledgers["ACME"].qty == 138.0
    assert account.risk.equity() == pytest.approx(13_872.88 - 138 * 100 * 0.002)


def test_without_a_capital_orders_fill_as_sent() -> None:
    config = _risk("fixed_qty", qty=1_000.0, capital=float("inf"))
    account = _Account(config)

    bought = account.trade("BUY", ref=100.0, fill_at=100.0, n=1)

    assert bought == 1_000.0
    assert account.risk.cash is None
    assert AccountFunds(account.risk, config, FillModel()).risk.equity() is None


def test_the_cash_account_survives_the_book_s_state() -> None:
    account = _Account(_risk("all_in"))
    account.trade("BUY", ref=100.0, fill_at=104.0, n=1)

    again = RiskBook.from_state(account.risk.state(), account.config)
    again.attach("ACME", account.risk.ledger_state("ACME"))

    assert (again.cash, again.equity(), again.free_cash()) == (
        account.risk.cash,
        account.risk.equity(),
        account.risk.free_cash(),
    )
    assert again.free_cash() == pytest.approx(16.0)  # 10,000 - 96 x 104


def test_equity_sizing_at_the_signal_needs_an_account() -> None:
    rule = SizingRule(kind="pct_equity", pct=0.25)
    signal = stubs.signal(ref_price=50.0)

    sized = SizeResult(50.0, "0.25 x 10000 / 50 = 50 -> 50 (lot 1)")
    assert size(rule, signal, equity=10_000.0) == sized
    refused = SizeResult(None, "pct_equity: no account to size from (set risk.capital)")
    assert size(rule, signal) == refused
    assert size_qty(SizingRule(kind="all_in"), signal, equity=1_000.0) == 20.0


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"risk": {"capital": 0}}, "risk.capital"),
        ({"sizing": {"*": {"kind": "pct_equity", "pct": 1.5}}}, "sizing.*.pct"),
        ({"sizing": {"*": {"kind": "pct_equity", "pct": 0}}}, "sizing.*.pct"),
    ],
)
def test_bad_capital_and_pct_are_config_errors(document: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("*", r"\*")):
        parse_risk_config(document)


def test_a_flip_may_use_what_closing_the_old_side_frees() -> None:
    config = _risk("fixed_qty", qty=100.0, capital=10_000.0)
    config = RiskConfig(
        mode="paper", limits=replace(config.limits, allow_short=True), sizing=config.sizing
    )
    account = _Account(config)
    account.trade("BUY", ref=100.0, fill_at=100.0, n=1)  # 100 long, no cash free

    sold = account.trade("SELL", ref=100.0, fill_at=100.0, n=2)  # to 100 short: 200

    assert sold == 200.0
    assert account.risk.ledgers["ACME"].qty == -100.0
    assert account.risk.free_cash() == pytest.approx(0.0)


@pytest.mark.parametrize("capital", [float("inf"), 1e9])
def test_fixed_notional_is_sized_at_the_fill_price_with_or_without_an_account(
    capital: float,
) -> None:
    account = _Account(_risk("fixed_notional", notional=10_000.0, capital=capital))

    bought = account.trade("BUY", ref=100.0, fill_at=125.0, n=1)

    assert bought == 80.0  # 10,000 / 125, not 10,000 / 100
    assert "sized at the fill price 125: 10,000.00 / 125 -> 80" in account.events[-1]["reason"]
