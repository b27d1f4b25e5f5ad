"""A backtest's equity curve and statistics, from its fills and the prices it saw.

Cash accounting, so nothing depends on how positions were booked: equity after each
price is the starting capital, plus or minus every fill's cash (price x qty, fees paid),
plus each open position at that price. Statistics follow the usual definitions, stated
here because every tool differs a little:

- returns are per price step (a bar, for bars); annualized with PERIODS_PER_YEAR (252
  for daily bars), risk-free rate 0;
- Sharpe = mean / standard deviation (sample, ddof=1) x sqrt(periods); Sortino = mean / the
  root mean square of the negative returns (zeros for the others) x sqrt(periods);
- CAGR over the calendar time between the first and the last price (365.25-day years);
- maximum drawdown as a fraction of the peak, and its duration from that peak to the
  recovery (or to the end, if equity never got back);
- exposure time = the fraction of price steps that ended with a position open;
- trades, win rate, profit factor and the average trade count closed round trips
  (average cost, as `primestream pnl` does).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from consumers.pnl import pnl_report

__all__ = ["BacktestMetrics", "EquityStep", "backtest_metrics", "equity_curve"]

_US_PER_YEAR = 365.25 * 86_400 * 1_000_000


@dataclass(frozen=True)
class EquityStep:
    """Equity right after the price at TS_EVENT_US, and whether a position was open."""

    ts_event_us: int
    equity: float
    exposed: bool


@dataclass(frozen=True)
class BacktestMetrics:
    """The report's statistics (None where undefined, e.g. volatility of one step)."""

    start_equity: float
    end_equity: float
    total_return: float
    cagr: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_days: float
    exposure_time: float
    trades: int
    win_rate: float | None
    profit_factor: float | None
    average_trade: float | None
    fees: float


def equity_curve(
    fills: Iterable[Mapping[str, Any]],
    prices: Iterable[tuple[int, str, float]],
    initial_capital: float,
) -> list[EquityStep]:
    """Return equity after each price (ts_event_us, symbol, price), fills applied in time.

    A fill counts for every price at or after its event time. PRICES must be in time
    order; fills may come in any order.
    """
    pending = sorted(fills, key=lambda f: (f["ts_event_us"], f["id"]))
    cash = initial_capital
    held: dict[str, float] = {}
    last: dict[str, float] = {}
    curve, i = [], 0
    for ts, symbol, price in prices:
        while i < len(pending) and pending[i]["ts_event_us"] <= ts:
            fill = pending[i]
            sign = 1.0 if fill["side"] == "BUY" else -1.0
            qty, fill_price = float(fill["qty"]), float(fill["price"])
            cash -= sign * qty * fill_price + float(fill["fee"])
            held[fill["symbol"]] = held.get(fill["symbol"], 0.0) + sign * qty
            last.setdefault(fill["symbol"], fill_price)
            i += 1
        last[symbol] = price
        equity = cash + sum(qty * last.get(s, 0.0) for s, qty in held.items())
        curve.append(EquityStep(ts, equity, any(abs(q) > 1e-9 for q in held.values())))
    return curve


def backtest_metrics(
    curve: Sequence[EquityStep],
    fills: Sequence[Mapping[str, Any]],
    *,
    initial_capital: float,
    periods_per_year: float = 252.0,
) -> BacktestMetrics:
    """Return the statistics of CURVE (from `equity_curve`) and its FILLS."""
    equities = [initial_capital] + [step.equity for step in curve]
    returns = [b / a - 1.0 for a, b in itertools.pairwise(equities) if a != 0.0]
    end = equities[-1]
    stats = pnl_report(fills).total
    drawdown, days = _max_drawdown(curve, initial_capital)
    return BacktestMetrics(
        start_equity=initial_capital,
        end_equity=end,
        total_return=end / initial_capital - 1.0,
        cagr=_cagr(curve, initial_capital),
        volatility=_volatility(returns, periods_per_year),
        sharpe=_sharpe(returns, periods_per_year),
        sortino=_sortino(returns, periods_per_year),
        max_drawdown=drawdown,
        max_drawdown_days=days,
        exposure_time=sum(step.exposed for step in curve) / len(curve) if curve else 0.0,
        trades=stats.stats.trades,
        win_rate=stats.stats.win_rate,
        profit_factor=stats.stats.profit_factor,
        average_trade=_average_trade(stats.net_realized_pnl, stats.stats.trades),
        fees=float(stats.fees),
    )


def _average_trade(net_realized: Decimal, trades: int) -> float | None:
    return float(net_realized) / trades if trades else None


def _std(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _volatility(returns: Sequence[float], periods: float) -> float | None:
    std = _std(returns)
    return None if std is None else std * math.sqrt(periods)


def _sharpe(returns: Sequence[float], periods: float) -> float | None:
    std = _std(returns)
    if std is None or std == 0.0:
        return None
    return sum(returns) / len(returns) / std * math.sqrt(periods)


def _sortino(returns: Sequence[float], periods: float) -> float | None:
    if not returns:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside == 0.0:
        return None
    return sum(returns) / len(returns) / downside * math.sqrt(periods)


def _cagr(curve: Sequence[EquityStep], initial_capital: float) -> float | None:
    if len(curve) < 2 or curve[-1].equity <= 0.0:
        return None
    years = (curve[-1].ts_event_us - curve[0].ts_event_us) / _US_PER_YEAR
    if years <= 0.0:
        return None
    return float((curve[-1].equity / initial_capital) ** (1.0 / years) - 1.0)


def _max_drawdown(curve: Sequence[EquityStep], initial_capital: float) -> tuple[float, float]:
    """Return (largest fall as a fraction of its peak, days from that peak to recovery)."""
    peak, peak_ts = initial_capital, curve[0].ts_event_us if curve else 0
    worst, worst_peak_ts = 0.0, peak_ts
    for step in curve:
        if step.equity >= peak:
            peak, peak_ts = step.equity, step.ts_event_us
        elif peak > 0.0 and (peak - step.equity) / peak > worst:
            worst, worst_peak_ts = (peak - step.equity) / peak, peak_ts
    if worst == 0.0:
        return 0.0, 0.0
    start_equity = next(
        (s.equity for s in curve if s.ts_event_us == worst_peak_ts), initial_capital
    )
    recovered = next(
        (
            s.ts_event_us
            for s in curve
            if s.ts_event_us > worst_peak_ts and s.equity >= start_equity
        ),
        curve[-1].ts_event_us,
    )
    return worst, (recovered - worst_peak_ts) / 86_400_000_000
