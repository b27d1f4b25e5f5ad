"""`primestream backtest`: historical data through the real pipeline, and a report to look at."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.context import console, err_console, fail
from cli.produce_commands import file_layout
from infra import local
from infra.clock import wall_clock_us
from infra.exceptions import PrimestreamError
from infra.settings import get_settings
from producers.exceptions import SourceError
from producers.market.layout import FileLayout
from schemas.clients import Clients

if TYPE_CHECKING:
    from cli.backtest_run import BacktestRun

__all__ = ["backtest_command"]


def _say(line: str) -> None:
    err_console.print(f"[dim]·[/dim] {line}", highlight=False)


def _check_inputs(
    market: str, news: str | None, strategies: Path, layout: FileLayout | None
) -> None:
    """Fail with one line on an input that cannot be read, before anything starts."""
    from producers.market.registry import parse_source
    from producers.news.sources import parse_news_source
    from streams.strategies import load_config

    try:
        parse_source(market, clock=wall_clock_us, layout=layout)
        if news is not None:
            parse_news_source(news, clock=wall_clock_us)
    except SourceError as exc:
        fail(str(exc))
    if not strategies.is_file():
        fail(f"--strategies {strategies}: no such file")
    try:
        load_config(strategies, {})
    except (PrimestreamError, ValueError, OSError) as exc:
        fail(f"--strategies {strategies}: {exc}")


@contextmanager
def _processing_bar() -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn("[bold]processing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("processing", total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _counts(run: BacktestRun) -> Table:
    table = Table(title=f"pipeline (namespace {run.namespace})", header_style="bold cyan")
    table.add_column("what")
    table.add_column("count", justify="right")
    for topic, stats in run.published.items():
        table.add_row(f"{topic} published", f"{stats.delivered:,}")
        if stats.rejected:
            table.add_row(f"[yellow]{topic} rejected at the source[/yellow]", f"{stats.rejected:,}")
    table.add_row("signals", f"{run.signals:,}")
    table.add_row("orders", f"{run.orders:,}")
    table.add_row("orders refused by risk", f"{run.refused:,}")
    table.add_row("fills", f"{len(run.fills):,}")
    style = "yellow" if run.dead_letters else "dim"
    table.add_row(f"[{style}]dead letters[/{style}]", f"{run.dead_letters:,}")
    table.add_row("time (s)", f"{run.elapsed_secs:,.1f}")
    return table


def backtest_command(
    data: str = typer.Option(
        ..., "--data", help="Bars or quotes: a CSV/Parquet file, or sample:GOOG|EURUSD|BTCUSD."
    ),
    strategies: Path = typer.Option(..., "--strategies", help="Strategy and risk config (TOML)."),
    out: Path = typer.Option(..., "--out", help="Directory for the report and its files."),
    news: str = typer.Option(None, "--news", help="News as JSONL (scored like `produce news`)."),
    capital: float = typer.Option(
        100_000.0, "--capital", help="The account's cash: sizes and caps orders (risk.capital)."
    ),
    periods_per_year: float = typer.Option(
        252.0, "--periods-per-year", help="Price steps a year, to annualize (252: daily bars)."
    ),
    namespace: str = typer.Option(None, "--namespace", help="Default: a fresh bt<time> one."),
    stall_secs: float = typer.Option(
        300.0, "--stall-timeout", help="Fail when the worker makes no progress this long."
    ),
    keep_infra: bool = typer.Option(False, "--keep-infra", help="Leave local infra running."),
    symbol: str = typer.Option(None, "--symbol", help="The symbol of a file without one."),
    tz: str = typer.Option(None, "--tz", help="Zone of a file's zone-less times (e.g. UTC)."),
    close: str = typer.Option(
        "16:00", "--close", help="A bare date's bar closes at this time (in --tz or New York)."
    ),
) -> None:
    """Run DATA through the real pipeline (paper broker) in a fresh namespace; write a report."""
    # The pipeline and the report load pandas, pyarrow and matplotlib: only a backtest
    # pays for them, not every command (a worker starts in a second, not three).
    from cli.backtest_run import (
        BacktestFailedError,
        PipelineInputs,
        input_spec,
        new_namespace,
        run_pipeline,
    )
    from consumers.backtest_report import BacktestInput, summary_table, write_report

    market_spec = input_spec(data)
    news_spec = input_spec(news) if news else None
    if news_spec and not news_spec.startswith(("jsonl:", "synthetic")):
        fail(f"--news {news}: expected a .jsonl file")
    layout = file_layout(symbol, tz, close)
    _check_inputs(market_spec, news_spec, strategies, layout)
    if not (math.isfinite(capital) and capital > 0.0):
        fail(f"--capital {capital:g}: must be a positive amount")
    settings = get_settings()
    # One partition: the account's cash and every portfolio limit are then the whole
    # account's, not a partition's share (one worker processes every partition anyway).
    overrides = {**settings.strategy_overrides, "risk.capital": repr(float(capital))}
    settings = settings.model_copy(
        update={
            "namespace": namespace or new_namespace(),
            "trading_mode": "paper",
            "partitions": 1,
            "strategy_overrides": overrides,
        }
    )
    started_here = settings.uses_local_broker and not any(s.running for s in local.status(settings))
    out.mkdir(parents=True, exist_ok=True)
    try:
        local.up(settings, progress=_say)
        runtime = Clients(settings)
        _say(f"namespace [bold]{settings.namespace}[/bold]")
        inputs = PipelineInputs(
            market_spec,
            news_spec,
            strategies,
            out / "worker.log",
            stall_timeout_secs=stall_secs,
            layout=layout,
        )
        with _processing_bar() as progress:
            run = run_pipeline(runtime, inputs, say=_say, progress=progress)
    except BacktestFailedError as exc:
        fail(f"backtest failed: {exc} ({out / 'worker.log'})", code=3)
    finally:
        if started_here and not keep_infra:
            for line in local.down(settings):
                _say(line)
    report = write_report(
        BacktestInput(
            title=f"{data} · {strategies.name}",
            fills=run.fills,
            prices=run.prices,
            initial_capital=capital,
            periods_per_year=periods_per_year,
            strategy_config=str(strategies),
        ),
        out,
    )
    console.print(_counts(run))
    console.print(summary_table(report))
    console.print(
        f"report: [bold]{out / 'report.html'}[/bold] (and report.json, trades.parquet, "
        "roundtrips.parquet, equity.parquet, equity.png)",
        highlight=False,
    )
    _say(
        f"the namespace's topics stay for inspection: primestream namespaces delete "
        f"{settings.namespace}"
    )
