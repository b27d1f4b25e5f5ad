"""The faust side of the runtime: a faust app without faust's Kafka clients, agents fed by the loop.

The worker is a faust app: `faust.Worker` runs it (signals, logging, clean shutdown on
Ctrl-C), stages are faust agents, the web views are faust pages, timers are faust timers.
What faust does not do any more is move records: its aiokafka consumer, producer, table
recovery and per-partition transactions are switched off through faust's own boot
strategy (`BootStrategy.enable_kafka = False`), and `StreamRuntime` does that work on
confluent-kafka's public API (`streams.runtime.loop`). Each stage's agent iterates an
in-memory faust channel; the runtime sends it one topic-partition's records at a time and
waits for its answer.

Why not faust's own transport: its exactly-once needed eleven fixes to faust's and
aiokafka's internals (27 private names), one transactional producer per input partition
(a coordinator round trip per partition per commit), and aiokafka cannot fence a stale
member by its group generation (KIP-447), which a single producer per worker needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import faust
from faust.app import BootStrategy
from mode import Service

from streams.runtime.loop import ProcessingLoop
from streams.runtime.stages import Delivery, Encoder, Processor, Stage
from streams.runtime.tables import ChangelogTable, changelog_topic
from streams.stage_metrics import StageMetrics

__all__ = ["StreamRuntime", "WorkerApp"]

log = logging.getLogger("primestream.runtime")
STOP_TIMEOUT_SECS = 60.0


class _RuntimeBoot(BootStrategy):
    """faust's services minus its Kafka consumer, producer, conductor and table manager."""

    enable_kafka = False


class WorkerApp(faust.App):
    """A faust app whose records move through `StreamRuntime`, not faust's Kafka clients."""

    BootStrategy = _RuntimeBoot


class StreamRuntime:
    """The stages, tables and exactly-once loop of one worker, hosted by a `WorkerApp`."""

    def __init__(self, app: WorkerApp, make_loop: Callable[[list[Stage]], ProcessingLoop]) -> None:
        self.app = app
        self._make_loop = make_loop
        self.stages: list[Stage] = []
        self.tables: dict[str, ChangelogTable] = {}
        self.loop: ProcessingLoop | None = None
        self._task: asyncio.Future[None] | None = None
        app.service(self._service_class())

    def table(self, name: str) -> ChangelogTable:
        """Return the table NAME (one per worker, shared by the stages that name it)."""
        table = self.tables.get(name)
        if table is None:
            table = ChangelogTable(name, changelog_topic(self.app.conf.id))
            self.tables[name] = table
        return table

    def stage(
        self,
        name: str,
        *,
        inputs: Mapping[str, str],
        outputs: Mapping[str, tuple[str, Encoder]],
        tables: Mapping[str, ChangelogTable],
        processor: Processor,
        agent: Callable[[Any], Any],
        metrics: StageMetrics | None = None,
    ) -> Stage:
        """Register AGENT (an async function over a stream of `Delivery`s) as the stage NAME."""
        channel = self.app.channel()
        self.app.agent(channel, name=name)(agent)

        async def deliver(delivery: Delivery) -> None:
            await channel.send(value=delivery)

        stage = Stage(name, inputs, outputs, tables, processor, deliver, metrics)
        self.stages.append(stage)
        return stage

    def _service_class(self) -> type[Service]:
        runtime = self

        class RuntimeService(Service):
            """Runs the exactly-once loop for as long as the worker runs."""

            async def on_start(self) -> None:
                await runtime.start()

            async def on_stop(self) -> None:
                await runtime.stop()

        return RuntimeService

    async def start(self) -> None:
        """Build the loop and run it in the background (called when the worker starts).

        The build ensures topics and claims the worker's identity (broker and file-system
        round trips, about a second): it runs on a thread, so the web server started just
        before keeps answering probes (503 until ready) meanwhile.
        """
        self.loop = await asyncio.to_thread(self._make_loop, self.stages)
        self.app.flow_control.resume()  # faust holds agent streams until this (no recovery)
        self._task = asyncio.ensure_future(self._run(self.loop))

    async def _run(self, loop: ProcessingLoop) -> None:
        try:
            await loop.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("the worker stops: %s", loop.state.error or repr(exc))
            await self.app.crash(exc)

    async def stop(self) -> None:
        """Let the loop finish its step, commit and leave the group."""
        if self.loop is None or self._task is None:
            return
        self.loop.stop()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT_SECS)
        except TimeoutError:
            log.error("the loop did not stop within %.0f s", STOP_TIMEOUT_SECS)
            self._task.cancel()
