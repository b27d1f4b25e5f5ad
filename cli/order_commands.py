"""`primestream orders cancel ID | --all`: ask the live worker to cancel orders at the venue.

The request is an OrderCancel record written to every partition of `orders.cancel`: only
the live worker talks to the venue, and the partition whose tracker holds the order
cancels it (`streams.execution.venue`); the CANCELED event comes back on `orders.events`.
"""

from __future__ import annotations

import typer

from cli.context import console, fail
from cli.operator_records import broadcast
from schemas.clients import Clients

__all__ = ["app", "send_cancel"]

app = typer.Typer(help="Live orders at the venue.", no_args_is_help=True)


def send_cancel(runtime: Clients, order_id: str | None, reason: str) -> int:
    """Write one OrderCancel (ORDER_ID, None: all open) to every partition; return how many."""
    fields = {"order_id": order_id, "reason": reason}
    return broadcast(runtime, "orders.cancel", "OrderCancel", fields, "cancel")


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
