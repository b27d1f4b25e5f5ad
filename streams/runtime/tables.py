"""Changelog-backed tables: the committed state of each key, by partition, and its changelog.

A table is what Kafka has committed, nothing more. Agents keep live objects (engines, books)
in their own working sets between batches and say which keys they changed; at each commit
the worker serializes every changed key **once** and writes it to the worker's compacted
changelog topic inside the transaction (`write`; one topic for all tables, each record
keyed `<table>/<key>`: `infra.topics.changelog_topic` says why), and the new values
become the table's only when that transaction committed (`commit`); an aborted one leaves
the table as it was (`abort`). So the table never holds a write Kafka aborted, a restart
or a rebalance rebuilds it from the changelog alone (`streams.runtime.restore`), and no
local store needs wiping after a crash.

Values are kept as the encoded bytes (compact: 5,000 symbols of engine state are a few MB)
and decoded on read. Keys are the symbol (or `partition-<n>`) as UTF-8; a key written by the
faust runtime before it (JSON-quoted, in a per-table changelog) is read too
(`streams.runtime.migrate`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from infra.topics import changelog_topic

__all__ = [
    "ChangelogTable",
    "changelog_key",
    "changelog_topic",
    "decode_key",
    "decode_value",
    "encode_value",
    "split_changelog_key",
]

_TABLE_END = "/"


def encode_value(value: Any) -> bytes:
    """Return a table value (JSON-able state) as changelog bytes."""
    return json.dumps(value, separators=(",", ":")).encode()


def decode_value(raw: bytes) -> Any:
    """Return the state a changelog value holds."""
    return json.loads(raw)


def decode_key(raw: bytes) -> str:
    """Return the key a changelog record holds (UTF-8; JSON-quoted from the old runtime)."""
    text = raw.decode("utf-8")
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        decoded = json.loads(text)
        if isinstance(decoded, str):
            return decoded
    return text


def changelog_key(table: str, key: str) -> bytes:
    """Return the changelog record key of TABLE's KEY (`<table>/<key>`)."""
    return f"{table}{_TABLE_END}{key}".encode()


def split_changelog_key(raw: bytes) -> tuple[str, str]:
    """Return the (table, key) a changelog record key names; ValueError if it names none.

    A table's name never holds a "/" (a key may: `BRK/B`), so the first one ends it.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"a changelog key that is not UTF-8: {raw!r}") from exc
    table, end, key = text.partition(_TABLE_END)
    if not end or not table:
        raise ValueError(f"a changelog key without a table: {raw!r}")
    return table, key


@dataclass(frozen=True)
class Write:
    """One key's new state in the open transaction (None: deleted)."""

    partition: int
    key: str
    value: bytes | None


class ChangelogTable:
    """The committed state of one table's partitions held by this worker.

    Thread-safe: the worker's Kafka thread commits and restores while the web views read.
    """

    def __init__(self, name: str, topic: str) -> None:
        if _TABLE_END in name or not name:
            raise ValueError(f"a table's name must be non-empty, without {_TABLE_END!r}: {name!r}")
        self.name = name
        self.topic = topic
        self._lock = threading.Lock()
        self._partitions: dict[int, dict[str, bytes]] = {}
        self._pending: list[Write] = []

    # ----------------------------------------------------------------- reading
    def get(self, key: str, partition: int | None = None) -> Any:
        """Return KEY's committed state, None if absent (PARTITION: where to look)."""
        with self._lock:
            parts = (
                [self._partitions.get(partition, {})]
                if partition is not None
                else list(self._partitions.values())
            )
            raw = next((part[key] for part in parts if key in part), None)
        return None if raw is None else decode_value(raw)

    def items(self) -> list[tuple[str, Any]]:
        """Return every (key, committed state) of the partitions held, sorted by key."""
        with self._lock:
            pairs = [(k, v) for part in self._partitions.values() for k, v in part.items()]
        return sorted((key, decode_value(raw)) for key, raw in pairs)

    def partition_items(self, partition: int) -> list[tuple[str, Any]]:
        """Return every (key, committed state) of PARTITION, sorted by key."""
        with self._lock:
            pairs = list(self._partitions.get(partition, {}).items())
        return sorted((key, decode_value(raw)) for key, raw in pairs)

    def partitions(self) -> list[int]:
        """Return the partitions this worker holds the table's state of."""
        with self._lock:
            return sorted(self._partitions)

    def size(self, partition: int) -> int:
        """Return how many keys PARTITION holds."""
        with self._lock:
            return len(self._partitions.get(partition, {}))

    def __iter__(self) -> Iterator[str]:
        return iter([key for key, _ in self.items()])

    # --------------------------------------------------- the open transaction
    def write(self, partition: int, key: str, value: Any) -> Write:
        """Stage KEY's new state (None: delete) in the open transaction; return the write."""
        change = Write(partition, key, None if value is None else encode_value(value))
        self._pending.append(change)
        return change

    def record_key(self, key: str) -> bytes:
        """Return KEY's changelog record key (the table's name first: the topic is shared)."""
        return changelog_key(self.name, key)

    def commit(self) -> None:
        """Make the open transaction's writes the table's (it committed)."""
        with self._lock:
            for change in self._pending:
                part = self._partitions.setdefault(change.partition, {})
                if change.value is None:
                    part.pop(change.key, None)
                else:
                    part[change.key] = change.value
        self._pending.clear()

    def abort(self) -> None:
        """Forget the open transaction's writes (it aborted)."""
        self._pending.clear()

    # ------------------------------------------------------------ assignment
    def hold(self, partition: int) -> None:
        """Start holding PARTITION (empty until restored)."""
        with self._lock:
            self._partitions.setdefault(partition, {})

    def drop(self, partition: int) -> None:
        """Stop holding PARTITION: another worker owns its state now."""
        with self._lock:
            self._partitions.pop(partition, None)

    def restored(self, partition: int, name: str, value: bytes | None) -> None:
        """Apply one committed changelog record of PARTITION, key NAME (value None: deleted)."""
        with self._lock:
            part = self._partitions.setdefault(partition, {})
            if value is None:
                part.pop(name, None)
            else:
                part[name] = value
