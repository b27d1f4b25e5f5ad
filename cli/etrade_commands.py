"""`primestream etrade auth | reconcile`: tokens for the live worker; positions compared."""

from __future__ import annotations

import typer
from rich.table import Table

from cli.context import console, fail
from cli.live_start import compared_positions
from infra.clock import wall_clock_us
from infra.settings import get_settings
from schemas.clients import Clients
from streams.execution.broker import BrokerError, reconcile
from streams.execution.etrade_auth import OAuthFlow, write_tokens

__all__ = ["app", "auth_command", "reconcile_command"]

app = typer.Typer(help="E*TRADE account access (OAuth 1.0a).", no_args_is_help=True)


@app.command("auth")
def auth_command(
    verifier: str = typer.Option(
        None, "--verifier", help="The code E*TRADE shows after you accept (default: prompt)."
    ),
) -> None:
    """Print the authorize URL, take the verifier, store the tokens (mode 0600).

    The tokens go to PRIMESTREAM_ETRADE_TOKEN_FILE (default <home>/etrade/tokens.json);
    the live worker and `produce market --source etrade:...` read them from there. They
    expire at midnight US Eastern: run this again each trading day.
    """
    settings = get_settings()
    key, secret = settings.etrade_consumer_key, settings.etrade_consumer_secret
    if key is None or secret is None:
        fail("set PRIMESTREAM_ETRADE_CONSUMER_KEY and PRIMESTREAM_ETRADE_CONSUMER_SECRET first")
    flow = OAuthFlow(
        key, secret, base_url=settings.etrade_base_url, timeout_secs=settings.etrade_timeout_secs
    )
    try:
        url = flow.authorize_url()
        console.print("Open this URL, log in, accept, and copy the verifier code:")
        console.print(url, highlight=False, soft_wrap=True)
        code = verifier or typer.prompt("verifier")
        tokens = flow.access_tokens(code, issued_us=wall_clock_us())
    except BrokerError as err:
        fail(str(err))
    path = settings.etrade_tokens_path
    try:
        write_tokens(path, tokens)
    except OSError as err:
        fail(f"cannot write the tokens to {path}: {err}")
    console.print(f"tokens stored in {path} (mode 0600); they expire at midnight US Eastern")


@app.command("reconcile")
def reconcile_command() -> None:
    """Compare our positions (the `positions` topic) with E*TRADE's; exit 1 if they differ.

    What a live worker checks before it trades, for the start of a day or after a crash.
    """
    ours, theirs, venue = compared_positions(Clients())
    differences = {d.symbol for d in reconcile(ours, theirs)}
    table = Table(title=f"positions: ours vs {venue}", header_style="bold cyan")
    for column in ("symbol", "ours", venue, ""):
        table.add_column(column, justify="right" if column != "symbol" else "left")
    for symbol in sorted(set(ours) | set(theirs)):
        mine, its = ours.get(symbol, 0.0), theirs.get(symbol, 0.0)
        mark = "[red]differs[/red]" if symbol in differences else "[green]ok[/green]"
        table.add_row(symbol, f"{mine:g}", f"{its:g}", mark)
    console.print(table)
    if differences:
        console.print(
            f"[red]{len(differences)} position(s) differ:[/red] live trading would not start"
        )
        raise typer.Exit(1)
    console.print("[green]positions agree[/green]")
