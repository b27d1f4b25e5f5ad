"""`primestream risk kill | reset`: the operator's hand on every partition's kill switch.

The risk gate of each partition trips its kill switch by itself when the day's realized
loss passes the limit, and tells the others through `risk.control`. Only an operator
resets it: this writes a RESET (or a KILL) record to every partition of that topic, so
each partition's gate sees it in order with the rest of its input.
"""

from __future__ import annotations

import getpass

import typer
from confluent_kafka import Producer

from cli.context import console, fail
from infra.clients import producer_config
from infra.clock import wall_clock_us
from schemas.clients import Clients

__all__ = ["app", "send_control"]

app = typer.Typer(help="Trip or reset the risk gate's kill switch on every partition.")


def send_control(runtime: Clients, action: str, reason: str) -> int:
    """Write one RiskControl record to every partition of risk.control; return how many."""
    settings = runtime.settings
    topic = settings.topic("risk.control")
    encode = runtime.serializer("RiskControl", topic)
    producer = Producer(producer_config(settings, runtime.endpoints.bootstrap_servers))
    partitions = producer.list_topics(topic, timeout=10).topics[topic].partitions
    if not partitions:
        fail(f"topic {topic} does not exist: run `primestream topics apply`")
    record = {
        "action": action,
        "reason": reason,
        "source": f"operator:{getpass.getuser()}",
        "ts_event_us": wall_clock_us(),
    }
    value = encode(record)
    for partition in sorted(partitions):
        producer.produce(topic, value, b"*", partition=partition)
    if producer.flush(30) != 0:
        fail(f"could not deliver the {action} to every partition of {topic}", code=3)
    return len(partitions)


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
) -> None:
    """Trip the kill switch: every gate refuses new orders until `risk reset`."""
    count = send_control(Clients(), "KILL", reason)
    console.print(f"kill switch tripped on {count} partitions ({reason})")
