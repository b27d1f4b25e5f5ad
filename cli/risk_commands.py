"""`primestream risk kill | reset | flatten`: the operator's hand on the risk gates.

The risk gate of each partition trips its kill switch by itself when the day's realized
loss passes the limit, and tells the others through `risk.control`. Only an operator
resets it: this writes a RESET (or a KILL) record to every partition of that topic, so
each partition's gate sees it in order with the rest of its input.

`flatten` closes positions through the same gate: it reads the `positions` topic and
writes a FLATTEN command for each symbol held to that symbol's partition; the gate
decides a FLAT signal there (it passes the kill switch and the cooldown, every other rule
applies) and the order goes to the venue like any other.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable

import typer
from confluent_kafka import Producer

from cli.context import console, fail
from cli.operator_records import broadcast
from consumers.render import Received
from infra.clients import producer_config
from infra.clock import wall_clock_us
from schemas.clients import Clients

__all__ = ["app", "held_positions", "send_control"]

app = typer.Typer(help="Trip or reset the risk gate's kill switch on every partition.")


def send_control(runtime: Clients, action: str, reason: str) -> int:
    """Write one RiskControl record to every partition of risk.control; return how many."""
    fields = {"action": action, "reason": reason}
    return broadcast(runtime, "risk.control", "RiskControl", fields, action)


@app.command("reset")
def reset_command(
    reason: str = typer.Option("reset by operator", "--reason", help="Recorded with the reset."),
) -> None:
    """Reset the kill switch: the gates accept orders again."""
    count = send_control(Clients(), "RESET", reason)
    console.print(f"kill switch reset on {count} partitions ({reason})")


@app.command("kill")
def kill_command(
    reason: str = typer.Option("killed by operator", "--reason", help="Recorded with the kill."),
    cancel: bool = typer.Option(
        None,
        "--cancel-orders/--keep-orders",
        help="Also cancel every open order at the live venue "
        "(default: PRIMESTREAM_KILL_CANCELS_ORDERS, true).",
    ),
) -> None:
    """Trip the kill switch: every gate refuses new orders until `risk reset`.

    By default the live worker also cancels every open order at the venue; positions stay
    open (`risk flatten` closes them).
    """
    runtime = Clients()
    count = send_control(runtime, "KILL", reason)
    console.print(f"kill switch tripped on {count} partitions ({reason})")
    if runtime.settings.kill_cancels_orders if cancel is None else cancel:
        from cli.order_commands import send_cancel

        send_cancel(runtime, None, f"kill switch: {reason}")
        console.print("cancel of every open order sent to the live worker")


def held_positions(received: Iterable[Received]) -> dict[str, tuple[float, int]]:
    """Return symbol -> (quantity, partition) of the positions not flat, latest record wins."""
    latest: dict[tuple[str, str], tuple[float, int]] = {}
    for record in received:
        value = record.value
        if value is not None:
            key = (value.get("account", "default"), value["symbol"])
            latest[key] = (float(value["qty"]), record.partition)
    held: dict[str, tuple[float, int]] = {}
    for (_account, symbol), (qty, partition) in latest.items():
        total = held.get(symbol, (0.0, partition))[0] + qty
        held[symbol] = (total, partition)
    return {symbol: v for symbol, v in sorted(held.items()) if abs(v[0]) > 1e-9}


@app.command("flatten")
def flatten_command(
    symbols: list[str] = typer.Argument(None, help="Only these symbols (default: every one held)."),
    reason: str = typer.Option("flattened by operator", "--reason", help="Recorded with it."),
) -> None:
    """Close positions: a FLAT decision per symbol held, through the risk gate, to the venue."""
    from cli.topic_reading import read_records

    runtime = Clients()
    settings = runtime.settings
    held = held_positions(read_records(runtime, settings.topic("positions")))
    wanted = {s.upper() for s in symbols or []}
    targets = {s: v for s, v in held.items() if not wanted or s in wanted}
    if not targets:
        console.print("no open position to flatten")
        return
    topic = settings.topic("risk.control")
    encode = runtime.serializer("RiskControl", topic)
    producer = Producer(producer_config(settings, runtime.endpoints.bootstrap_servers))
    source, now_us = f"operator:{getpass.getuser()}", wall_clock_us()
    for symbol, (_qty, partition) in targets.items():
        record = {"action": "FLATTEN", "reason": reason, "source": source, "symbol": symbol,
                  "ts_event_us": now_us}  # fmt: skip
        producer.produce(topic, encode(record), symbol.encode(), partition=partition)
    if producer.flush(30) != 0:
        fail(f"could not deliver every flatten to {topic}", code=3)
    listed = ", ".join(f"{s} {q:+g}" for s, (q, _p) in targets.items())
    console.print(f"flatten sent through the risk gate for {listed}")
