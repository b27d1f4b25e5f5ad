"""`primestream pnl`: P&L per symbol and in total, from the fills and positions topics."""

from __future__ import annotations

import typer

from cli.context import console, err_console, fail
from cli.topic_reading import read_whole_topic
from consumers.pnl import InvalidFillError, pnl_report
from consumers.pnl_render import empty_line, report_json, report_view
from schemas.clients import Clients

__all__ = ["pnl_command"]


def pnl_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (for machines)."),
    account: str | None = typer.Option(None, "--account", help="Only this trading account."),
) -> None:
    """Print realized and unrealized P&L, fees, exposure, trade stats and max drawdown."""
    runtime = Clients()
    fills_topic = runtime.settings.topic("fills")
    positions_topic = runtime.settings.topic("positions")
    try:
        fills, bad_fills = read_whole_topic(runtime, fills_topic)
        positions, bad_positions = read_whole_topic(runtime, positions_topic)
        report = pnl_report(fills, positions, account=account)
    except (LookupError, InvalidFillError) as exc:
        fail(str(exc))
    if as_json:
        # Plain text: JSON brackets must not be read as rich markup, nor long lines wrapped.
        console.print(report_json(report), markup=False, highlight=False, soft_wrap=True)
    elif report.fills == 0:
        console.print(empty_line(fills_topic, account), highlight=False)
    else:
        console.print(report_view(report))
    for topic, bad in ((fills_topic, bad_fills), (positions_topic, bad_positions)):
        if bad:
            err_console.print(
                f"[yellow]warning:[/yellow] skipped {bad} undecodable records of {topic}",
                highlight=False,
            )
    if bad_fills or bad_positions:  # the report is incomplete: say so in the exit code
        raise typer.Exit(1)
