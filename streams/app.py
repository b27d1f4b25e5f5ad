"""The composition root: one faust app, its stages and tables, the runtime under them.

Nothing here runs at import: `build_app` wires a `WorkerApp` (faust, with records moved by
`streams.runtime`) for the given settings, endpoints and strategy config, so a test, a
replay namespace and the worker each get their own app. This is the one module that
imports the agents.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from confluent_kafka.admin import AdminClient

from infra.admin import apply_topics
from infra.clients import admin_config
from infra.metrics import Metrics
from infra.telemetry import setup_tracing
from infra.topics import changelog_specs, topic_specs
from schemas.clients import Clients
from streams.context import (
    ProcessingContext,
    app_id,
    load_trading_config,
    strategy_config_path,
)
from streams.engine import EngineSettings
from streams.recovery import RecoveryWatch
from streams.runtime import (
    CommitPolicy,
    CommitWatch,
    ProcessingLoop,
    Stage,
    StreamRuntime,
    WorkerApp,
)
from streams.runtime.clients import (
    group_consumer_config,
    restore_consumer_config,
    transactional_producer_config,
)
from streams.runtime.identity import WorkerSlot, claim_slot
from streams.runtime.lanes import transactional_ids
from streams.runtime.migrate import migrate_changelogs
from streams.runtime.restore import ChangelogRestorer
from streams.runtime.transactions import TransactionalOutput
from streams.strategies import load_config
from streams.views import install_worker_views
from streams.worker import Worker

__all__ = ["build_app", "register_agents"]


def build_app(
    clients: Clients,
    *,
    strategy_config: Path | None = None,
    web_port: int | None = None,
    web_host: str | None = None,
) -> Worker:
    """Return the worker with every stage registered, ready for `faust.Worker` to run.

    CLIENTS are the command's own (settings, endpoints, registry client): one set per process.
    The web views bind to WEB_HOST (default `settings.web_host`, loopback) on WEB_PORT.
    """
    settings = clients.settings
    config_path = strategy_config_path(settings, strategy_config)
    ctx = ProcessingContext(
        clients,
        load_config(config_path, settings.strategy_overrides),
        EngineSettings(grace_us=int(settings.event_time_grace_ms * 1000)),
        load_trading_config(Path(config_path), settings),
        setup_tracing(settings),
        Metrics(settings.service_name),
    )
    ident = app_id(settings)
    datadir = settings.home / "workers" / ident
    datadir.parent.mkdir(parents=True, exist_ok=True)
    client_id = f"{ident}-{socket.gethostname()}-{os.getpid()}"
    app = WorkerApp(
        ident,
        datadir=str(datadir),
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_bind=web_host or settings.web_host,
    )
    recovery = RecoveryWatch(settings.recovery_stall_secs)
    runtime = StreamRuntime(app, lambda stages: _loop(ctx, stages, client_id, recovery))
    register_agents(runtime, ctx)
    worker = Worker(app, runtime, ctx, client_id, recovery)
    install_worker_views(worker)
    return worker


def _loop(
    ctx: ProcessingContext, stages: list[Stage], client_id: str, recovery: RecoveryWatch
) -> ProcessingLoop:
    """Build the exactly-once loop at worker start (topics ensured, identity claimed)."""
    settings, servers = ctx.settings, ctx.endpoints.bootstrap_servers
    ident = app_id(settings)
    tables = sorted({t.name for s in stages for t in s.tables.values()})
    admin = AdminClient(admin_config(settings, servers))
    apply_topics(admin, topic_specs(settings), namespace=settings.namespace)
    apply_topics(admin, changelog_specs(settings, ident))
    migrate_changelogs(
        admin,
        ident,
        tables,
        restore_consumer_config(settings, servers, ident, client_id),
        transactional_producer_config(settings, servers, ident, client_id),
    )
    slot: WorkerSlot = claim_slot(settings.home / "workers" / ident / "slots", settings.worker_id)
    outputs = [
        TransactionalOutput(transactional_producer_config(settings, servers, txn_id, client_id))
        for txn_id in transactional_ids(f"{ident}-{slot.worker_id}", settings.transaction_lanes)
    ]
    restorer = ChangelogRestorer(
        restore_consumer_config(settings, servers, ident, client_id),
        admin_config(settings, servers),
        recovery,
    )
    return ProcessingLoop(
        stages=stages,
        consumer_config=group_consumer_config(settings, servers, ident, client_id),
        outputs=outputs,
        restorer=restorer,
        deadletter_topic=settings.topic("deadletter"),
        policy=CommitPolicy(
            settings.commit_interval_ms / 1000.0,
            min(settings.commit_min_interval_ms, settings.commit_interval_ms) / 1000.0,
        ),
        max_batch=settings.max_batch_records,
        slot=slot,
        watch=CommitWatch(settings.worker_stall_secs),
        switch_interval_secs=settings.gil_switch_interval_ms / 1000.0,
    )


def register_agents(runtime: StreamRuntime, ctx: ProcessingContext) -> None:
    """Register the trading core's agent (every mode) and, live, the venue's agent.

    The core runs signals, risk, the paper venue and positions of a partition in one agent
    (`streams.trading.core` says why); in live mode orders leave it for the venue agent
    (orders to the live adapter, its answers back as fills and order events).
    """
    from streams.agents import trading, venue

    trading.register(runtime, ctx)
    if ctx.trading.mode == "live":
        venue.register(runtime, ctx)
