"""Dead letters for a reader: a rich table, JSON lines, the redrive summary (pure; no Kafka)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from rich.markup import escape
from rich.table import Table

from consumers.deadletters import RedrivePlan, StoredDeadLetter
from consumers.render import Received
from streams.deadletter import DeadLetter

__all__ = ["letter_doc", "letter_json", "letters_table", "redrive_table", "tail_view"]

_HEX_BYTES = 48


def _time(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _source(letter: DeadLetter | None) -> str:
    return f"{letter.source_topic}[{letter.partition}]@{letter.offset}" if letter else "?"


def letter_doc(dead: StoredDeadLetter, *, redriven: bool | None = None) -> dict[str, Any]:
    """Return DEAD as a JSON-ready mapping: its place, key, source, reason, time, bytes."""
    letter = dead.letter
    doc: dict[str, Any] = {
        "partition": dead.partition,
        "offset": dead.offset,
        "time": _time(dead.timestamp_ms),
        "key": dead.key_text,
        "source": (
            {"topic": letter.source_topic, "partition": letter.partition, "offset": letter.offset}
            if letter
            else None
        ),
        "error": {"type": dead.error_type, "message": letter.message if letter else ""},
        "stage": dead.stage or None,
        "bytes": len(dead.value),
        "hex": dead.value[:_HEX_BYTES].hex(),
    }
    if redriven is not None:
        doc["redriven"] = redriven
    return doc


def letter_json(dead: StoredDeadLetter, *, redriven: bool | None = None) -> str:
    """Return one JSON line for DEAD (see `letter_doc`)."""
    return json.dumps(letter_doc(dead, redriven=redriven))


def letters_table(
    title: str, letters: Sequence[StoredDeadLetter], redriven: Collection[bytes] = ()
) -> Table:
    """Return a rich table of LETTERS; those whose marker key is in REDRIVEN say so."""
    table = Table(title=title, header_style="bold cyan")
    table.add_column("p", justify="right", no_wrap=True)
    table.add_column("offset", justify="right", no_wrap=True)
    table.add_column("time", no_wrap=True)
    table.add_column("key", overflow="fold")
    table.add_column("source", overflow="fold")
    table.add_column("error", style="red", no_wrap=True)
    table.add_column("message", overflow="fold", ratio=1)
    table.add_column("bytes", justify="right")
    table.add_column("redriven", justify="center")
    for dead in letters:
        table.add_row(
            str(dead.partition),
            str(dead.offset),
            _time(dead.timestamp_ms),
            escape(dead.key_text or ""),
            escape(_source(dead.letter)),
            escape(dead.error_type),
            escape(dead.letter.message if dead.letter else ""),
            str(len(dead.value)),
            "yes" if dead.marker_key in redriven else "",
        )
    return table


def redrive_table(plan: RedrivePlan, *, dry_run: bool) -> Table:
    """Return the redrive summary: per reason and source, sent (or to send) and skipped."""
    verb = "to redrive" if dry_run else "redriven"
    title = "dead letters " + ("(dry run: nothing sent)" if dry_run else "redriven")
    table = Table(title=title, header_style="bold cyan", show_footer=True)
    table.add_column("error", footer="total")
    table.add_column("source topic")
    rows = plan.summary()
    table.add_column(verb, justify="right", footer=str(sum(r[2] for r in rows)))
    table.add_column("already redriven", justify="right", footer=str(sum(r[3] for r in rows)))
    for reason, source, todo, already in rows:
        table.add_row(escape(reason), escape(source), str(todo), str(already))
    return table


def tail_view(received: Received) -> Received:
    """Return RECEIVED (a raw dead letter) with its key, reason and source in its value.

    `tail` decodes a dead letter to its size and first bytes; the headers say the rest.
    """
    letter = DeadLetter.from_headers(received.headers)
    view: dict[str, Any] = {"key": received.key}
    if letter is not None:
        view |= {"error": letter.error_type, "message": letter.message, "source": _source(letter)}
    view.update(received.value or {})
    return replace(received, value=view)
