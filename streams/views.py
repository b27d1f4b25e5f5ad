"""The worker's operational web views: `GET /metrics`, `GET /health` and `GET /ready`.

`/health` is answered by the worker's event loop itself, so any answer means the loop
runs. `/ready` gathers the checks of `streams.readiness` — the group assignment and the
table recovery from the runtime's loop state, the broker and the schema registry by asking
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
from infra.metrics import CONSUMER_LAG, CONTENT_TYPE
from infra.settings import Settings
from streams.readiness import (
    Check,
    LastError,
    assignment_check,
    probe_check,
    readiness,
    tables_check,
)
from streams.worker import Worker

__all__ = ["PROBE_TIMEOUT_SECS", "Probes", "install_worker_views"]

PROBE_TIMEOUT_SECS = 2.0


class Probes:
    """Ask the broker and the schema registry whether they answer, each within a timeout.

    The admin client is created on first use; probes run on two threads of their own, so
    a registry that hangs cannot take the threads the worker's own work runs on.
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


def input_partitions(worker: Worker) -> list[tuple[str, int]]:
    """Return the (physical topic, partition) input partitions the worker holds now."""
    loop = worker.runtime.loop
    return list(loop.state.held) if loop is not None else []


def consumer_lag(worker: Worker) -> dict[tuple[str, ...], float]:
    """Return {(logical topic, partition): end - committed} of the input partitions held.

    Partitions whose end or committed offset is not known yet (before the first fetch or
    commit) are left out.
    """
    loop = worker.runtime.loop
    if loop is None:
        return {}
    settings = worker.context.settings
    return {
        (_logical(settings, topic), str(partition)): float(lag)
        for (topic, partition), lag in loop.lag().items()
    }


def _checks_of_state(worker: Worker) -> list[Check]:
    loop = worker.runtime.loop
    if loop is None:
        return [assignment_check(0, []), tables_check(False, True, 0)]
    state = loop.state
    return [
        assignment_check(state.assignments, state.held),
        tables_check(not state.restoring, state.rebalancing, worker.recovery.remaining),
    ]


def install_worker_views(worker: Worker, *, clock: Clock = wall_clock_us) -> None:
    """Serve /metrics, /health and /ready on the worker's web server (when it runs one)."""
    app, ctx = worker.app, worker.context
    metrics = ctx.metrics
    settings = ctx.settings
    if metrics is not None:
        metrics.observe(CONSUMER_LAG, lambda: consumer_lag(worker))
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
        return [*_checks_of_state(worker), *reached]

    async def ready(web: Any, request: Any) -> Any:
        """Answer 200 when the worker can process (see `streams.readiness`), else 503."""
        result = readiness(await gather_checks())
        body = result.body(
            pid=os.getpid(),
            group=app.conf.id,
            client_id=worker.client_id,
            partitions=[[_logical(settings, t), p] for t, p in input_partitions(worker)],
            recovery=worker.recovery.snapshot(),
            last_error=errors.snapshot(),
        )
        return web.json(body, status=result.status)

    async def health(web: Any, request: Any) -> Any:
        """Answer 200: the event loop that answers is the one that runs the worker."""
        return web.json({"alive": True, "pid": os.getpid()})

    async def metrics_text(web: Any, request: Any) -> Any:
        """Return every metric in the Prometheus text format."""
        body = metrics.exposition() if metrics is not None else b""
        return web.bytes(body, headers={"Content-Type": CONTENT_TYPE})

    for path, view in (("/ready", ready), ("/health", health), ("/metrics", metrics_text)):
        app.page(path)(view)
        app.page(f"{path}/")(view)
