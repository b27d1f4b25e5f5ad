"""`primestream alerts run | test`: tell people about alerts, kill switches, rejections, health.

`run` is the alert dispatcher (`consumers.alerts`): a consumer of its own, apart from the
workers, so a webhook that is down never slows trading. `test` posts one notice to every
configured webhook, to check the URLs before a real alert needs them.
"""

from __future__ import annotations

import typer

from cli.context import console, fail
from consumers.alerts.delivery import RetryPolicy, WebhookSink, deliver, parse_sinks
from consumers.alerts.notices import Notice
from infra.clock import wall_clock_us
from infra.settings import Settings
from schemas.clients import Clients

__all__ = ["app"]

app = typer.Typer(help="Send alerts, kill-switch trips, rejections and worker health to webhooks.")


def _sinks(settings: Settings) -> list[WebhookSink]:
    if not settings.alert_webhook_urls:
        fail("no webhook configured: set PRIMESTREAM_ALERT_WEBHOOK_URLS='[\"https://...\"]'")
    return parse_sinks(
        settings.alert_webhook_urls,
        settings.alert_format,
        timeout_secs=settings.alert_timeout_secs,
    )


def _policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        settings.alert_max_attempts, settings.alert_backoff_secs, settings.alert_backoff_max_secs
    )


@app.command("run")
def run_command() -> None:
    """Deliver the namespace's alerts to the webhooks until stopped (Ctrl-C, SIGTERM)."""
    from consumers.alerts.dispatcher import AlertDispatcher
    from infra.metrics import Metrics, serve_metrics
    from streams.context import app_id

    runtime = Clients()
    settings = runtime.settings
    sinks = _sinks(settings)
    metrics = Metrics(settings.service_name)
    server = serve_metrics(metrics, settings.metrics_port) if settings.metrics_port else None
    dispatcher = AlertDispatcher(
        runtime, sinks, _policy(settings), workers_group=app_id(settings), metrics=metrics
    )
    console.print(
        f"alerts of {app_id(settings)} → {', '.join(map(repr, sinks))}"
        + (f"; GET /metrics on :{server.port}" if server else ""),
        highlight=False,
    )
    try:
        dispatcher.run()
    except KeyboardInterrupt:
        dispatcher.stop()
    finally:
        if server is not None:
            server.close()


@app.command("test")
def send_test_command(
    message: str = typer.Option("test alert from primestream", "--message", help="Its text."),
) -> None:
    """Post one test notice to every webhook; exit 1 if any did not take it."""
    settings = Clients().settings
    policy = RetryPolicy(1)
    now = wall_clock_us()
    notice = Notice(
        kind="test",
        severity="info",
        title="Test alert",
        text=message,
        key=f"test:{now}",
        ts_event_us=now,
        namespace=settings.namespace,
    )
    failed = 0
    for sink in _sinks(settings):
        outcome = deliver(sink.send, notice, policy, wait=lambda _secs: False)
        console.print(f"{sink!r}: {outcome}", highlight=False)
        failed += outcome != "delivered"
        sink.close()
    if failed:
        raise typer.Exit(1)
