"""The risk gate of one partition: signals in, an order or a rejection (or a kill) out.

A `RiskBook` holds the risk state of ONE partition's symbols (topics are co-partitioned by
symbol, so a symbol's signals, fills and order events all reach the same book). Per symbol
(`SymbolLedger`): position and average cost from fills, pending quantity of accepted
orders still open, last price, last accept time, recent signal ids, realized P&L today.
Per book: the kill switch and its reason, the trading day, realized P&L today.

**Budget.** Portfolio-wide limits (gross and net exposure, daily loss) would need every
partition's positions. Instead each book enforces its share, `limit x budget` with
`budget = 1 / partitions` by default: a decision then depends only on its partition's own
input, in its own order, so the gate needs no coordination between workers (no global
table, no race between two workers each seeing room under a shared limit) and a replay
decides exactly as live did. The price is conservatism: a partition cannot borrow another
partition's unused room. A kill (daily loss of one partition) is broadcast by the caller to
every partition (`kill`), so one book's loss stops them all.

**P&L.** Realized P&L today is net: gross realized P&L (average cost) minus the fees of
every fill of the day, opening fills included. It is compared with
`max_daily_loss x budget`; exceeding it trips the kill switch. The day rolls over when an
event's time reaches the next local date of the calendar's exchange (UTC for no calendar):
realized P&L resets, the kill switch does not (only `reset()` clears it). Days only roll
forward: a late event of an earlier day counts toward the current one.

**Alert-only mode** sends no order, so nothing would ever fill or end one: decisions there
do not count as pending (each alert is sized against the actual position).

**Scale.** A decision costs the same with 5 symbols or 5,000: the book keeps its exposure
totals (Σ |committed| x mark and Σ committed x mark) as exact Decimals, updated by each
symbol's change, rather than summing every ledger per decision; and each ledger is its own
table key (`ledger_state`), loaded when its symbol is first met (`attach`), so a commit
writes the symbols that changed, not the whole partition. The day rolls over each ledger
when it is next touched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from streams.exceptions import InvalidInputError
from streams.positions.cost_basis import exact
from streams.risk.candidate import Candidate, SignalView
from streams.risk.checks import RULES, evaluate, exceeds
from streams.risk.config import RiskConfig
from streams.risk.ledger import SymbolLedger
from streams.risk.session import trading_day

__all__ = ["RULES", "Decision", "RiskBook", "order_id"]

_STATE_VERSION: Final = 2  # 1: the ledgers inside the book's state (still read)
_ZERO: Final = Decimal(0)
_ENDED: Final = ("FILLED", "CANCELED", "REJECTED")


def order_id(signal_id: str) -> str:
    """Return the client order id of SIGNAL_ID's order: a retry or replay gets the same id."""
    return f"o-{signal_id}"


@dataclass(init=False, slots=True)
class Decision:
    """What the gate decided for a signal: an Order record or a Rejection record, and a kill.

    `kill` is the reason when this decision tripped the kill switch (the caller broadcasts it).
    Fields are `Final`; the `__init__` is written out so that it compiles (see
    `streams.strategies.base.StrategyView`).
    """

    order: Final[dict[str, Any] | None]
    rejection: Final[dict[str, Any] | None]
    kill: Final[str | None]

    def __init__(
        self,
        order: dict[str, Any] | None = None,
        rejection: dict[str, Any] | None = None,
        kill: str | None = None,
    ) -> None:
        self.order = order
        self.rejection = rejection
        self.kill = kill


class RiskBook:
    """The risk state of one partition and the decisions over it (see the module doc)."""

    def __init__(self, config: RiskConfig | None = None, budget: float = 1.0) -> None:
        self.config = config if config is not None else RiskConfig()
        self.budget = _checked_budget(budget)
        self.ledgers: dict[str, SymbolLedger] = {}
        self.kill_reason: str | None = None
        self.day: str | None = None
        self.realized_today = 0.0
        self.gross = _ZERO  # Σ |committed| x mark over every symbol's ledger, exact
        self.net = _ZERO  # Σ committed x mark
        self.held_gross = _ZERO  # Σ |position| x mark
        self.held_net = _ZERO  # Σ position x mark
        # The account's cash (risk.capital x budget at the start; None: no cash account):
        # what fills paid and received, fees included.
        self.cash: Decimal | None = None

    @property
    def killed(self) -> bool:
        """Return True while the kill switch is on."""
        return self.kill_reason is not None

    def kill(self, reason: str) -> None:
        """Turn the kill switch on (keeping the first reason): every decision is refused."""
        if self.kill_reason is None:
            self.kill_reason = reason

    def reset(self) -> None:
        """Turn the kill switch off: the explicit reset command, the only way to clear it."""
        self.kill_reason = None

    def decide(
        self, signal: Mapping[str, Any], *, config: RiskConfig, budget: float = 1.0
    ) -> Decision:
        """Return the decision on SIGNAL (a Signal record) under CONFIG and BUDGET.

        The first refusing rule of `RULES` wins; an accepted order counts as pending (not in
        alert-only mode) and starts the symbol's cooldown. CONFIG and BUDGET are kept for
        `on_fill`. Raise InvalidInputError for a signal no rule can read (route it to the
        dead letters); the book is then unchanged.
        """
        view = SignalView.of(signal)
        self.config, self.budget = config, _checked_budget(budget)
        self.open_account()
        self._roll_day(view.ts_event_us)
        ledger = self._ledger(view.symbol)
        others = (float(self.gross - ledger.gross_part), float(self.net - ledger.net_part))
        candidate = Candidate(
            view, config, self.budget, ledger, others,
            kill_reason=self.kill_reason, realized_today=self.realized_today,
            equity=self.equity(),
        )  # fmt: skip
        refused = evaluate(candidate)
        if not ledger.seen_signal(view.id):  # a duplicate's price is an old one
            ledger.remember_signal(view.id, config.limits.dedupe_ids)
            ledger.last_price = view.ref_price
        if refused is None:
            order = self._accept(candidate)
            self._reprice(ledger)
            return Decision(order=order)
        self._reprice(ledger)
        rule, refusal = refused
        rejection = {
            "signal_id": view.id,
            "symbol": view.symbol,
            "strategy": view.strategy,
            "rule": rule,
            "reason": refusal.reason,
            "values": dict(refusal.values),
            "ts_event_us": view.ts_event_us,
        }
        kill = None
        if rule == "daily_loss":
            kill = f"daily loss: {refusal.reason}"
            self.kill(kill)
        return Decision(rejection=rejection, kill=kill)

    def _accept(self, c: Candidate) -> dict[str, Any]:
        oid = order_id(c.signal.id)
        c.ledger.last_accept_us = c.signal.ts_event_us
        if self.config.mode != "alert-only":
            c.ledger.add_order(oid, c.order_qty)
        return {
            "id": oid,
            "signal_id": c.signal.id,
            "symbol": c.signal.symbol,
            "account": self.config.account,
            "side": "BUY" if c.order_qty > 0 else "SELL",
            "qty": abs(c.order_qty),
            "order_type": self.config.order_type,
            "limit_price": c.limit_price,
            "tif": self.config.tif,
            "strategy": c.signal.strategy,
            "ts_event_us": c.signal.ts_event_us,
        }

    def on_fill(
        self,
        fill: Mapping[str, Any],
        *,
        config: RiskConfig | None = None,
        budget: float | None = None,
    ) -> str | None:
        """Apply FILL (a Fill record) to its symbol; return the kill reason if it trips one.

        Updates the position (average cost), today's net realized P&L, the order's pending
        quantity and the last price; a fill id already applied changes nothing. CONFIG and
        BUDGET default to the last ones `decide` used (or the constructor's). Returns a
        reason only when this fill turns the kill switch on (broadcast it).
        """
        symbol, qty, price, fee, ts = _fill_fields(fill)
        if config is not None:
            self.config = config
        if budget is not None:
            self.budget = _checked_budget(budget)
        self._roll_day(ts)
        signed = qty if fill["side"] == "BUY" else -qty
        ledger = self._ledger(symbol)
        bound = self.config.limits.dedupe_ids
        realized = ledger.apply_fill(
            str(fill["id"]), str(fill["order_id"]), signed, price, fee, bound
        )
        if realized is None:
            return None
        self.open_account()
        if self.cash is not None:
            self.cash -= exact(signed) * exact(price) + exact(fee)
        self._reprice(ledger)
        ledger.realized_today = ledger.today(self.day) + realized
        ledger.day = self.day
        self.realized_today += realized
        loss, limit = -self.realized_today, self.config.limits.max_daily_loss * self.budget
        if self.killed or not exceeds(loss, limit):
            return None
        reason = f"daily loss: realized loss today {loss:,.2f} exceeds the limit {limit:,.2f}"
        self.kill(reason)
        return reason

    def _ledger(self, symbol: str) -> SymbolLedger:
        """Return SYMBOL's ledger, a new one the first time (made only then: it is per call)."""
        ledger = self.ledgers.get(symbol)
        if ledger is None:
            ledger = self.ledgers[symbol] = SymbolLedger()
        return ledger

    def on_order_event(self, event: Mapping[str, Any]) -> None:
        """Release what an ended order (FILLED, CANCELED, REJECTED OrderEvent) will not fill."""
        if event.get("status") not in _ENDED:
            return
        ledger = self.ledgers.get(str(event.get("symbol")))
        if ledger is not None:
            ledger.end_order(str(event["order_id"]), float(event["filled_qty"]))
            self._reprice(ledger)

    def _reprice(self, ledger: SymbolLedger) -> None:
        """Move LEDGER's share of the exposure and held totals to what it holds now."""
        gross, net = ledger.exposure_parts()
        if gross != ledger.gross_part or net != ledger.net_part:
            self.gross += gross - ledger.gross_part
            self.net += net - ledger.net_part
            ledger.gross_part, ledger.net_part = gross, net
        if self.cash is None:
            return  # no account: nothing reads the held totals
        held_gross, held_net = ledger.held_parts()
        if held_gross != ledger.held_gross_part or held_net != ledger.held_net_part:
            self.held_gross += held_gross - ledger.held_gross_part
            self.held_net += held_net - ledger.held_net_part
            ledger.held_gross_part, ledger.held_net_part = held_gross, held_net

    def open_account(self) -> None:
        """Start the cash account at risk.capital x budget, once (no-op without a capital)."""
        capital = self.config.limits.capital
        if self.cash is None and math.isfinite(capital):
            self.cash = Decimal(repr(capital)) * Decimal(repr(self.budget))

    def equity(self) -> float | None:
        """Return cash plus positions at their last prices; None without a cash account."""
        return None if self.cash is None else float(self.cash + self.held_net)

    def free_cash(self) -> float | None:
        """Return equity minus the value of every position (margin 1: shorts hold it too)."""
        return None if self.cash is None else float(self.cash + self.held_net - self.held_gross)

    def _roll_day(self, ts_us: int) -> None:
        day = trading_day(self.config.limits.calendar, ts_us)
        if self.day is None or day > self.day:  # ISO dates sort as strings
            self.day = day
            self.realized_today = 0.0  # each ledger's rolls when it is next touched

    def exposure(self) -> tuple[float, float]:
        """Return (gross, net) exposure: sum of |committed qty| (resp. signed) x mark."""
        return float(self.gross), float(self.net)

    def attach(self, symbol: str, state: Mapping[str, Any]) -> SymbolLedger:
        """Take SYMBOL's ledger from its table STATE (`ledger_state`); its exposure is counted.

        The book's totals already hold the ledger's share: they were committed together.
        """
        ledger = self.ledgers[symbol] = SymbolLedger.from_state(dict(state))
        return ledger

    def ledger_state(self, symbol: str) -> dict[str, Any]:
        """Return SYMBOL's ledger as a JSON-able dict, its own table key."""
        return self.ledgers[symbol].state()

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-able view for people (GET /risk): symbols, exposure, kill switch."""
        gross, net = self.exposure()
        symbols = {
            symbol: {
                "position": led.qty,
                "avg_price": led.avg_price,
                "pending": led.pending_qty,
                "last_price": led.last_price,
                "realized_today": led.today(self.day),
            }
            for symbol, led in sorted(self.ledgers.items())
        }
        return {
            "killed": self.killed,
            "kill_reason": self.kill_reason,
            "trading_day": self.day,
            "realized_today": self.realized_today,
            "gross_exposure": gross,
            "net_exposure": net,
            "budget": self.budget,
            "mode": self.config.mode,
            "symbols": symbols,
        }

    def state(self) -> dict[str, Any]:
        """Return the book's own state as a JSON-able dict (ledgers apart); no config."""
        return {
            "version": _STATE_VERSION,
            "kill_reason": self.kill_reason,
            "day": self.day,
            "realized_today": self.realized_today,
            "exposure": [str(self.gross), str(self.net)],
            "held": [str(self.held_gross), str(self.held_net)],
            "cash": None if self.cash is None else str(self.cash),
        }

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], config: RiskConfig | None = None, budget: float = 1.0
    ) -> RiskBook:
        """Return the book STATE (from `state`) describes, deciding under CONFIG and BUDGET.

        Its ledgers come back one by one through `attach` (a version-1 state held them
        inside: they are taken from there, and the totals worked out from them).
        """
        version = state.get("version")
        if version not in (1, _STATE_VERSION):
            raise InvalidInputError(f"risk book state version {version!r} unknown")
        book = cls(config, budget)
        book.kill_reason = state["kill_reason"]
        book.day = state["day"]
        book.realized_today = float(state["realized_today"])
        if version == 1:
            for symbol, led in state["ledgers"].items():
                ledger = book.ledgers[symbol] = SymbolLedger.from_state(led)
                ledger.day = book.day
                book._reprice(ledger)
        else:
            gross, net = state["exposure"]
            book.gross, book.net = Decimal(gross), Decimal(net)
        held_gross, held_net = state.get("held", ["0", "0"])
        book.held_gross, book.held_net = Decimal(held_gross), Decimal(held_net)
        cash = state.get("cash")
        book.cash = None if cash is None else Decimal(cash)
        return book


def _checked_budget(budget: float) -> float:
    if not (math.isfinite(budget) and 0.0 < budget <= 1.0):
        raise ValueError(f"budget must be in (0, 1], not {budget!r}")
    return float(budget)


def _fill_fields(fill: Mapping[str, Any]) -> tuple[str, float, float, float, int]:
    """Return a Fill's symbol, qty, price, fee, ts; raise InvalidInputError if unusable."""
    try:
        symbol, side, ts = str(fill["symbol"]), fill["side"], fill["ts_event_us"]
        qty, price, fee = float(fill["qty"]), float(fill["price"]), float(fill["fee"])
        str(fill["id"]), str(fill["order_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"fill {fill.get('id')!r}: unusable: {exc!r}") from exc
    usable = (
        side in ("BUY", "SELL")
        and isinstance(ts, int)
        and not isinstance(ts, bool)
        and all(math.isfinite(v) for v in (qty, price, fee))
        and qty > 0.0
        and price > 0.0
    )
    if not usable:
        raise InvalidInputError(
            f"fill {fill.get('id')!r}: unusable side/qty/price/fee/ts: "
            f"{side!r} {qty!r} {price!r} {fee!r} {ts!r}"
        )
    return symbol, qty, price, fee, ts
