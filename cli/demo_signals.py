"""The demo's second act: a real worker turns quotes and news into signals, shown as tables."""

from __future__ import annotations

from collections import Counter

from rich.table import Table

from cli.context import console
from cli.topic_reading import read_records
from consumers.render import records_table
from schemas.clients import Clients

__all__ = ["show_signals", "show_trading"]

_ORDER_COLUMNS = ("symbol", "side", "qty", "order_type", "strategy", "ts_event_us")
_FILL_COLUMNS = ("symbol", "side", "qty", "price", "fee", "order_id", "ts_event_us")
_POSITION_COLUMNS = ("symbol", "qty", "avg_price", "realized_pnl", "fees", "last_mark")
_SIGNAL_COLUMNS = (
    "symbol",
    "strategy",
    "side",
    "strength",
    "confidence",
    "ref_price",
    "ts_event_us",
)


def _say(line: str) -> None:
    console.print(f"[dim]·[/dim] {line}", highlight=False)


def show_trading(runtime: Clients) -> None:
    """Print the latest orders and fills, the final positions, and the P&L report."""
    from consumers.pnl import pnl_report
    from consumers.pnl_render import report_view

    orders = read_records(runtime, runtime.settings.topic("orders"))
    rejected = read_records(runtime, runtime.settings.topic("orders.rejected"))
    fills = read_records(runtime, runtime.settings.topic("fills"))
    positions = read_records(runtime, runtime.settings.topic("positions"))
    console.print(records_table("latest orders (paper)", orders[-6:], columns=_ORDER_COLUMNS))
    console.print(records_table("latest fills", fills[-6:], columns=_FILL_COLUMNS))
    latest = list({p.key: p for p in positions}.values())
    title = "positions (latest per symbol)"
    console.print(records_table(title, latest, columns=_POSITION_COLUMNS))
    rules = Counter((r.value or {}).get("rule") for r in rejected)
    why = ", ".join(f"{rule}: {count:,}" for rule, count in rules.most_common())
    _say(f"{len(orders):,} orders, {len(fills):,} fills, {len(rejected):,} refused ({why})")
    fill_values = [f.value for f in fills if f.value]
    report = pnl_report(fill_values, [p.value for p in positions if p.value])
    console.print(report_view(report))


def show_signals(runtime: Clients) -> None:
    """Print the latest signals and the counts by strategy and dead-letter reason."""
    signals = read_records(runtime, runtime.settings.topic("signals"))
    dead = read_records(runtime, runtime.settings.topic("deadletter"))
    console.print(records_table("latest signals (decoded)", signals[-10:], columns=_SIGNAL_COLUMNS))
    by_strategy = Counter((s.value or {}).get("strategy") for s in signals)
    table = Table(title="signals by strategy, dead letters by reason", header_style="bold cyan")
    table.add_column("what")
    table.add_column("count", justify="right")
    for strategy, count in by_strategy.most_common():
        table.add_row(f"signals: {strategy}", f"{count:,}")
    reasons = Counter(d.headers.get("deadletter.error.message", "?").split(":")[0] for d in dead)
    for reason, count in reasons.most_common():
        table.add_row(f"[yellow]dead letter: {reason}[/yellow]", f"{count:,}")
    console.print(table)
