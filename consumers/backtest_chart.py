"""The backtest report's chart: equity above, drawdown below, on one time axis (PNG bytes).

Drawn on a Figure with its own Agg canvas, never through pyplot, so it neither needs a
display nor changes the process's matplotlib backend or state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from consumers.backtest_metrics import EquityStep

__all__ = ["equity_chart_png"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EQUITY_COLOUR = "#1f5f99"
_DRAWDOWN_COLOUR = "#c0392b"


def equity_chart_png(
    curve: Sequence[EquityStep],
    drawdowns: Sequence[float],
    title: str,
    *,
    width_in: float = 11.0,
    height_in: float = 6.5,
    dpi: int = 100,
) -> bytes:
    """Return a PNG of CURVE's equity and of DRAWDOWNS (fractions, drawn as negative %).

    The PNG carries no software or time metadata, so the same input gives the same bytes
    with the same matplotlib.
    """
    figure = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    equity_axes, drawdown_axes = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    figure.suptitle(title, fontsize=14, fontweight="bold")
    times = [_EPOCH + timedelta(microseconds=step.ts_event_us) for step in curve]
    if times:
        equity_axes.plot(times, [s.equity for s in curve], color=_EQUITY_COLOUR, linewidth=1.5)
        percent = [-100.0 * d for d in drawdowns]
        drawdown_axes.fill_between(times, percent, 0.0, color=_DRAWDOWN_COLOUR, alpha=0.35)
        drawdown_axes.plot(times, percent, color=_DRAWDOWN_COLOUR, linewidth=1.0)
        drawdown_axes.set_ylim(min(min(percent) * 1.1, -1.0), 0.0)
        # matplotlib's stubs leave these two constructors unannotated.
        locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
        formatter = ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
        drawdown_axes.xaxis.set_major_locator(locator)
        drawdown_axes.xaxis.set_major_formatter(formatter)
    else:
        equity_axes.text(0.5, 0.5, "no prices", ha="center", va="center", fontsize=12)
    equity_axes.set_ylabel("Equity")
    equity_axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    drawdown_axes.set_ylabel("Drawdown")
    drawdown_axes.yaxis.set_major_formatter(PercentFormatter(xmax=100.0, decimals=None))
    drawdown_axes.set_xlabel("Time (UTC)")
    for axes in (equity_axes, drawdown_axes):
        axes.grid(True, color="#dddddd", linewidth=0.6)
        axes.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
