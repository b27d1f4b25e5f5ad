"""`primestream orders cancel ID | --all`: ask the live worker to cancel orders at the venue.

The request is an OrderCancel record written to every partition of `orders.cancel`: only
the live worker talks to the venue, and the partition whose tracker holds the order
cancels it (`streams.execution.venue`); the CANCELED event comes back on `orders.events`.
"""

from __future__ import annotations

import getpass

import typer
from confluent_kafka import Producer

from cli.context import console, fail
from infra.clients import producer_config
from infra.clock import wall_clock_us
from schemas.clients import Clients

__all__ = ["app", "send_cancel"]

app = typer.Typer(help="Live orders at the venue.", no_args_is_help=True)


def send_cancel(runtime: Clients, order_id: str | None, reason: str) -> int:
    """Write one OrderCancel (ORDER_ID, None: all open) to every partition; return how many."""
    settings = runtime.settings
    topic = settings.topic("orders.cancel")
    encode = runtime.serializer("OrderCancel", topic)
    producer = Producer(producer_config(settings, runtime.endpoints.bootstrap_servers))
    metadata = producer.list_topics(topic, timeout=10).topics.get(topic)
    partitions = metadata.partitions if metadata is not None else {}
    if not partitions:
        fail(f"topic {topic} does not exist: run `primestream topics apply`")
    record = {
        "order_id": order_id,
        "reason": reason,
        "source": f"operator:{getpass.getuser()}",
        "ts_event_us": wall_clock_us(),
    }
    value = encode(record)
    for partition in sorted(partitions):
        producer.produce(topic, value, b"*", partition=partition)
    if producer.flush(30) != 0:
        fail(f"could not deliver the cancel to every partition of {topic}", code=3)
    return len(partitions)


@app.command("cancel")
def cancel_command(
    order_id: str = typer.Argument(None, help="Our order id (the `id` of the Order record)."),
    all_orders: bool = typer.Option(False, "--all", help="Cancel every open order."),
    reason: str = typer.Option("cancelled by operator", "--reason", help="Recorded with it."),
) -> None:
    """Cancel one order, or every open one, through the live worker (which sends it)."""
    if (order_id is None) == (not all_orders):
        fail("name one order id, or --all (not both)")
    count = send_cancel(Clients(), None if all_orders else order_id, reason)
    what = "every open order" if all_orders else f"order {order_id}"
    console.print(
        f"cancel of {what} sent to the live worker on {count} partitions; "
        "outcomes arrive on orders.events"
    )
