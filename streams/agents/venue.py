"""The live execution agent and the clock that makes it poll the venue.

In live mode the risk gate's `orders` go to this agent (see `streams.execution.venue`).
Polling has to run through the agent's own exactly-once transactions, so a clock in every
worker writes one `venue.poll` record to each partition of `venue.poll` it consumes, every
`venue_poll_secs`: the agent of that partition then asks the venue what happened.
Those poll records are disposable (a lost or doubled one only moves a poll), so the clock
writes them with a plain idempotent producer, outside any transaction.

When the venue's session expires the worker stops itself as Ctrl-C would (SIGTERM to its
own process: the batch is committed, the group left) and `primestream worker` exits with
`SESSION_EXPIRED_EXIT` and one line saying so (`streams.stop_request`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Any

from confluent_kafka import Producer

from infra.clients import producer_config
from infra.clock import wall_clock_us
from streams.context import ProcessingContext
from streams.execution.etrade import ETradeBroker
from streams.execution.etrade_auth import session_expired
from streams.execution.venue import VENUE_TABLE, TrackingAdapter, VenueProcessor
from streams.runtime import StreamRuntime
from streams.stage import StageSpec, register_stage
from streams.stop_request import SESSION_EXPIRED_EXIT

__all__ = ["SPEC", "live_adapter", "register"]

log = logging.getLogger(__name__)

SPEC = StageSpec(
    "venue",
    {"orders": "Order", "venue.poll": "VenuePoll", "orders.cancel": "OrderCancel"},
    {"orders.events": "OrderEvent", "fills": "Fill"},
    (VENUE_TABLE,),
)


def live_adapter(ctx: ProcessingContext) -> TrackingAdapter:
    """Return the live venue's adapter from settings (E*TRADE, the one live venue today)."""
    return ETradeBroker.from_settings(ctx.settings, clock=wall_clock_us)


def register(
    runtime: StreamRuntime, ctx: ProcessingContext, adapter: TrackingAdapter | None = None
) -> None:
    """Register the live execution agent and its venue clock on the worker."""
    venue = adapter if adapter is not None else live_adapter(ctx)

    def expired(reason: str) -> None:
        message = session_expired(reason)
        if ctx.stop.request(message, SESSION_EXPIRED_EXIT):
            log.error("the worker stops: %s", message)
            os.kill(os.getpid(), signal.SIGTERM)  # the clean stop path of Ctrl-C

    def make(inputs: dict[str, str]) -> VenueProcessor:
        decoders = {topic: (record, ctx.decoder(record)) for topic, record in inputs.items()}
        return VenueProcessor(venue, decoders, on_expired=expired)

    register_stage(runtime, ctx, SPEC, make)
    _add_clock(runtime, ctx)


def _add_clock(runtime: StreamRuntime, ctx: ProcessingContext) -> None:
    topic = ctx.settings.topic("venue.poll")
    encode = ctx.serializer("VenuePoll", topic)
    source = f"venue-clock/{socket.gethostname()}"
    producer: list[Any] = []  # created on first use: the worker's endpoints are up by then

    async def poll_venue() -> None:
        loop = runtime.loop
        held = loop.state.held if loop is not None else ()
        mine = sorted({partition for name, partition in held if name == topic})
        if not mine:
            return
        if not producer:
            config = producer_config(ctx.settings, ctx.endpoints.bootstrap_servers)
            producer.append(Producer(config))
        value = encode({"ts_event_us": wall_clock_us(), "source": source})
        for partition in mine:
            producer[0].produce(topic, key=b"*", value=value, partition=partition)
        producer[0].poll(0)

    runtime.app.timer(ctx.settings.venue_poll_secs, on_leader=False, name="venue-clock")(poll_venue)
