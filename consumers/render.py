"""Turn decoded records into table rows and JSON lines (pure; no Kafka)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.table import Table

__all__ = ["Received", "flatten", "format_cell", "record_line", "records_table", "to_json_line"]


@dataclass(frozen=True)
class Received:
    """One consumed record: where it was, and its decoded value (or why it is not)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: Mapping[str, Any] | None
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def trace_id(self) -> str | None:
        """The trace id of the record's traceparent header, if any."""
        parent = self.headers.get("traceparent")
        parts = parent.split("-") if parent else []
        return parts[1] if len(parts) == 4 else None


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested records into dotted keys: sentiment.compound."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and key not in ("params", "features", "values"):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def format_cell(name: str, value: Any) -> str:
    """Render one value for a human: times as ISO-8601 UTC, floats compactly."""
    if value is None:
        return ""
    if name.endswith("_us") and name.startswith("ts") and isinstance(value, int):
        return datetime.fromtimestamp(value / 1e6, tz=UTC).isoformat(timespec="milliseconds")
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_cell(k, v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json_line(received: Received) -> str:
    """Return one JSON object per record, with its coordinates and trace id."""
    doc: dict[str, Any] = {
        "topic": received.topic,
        "partition": received.partition,
        "offset": received.offset,
        "key": received.key,
        "trace_id": received.trace_id,
        "value": received.value,
    }
    if received.error is not None:
        doc["error"] = received.error
        doc["headers"] = dict(received.headers)
    return json.dumps(doc, default=_jsonable, sort_keys=False)


def records_table(
    title: str, batch: Sequence[Received], *, columns: Iterable[str] | None = None
) -> Table:
    """Return a rich table of BATCH: partition, offset, then the record's fields."""
    flat = [flatten(r.value) if r.value is not None else {} for r in batch]
    names = list(columns) if columns is not None else _column_names(flat)
    table = Table(title=title, show_lines=False, header_style="bold cyan")
    table.add_column("p", justify="right")
    table.add_column("offset", justify="right")
    for name in names:
        table.add_column(name, overflow="fold", justify="right" if _numeric(flat, name) else "left")
    for received, values in zip(batch, flat, strict=True):
        if received.error is not None:
            cells = [f"[red]{received.error}[/red]"] + [""] * (len(names) - 1) if names else []
        else:
            cells = [format_cell(n, values.get(n)) for n in names]
        table.add_row(str(received.partition), str(received.offset), *cells)
    return table


def _column_names(flat: Sequence[Mapping[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for values in flat:
        names.update(dict.fromkeys(values))
    return list(names) or ["value"]


def _numeric(flat: Sequence[Mapping[str, Any]], name: str) -> bool:
    return any(
        isinstance(v.get(name), int | float | Decimal) for v in flat
    ) and not name.startswith("ts")


def record_line(received: Received) -> str:
    """Return one readable line for a followed record: coordinates, key, then fields."""
    where = f"[dim]{received.topic}[{received.partition}]@{received.offset}[/dim]"
    if received.error is not None or received.value is None:
        return f"{where} [red]{received.error or 'empty'}[/red]"
    fields = " ".join(
        f"{name}=[bold]{format_cell(name, value)}[/bold]"
        for name, value in flatten(received.value).items()
        if name != "symbol" and value is not None
    )
    return f"{where} [cyan]{received.key}[/cyan] {fields}"
