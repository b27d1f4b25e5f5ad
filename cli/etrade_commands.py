"""`primestream etrade auth`: get E*TRADE OAuth tokens and store them for the live worker."""

from __future__ import annotations

import typer

from cli.context import console, fail
from infra.clock import wall_clock_us
from infra.settings import get_settings
from streams.execution.broker import BrokerError
from streams.execution.etrade_auth import OAuthFlow, write_tokens

__all__ = ["app", "auth_command"]

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
