"""Dead letters as an operator works them: what each one is, which to pick, which are done.

Pure (no Kafka): the record shape read from the `deadletter` topic, the `--reason` /
`--source` filter, and the redrive bookkeeping. A redrive records one **marker** per dead
letter on the compacted `deadletter.redriven` topic, keyed by the dead letter's own
coordinates (`<partition>/<offset>` in the `deadletter` topic), in the same transaction as
the record it sends back (`consumers/redrive.py` says why that makes it exactly once).
The marker also holds the dead letter's Kafka timestamp: a `deadletter` topic deleted and
created again reuses offsets, and its new dead letters must not pass for redriven ones.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from streams.deadletter import STAGE, DeadLetter, original_headers

__all__ = [
    "DeadLetterFilter",
    "RedrivePlan",
    "StoredDeadLetter",
    "decode_marker",
    "encode_marker",
    "newest",
    "plan_redrive",
]


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


@dataclass(frozen=True)
class StoredDeadLetter:
    """One record of the `deadletter` topic: where it sits, what it carries, and why.

    PARTITION and OFFSET are its place in the `deadletter` topic, TIMESTAMP_MS when it was
    dead-lettered; KEY, VALUE and HEADERS are as stored (the `deadletter.*` headers
    included). LETTER is None for a record no stage wrote (no source coordinates).
    """

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    letter: DeadLetter | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        decoded = {k: _text(v) for k, v in self.headers}
        object.__setattr__(self, "letter", DeadLetter.from_headers(decoded))

    @property
    def marker_key(self) -> bytes:
        """The key of this dead letter's redrive marker: `<partition>/<offset>`."""
        return f"{self.partition}/{self.offset}".encode()

    @property
    def key_text(self) -> str | None:
        """The key as text (keys are symbols), None for a record without one."""
        return None if self.key is None else _text(self.key)

    @property
    def error_type(self) -> str:
        """The reason's kind: a class name (DecodeError) or a rule (LateRecord)."""
        return self.letter.error_type if self.letter is not None else ""

    @property
    def stage(self) -> str:
        """The stage (agent) that refused it, when the runtime said."""
        return next((_text(v) for k, v in self.headers if k == STAGE), "")

    def original_headers(self) -> list[tuple[str, bytes]]:
        """Return the headers it carried when it came in (without the `deadletter.*` ones)."""
        return original_headers(self.headers)


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters to show or send back: by error type, by source topic (full name)."""

    reason: str | None = None
    source: str | None = None

    def matches(self, dead: StoredDeadLetter) -> bool:
        """Return whether DEAD has this reason and source (an unset one matches all)."""
        if self.reason is not None and dead.error_type != self.reason:
            return False
        if self.source is None:
            return True
        return dead.letter is not None and dead.letter.source_topic == self.source

    def select(self, letters: Iterable[StoredDeadLetter]) -> list[StoredDeadLetter]:
        """Return the LETTERS this filter matches, in their order."""
        return [dead for dead in letters if self.matches(dead)]


def newest(letters: Sequence[StoredDeadLetter], limit: int) -> list[StoredDeadLetter]:
    """Return the LIMIT most recent of LETTERS (by time, then place), in their order.

    LIMIT 0: all of them. A table of ten thousand rows is neither readable nor quick to
    draw; the newest are usually what an operator is looking for.
    """
    if limit <= 0 or len(letters) <= limit:
        return list(letters)
    recent = sorted(letters, key=lambda d: (d.timestamp_ms, d.partition, d.offset))[-limit:]
    kept = {(d.partition, d.offset) for d in recent}
    return [d for d in letters if (d.partition, d.offset) in kept]


def encode_marker(dead: StoredDeadLetter, redriven_at_ms: int) -> tuple[bytes, bytes]:
    """Return the (key, value) of the marker that says DEAD was sent back at REDRIVEN_AT_MS."""
    letter = dead.letter
    value = {
        "deadletter_timestamp_ms": dead.timestamp_ms,
        "source_topic": letter.source_topic if letter else None,
        "source_partition": letter.partition if letter else None,
        "source_offset": letter.offset if letter else None,
        "error_type": dead.error_type,
        "redriven_at_ms": redriven_at_ms,
    }
    return dead.marker_key, json.dumps(value, sort_keys=True).encode()


def decode_marker(key: bytes | None, value: bytes | None) -> tuple[bytes, int] | None:
    """Return (marker key, the dead letter's timestamp) of a marker; None if it is not one."""
    if not key or not value:
        return None  # a tombstone (or garbage): no claim that anything was redriven
    try:
        doc = json.loads(value)
        return key, int(doc["deadletter_timestamp_ms"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class RedrivePlan:
    """What a redrive sends back (in source order) and what it leaves, and why."""

    todo: list[StoredDeadLetter]
    already: list[StoredDeadLetter]  # redriven before: a marker names them
    unroutable: list[StoredDeadLetter]  # no source, or one outside the namespace

    def summary(self) -> list[tuple[str, str, int, int]]:
        """Return (error type, source topic, to send, already redriven) rows, sorted."""
        counts: dict[tuple[str, str], list[int]] = {}
        for column, letters in ((0, self.todo), (1, self.already)):
            for dead in letters:
                source = dead.letter.source_topic if dead.letter else "?"
                counts.setdefault((dead.error_type, source), [0, 0])[column] += 1
        return [(reason, src, n[0], n[1]) for (reason, src), n in sorted(counts.items())]


def plan_redrive(
    letters: Sequence[StoredDeadLetter],
    chosen: DeadLetterFilter,
    markers: Mapping[bytes, int],
    routes: Collection[str] | None = None,
) -> RedrivePlan:
    """Return which of LETTERS matching CHOSEN to send back, given the MARKERS already written.

    MARKERS maps a marker key to the timestamp of the dead letter it was written for.
    ROUTES, when given, are the only source topics a record may go back to (the
    namespace's own: a dead letter copied from elsewhere must not write into live topics).
    The records to send are ordered by source topic, partition and offset, so each source
    partition gets them back in the order it first had them.
    """
    todo, already, unroutable = [], [], []
    for dead in chosen.select(letters):
        if dead.letter is None or (routes is not None and dead.letter.source_topic not in routes):
            unroutable.append(dead)
        elif markers.get(dead.marker_key) == dead.timestamp_ms:
            already.append(dead)
        else:
            todo.append(dead)

    def source_order(dead: StoredDeadLetter) -> tuple[str, int, int]:
        letter = dead.letter or DeadLetter("", 0, 0, "", "")  # todo holds routable ones only
        return letter.source_topic, letter.partition, letter.offset

    return RedrivePlan(sorted(todo, key=source_order), already, unroutable)
