"""`primestream perf report`: per-stage throughput and latency from the traces, vs targets."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import typer
from rich.table import Table

from cli.context import console, fail
from consumers.perf import (
    StageFigures,
    active_window_secs,
    load_targets,
    sample_ratio_of,
    stage_figures,
)
from infra import local
from infra.settings import get_settings
from infra.trace_reader import TraceSpan, parse_zipkin_trace

__all__ = ["app"]

app = typer.Typer(help="The performance analyzer.", no_args_is_help=True)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_TRACES = 100_000


def parse_since(text: str) -> float:
    """Return '15m', '90s', '2h' or '1d' in seconds; ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"--since {text!r}: expected a duration like 90s, 15m, 2h or 1d")
    return float(match[1]) * _UNITS[match[2]]


def fetch_traces(address: str, since_secs: float) -> list[list[TraceSpan]]:
    """Return the traces the Zipkin at ADDRESS holds from the last SINCE_SECS."""
    params = {
        "endTs": str(int(time.time() * 1000)),
        "lookback": str(int(since_secs * 1000)),
        "limit": str(_MAX_TRACES),
    }
    with httpx.Client(timeout=60.0, trust_env=False) as http:
        response = http.get(f"{address.rstrip('/')}/api/v2/traces", params=params)
    response.raise_for_status()
    payload = response.json()
    if not isinstance(payload, list):
        raise ValueError("Zipkin answered /api/v2/traces with something other than a list")
    return [parse_zipkin_trace(trace) for trace in payload]


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _verdict(figures: StageFigures) -> str:
    if figures.spans == 0:
        return "[dim]no data[/dim]"
    if figures.over_target:
        return "[bold red]OVER TARGET[/bold red]"
    if figures.target.max_p99_ms is not None:
        return "[green]within[/green]"
    return "[dim]no latency target[/dim]"


def _table(figures: list[StageFigures], title: str) -> Table:
    table = Table(title=title, header_style="bold cyan")
    for column in (
        "stage",
        "what",
        "spans",
        "per min",
        "target /min",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "target p99 ms",
        "verdict",
    ):
        table.add_column(
            column, justify="left" if column in ("stage", "what", "verdict") else "right"
        )
    for f in figures:
        per_min = f"{f.per_min:,.0f}"
        if f.below_throughput and f.spans:
            per_min = f"[yellow]{per_min}[/yellow]"
        target_min, target_p99 = f.target.min_per_min, f.target.max_p99_ms
        table.add_row(
            f.stage,
            f.target.label,
            f"{f.spans:,}",
            per_min,
            "—" if target_min is None else f"{target_min:,.0f}",
            _ms(f.p50_ms),
            _ms(f.p95_ms),
            _ms(f.p99_ms),
            "—" if target_p99 is None else f"{target_p99:,.0f}",
            _verdict(f),
        )
    return table


@app.command("report")
def report_command(
    since: str = typer.Option("15m", "--since", help="How far back: 90s, 15m, 2h, 1d."),
    targets: Path = typer.Option(
        None,
        "--targets",
        help="TOML with perf.targets.STAGE tables (default: the original targets).",
    ),
    fail_over_target: bool = typer.Option(
        False, "--fail-over-target", help="Exit 1 when a stage's p99 is over its target."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Print per-stage throughput and latency p50/p95/p99 from the tracing backend."""
    settings = get_settings()
    try:
        window_secs = parse_since(since)
        stage_targets = load_targets(targets)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    address = local.tracing_address(settings)
    if address is None:
        fail("no local tracing backend runs: `primestream infra up --tracing` (or `make demo`)")
    try:
        traces = fetch_traces(address, window_secs)
    except (httpx.HTTPError, ValueError) as exc:
        fail(f"the tracing backend at {address} did not answer: {exc}", code=3)
    measured = sample_ratio_of(traces)
    ratio = measured or settings.tracing_sample_ratio or 1.0
    active = min(window_secs, active_window_secs(traces))
    figures = stage_figures(traces, window_secs=active, sample_ratio=ratio, targets=stage_targets)
    over = [f.stage for f in figures if f.over_target]
    if as_json:
        doc = {
            "traces": len(traces),
            "window_secs": round(active, 3),
            "sample_ratio": ratio,
            "stages": [
                {
                    "stage": f.stage,
                    "spans": f.spans,
                    "per_min": round(f.per_min, 3),
                    "p50_ms": f.p50_ms,
                    "p95_ms": f.p95_ms,
                    "p99_ms": f.p99_ms,
                    "target_per_min": f.target.min_per_min,
                    "target_p99_ms": f.target.max_p99_ms,
                    "over_target": f.over_target,
                }
                for f in figures
            ],
        }
        console.print_json(json.dumps(doc))
    else:
        title = (
            f"{len(traces):,} traces over {active:,.0f} s (of the last {since}), "
            f"sampled at {ratio:g}{'' if measured else ' (from settings)'}"
        )
        console.print(_table(figures, title))
        if not traces:
            console.print("no traces in the window: is anything producing with tracing on?")
        elif over:
            console.print(f"[bold red]over target:[/bold red] {', '.join(over)}")
        else:
            console.print("every stage with a latency target is within it")
    if fail_over_target and over:
        raise typer.Exit(1)
