"""The worker's operational web views: `GET /metrics`, `GET /health` and `GET /ready`.

`/health` is answered by the worker's event loop itself, so any answer means the loop
runs. `/ready` gathers the checks of `streams.readiness` — the group assignment and the
table recovery from faust's own state, the broker and the schema registry by asking
them, each within `PROBE_TIMEOUT_SECS` — and answers 200 or 503 with every check as
JSON, plus this worker's partitions, recovery progress and last error (what
`primestream status` shows). `/metrics` renders the process's `infra.metrics.Metrics`,
with the consumer lag of the input partitions this worker holds read at each scrape.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infra.clients import admin_config
from infra.clock import Clock, wall_clock_us
from infra.metrics import CONSUMER_LAG, CONTENT_TYPE, Metrics
from infra.settings import Settings
from streams.app import ProcessingContext
from streams.readiness import (
    Check,
    LastError,
    assignment_check,
    probe_check,
    readiness,
    tables_check,
)
from streams.recovery import RecoveryWatch

__all__ = ["PROBE_TIMEOUT_SECS", "Probes", "install_worker_views"]

PROBE_TIMEOUT_SECS = 2.0


class Probes:
    """Ask the broker and the schema registry whether they answer, each within a timeout.

    The admin client is created on first use; probes run on two threads of their own, so
    a registry that hangs cannot take the threads faust's own work runs on.
    """

    def __init__(self, settings: Settings, bootstrap_servers: str, registry: Any) -> None:
        self._config = admin_config(settings, bootstrap_servers)
        self._registry = registry
        self._admin: Any = None
        self._pool: ThreadPoolExecutor | None = None

    def broker(self) -> str | None:
        """Return why the broker did not answer a describe-cluster request, or None."""
        try:
            if self._admin is None:
                from confluent_kafka.admin import AdminClient

                self._admin = AdminClient(self._config)
            future = self._admin.describe_cluster(request_timeout=PROBE_TIMEOUT_SECS)
            future.result(timeout=PROBE_TIMEOUT_SECS + 1)
        except Exception as exc:  # any failure is the answer: not reachable
            return str(exc) or type(exc).__name__
        return None

    def registry(self) -> str | None:
        """Return why the schema registry did not list a subject, or None."""
        try:
            self._registry.get_subjects(limit=1)
        except Exception as exc:  # any failure is the answer: not reachable
            return str(exc) or type(exc).__name__
        return None

    async def run(self, probe: Callable[[], str | None]) -> str | None:
        """Run PROBE off the event loop; a probe that does not finish in time failed."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ready-probe")
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, probe), PROBE_TIMEOUT_SECS + 2
            )
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT_SECS + 2:.0f} s"


def _logical(settings: Settings, topic: str) -> str:
    prefix = f"{settings.namespace}." if settings.namespace else ""
    return topic[len(prefix) :] if prefix and topic.startswith(prefix) else topic


def _held(app: Any) -> list[Any]:
    """Return the input partitions (faust TPs) APP's consumer holds; none before it starts."""
    from faust.exceptions import NotReady

    try:
        assignment = app.consumer.assignment()
    except NotReady:  # the web server answers before the consumer thread runs
        return []
    return sorted(tp for tp in assignment if tp.topic in app.batch_topic_names)


def input_partitions(app: Any) -> list[tuple[str, int]]:
    """Return the (physical topic, partition) input partitions APP's consumer holds now."""
    return [(tp.topic, tp.partition) for tp in _held(app)]


def consumer_lag(app: Any, settings: Settings) -> dict[tuple[str, ...], float]:
    """Return {(logical topic, partition): end - committed} of the input partitions held.

    The end is the consumer's last stable offset (read_committed); partitions whose end
    or committed offset is not known yet (before the first fetch or commit) are left out.
    """
    consumer = app.consumer
    committed = consumer._committed_offset  # faust's: the next offset the group resumes at
    lag: dict[tuple[str, ...], float] = {}
    for tp in _held(app):
        end, done = consumer.highwater(tp), committed.get(tp)
        if end is None or end < 0 or done is None:
            continue
        lag[(_logical(settings, tp.topic), str(tp.partition))] = float(max(0, end - done))
    return lag


def _checks_of_state(app: Any, watch: RecoveryWatch) -> list[Check]:
    held = input_partitions(app)
    return [
        assignment_check(int(app.consumer_generation_id or 0), held),
        tables_check(bool(app.tables.actives_ready), bool(app.rebalancing), watch.remaining),
    ]


def install_worker_views(
    app: Any,
    ctx: ProcessingContext,
    watch: RecoveryWatch,
    metrics: Metrics,
    *,
    clock: Clock = wall_clock_us,
) -> None:
    """Serve /metrics, /health and /ready on APP's web server (when it runs one)."""
    settings = ctx.settings
    metrics.observe(CONSUMER_LAG, lambda: consumer_lag(app, settings))
    registry_url = ctx.endpoints.schema_registry_url
    probes = Probes(settings, ctx.endpoints.bootstrap_servers, ctx.registry)
    errors: LastError = ctx.last_error

    targets = {"broker": (probes.broker, ctx.endpoints.bootstrap_servers)}
    if registry_url and ctx.registry is not None:
        targets["registry"] = (probes.registry, registry_url)

    async def gather_checks() -> list[Check]:
        answers = await asyncio.gather(*(probes.run(probe) for probe, _ in targets.values()))
        reached = [
            probe_check(name, answer, target)
            for (name, (_, target)), answer in zip(targets.items(), answers, strict=True)
        ]
        for check in reached:
            if not check.ok:
                errors.note(clock(), check.name, check.detail)
        return [*_checks_of_state(app, watch), *reached]

    async def ready(web: Any, request: Any) -> Any:
        """Answer 200 when the worker can process (see `streams.readiness`), else 503."""
        result = readiness(await gather_checks())
        body = result.body(
            pid=os.getpid(),
            group=app.conf.id,
            client_id=app.conf.broker_client_id,
            partitions=[[_logical(settings, t), p] for t, p in input_partitions(app)],
            recovery=watch.snapshot(),
            last_error=errors.snapshot(),
        )
        return web.json(body, status=result.status)

    async def health(web: Any, request: Any) -> Any:
        """Answer 200: the event loop that answers is the one that runs the worker."""
        return web.json({"alive": True, "pid": os.getpid()})

    async def metrics_text(web: Any, request: Any) -> Any:
        """Return every metric in the Prometheus text format."""
        return web.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    for path, view in (("/ready", ready), ("/health", health), ("/metrics", metrics_text)):
        app.page(path)(view)
        app.page(f"{path}/")(view)
