"""The edge of every stage: raw Kafka records in, decoded records or dead letters out.

Agents receive raw bytes (decoding at the edge is cheaper than faust's codecs, see
BENCHMARKS.md) and hand whole batches to a pure processor. What every processor shares
lives here: the record shape the consumer delivers, the shape of what a stage emits, and
the one way a record that cannot be decoded, or whose key lies about its symbol, becomes
a dead letter instead of an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from schemas.exceptions import DecodeError
from streams.deadletter import DeadLetter

__all__ = [
    "END_OF_STREAM",
    "Decoder",
    "Headers",
    "OutRecord",
    "RawRecord",
    "StageOutput",
    "StateLoader",
    "TableLoaders",
    "dead_letter",
    "decode_edge",
    "decoded",
]

Headers = Sequence[tuple[str, bytes]]
# The header of an end-of-stream marker: an empty record a finite input (a backtest) writes
# to each partition after its last record. Stages skip it like a tombstone; its offset is
# committed with the rest, which is how the writer knows the input was processed to its end.
END_OF_STREAM = "primestream.end-of-stream"
Decoder = Callable[[bytes], Mapping[str, Any] | None]
StateLoader = Callable[[str], Any]
TableLoaders = Mapping[str, StateLoader]  # table name → its loader


class RawRecord(Protocol):
    """What the consumer delivers (aiokafka's ConsumerRecord has these)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass(init=False, slots=True)
class OutRecord:
    """A record to send: key, value (raw bytes or a record dict), headers, partition.

    PARTITION is None for keyed records (the partitioner places them by key); a stage that
    must reach every partition (the kill switch) names them. Fields are `Final`; its
    `__init__` is written out so that it compiles (see `StrategyView`).
    """

    key: Final[bytes | None]
    value: Final[Any]
    headers: Final[list[tuple[str, bytes]]]
    partition: Final[int | None]

    def __init__(
        self,
        key: bytes | None,
        value: Any,
        headers: list[tuple[str, bytes]],
        partition: int | None = None,
    ) -> None:
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition


@dataclass
class StageOutput:
    """What a stage produced from one batch.

    Records per logical topic, dead letters, and the table keys whose state changed (each
    written once at the end of the batch).
    """

    records: list[tuple[str, OutRecord]] = field(default_factory=list)
    deadletters: list[OutRecord] = field(default_factory=list)
    changed: set[Any] = field(default_factory=set)  # keys, or (table, key) pairs
    processed: int = 0

    def emit(self, topic: str, key: str, value: Any, headers: list[tuple[str, bytes]]) -> None:
        """Queue VALUE for the logical TOPIC, keyed by KEY."""
        self.records.append((topic, OutRecord(key.encode(), value, headers)))

    def outs(self, topic: str) -> list[OutRecord]:
        """Return the records queued for the logical TOPIC."""
        return [out for name, out in self.records if name == topic]

    def of(self, topic: str) -> list[Any]:
        """Return the values queued for the logical TOPIC (tests read them)."""
        return [out.value for out in self.outs(topic)]


def dead_letter(raw: RawRecord, error_type: str, message: str) -> OutRecord:
    """Return RAW as a dead letter: its bytes and key untouched, the reason in headers."""
    letter = DeadLetter(raw.topic, raw.partition, raw.offset, error_type, message)
    return OutRecord(raw.key, raw.value or b"", letter.headers(raw.headers or ()))


def decode_edge(
    raw: RawRecord, decode: Decoder, *, keyed_by_symbol: bool = True
) -> Mapping[str, Any] | OutRecord | None:
    """Return RAW decoded, a dead letter (OutRecord) for bad input, or None to skip it.

    Tombstones and end-of-stream markers (empty values) are skipped. A key that
    disagrees with the record's symbol is bad input: the record would sit in another
    symbol's partition and state.
    """
    if not raw.value:
        return None
    try:
        record = decode(raw.value)
    except DecodeError as exc:
        return dead_letter(raw, "DecodeError", exc.reason)
    if record is None:
        return None
    if keyed_by_symbol and raw.key:
        key = raw.key.decode("utf-8", "replace")
        if key != record.get("symbol"):
            reason = f"key {key!r} does not match symbol {record.get('symbol')!r}"
            return dead_letter(raw, "KeyMismatch", reason)
    return record


def decoded(
    records: Iterable[RawRecord],
    decoders: Mapping[str, tuple[str, Decoder]],
    out: StageOutput,
    *,
    unkeyed: frozenset[str] = frozenset(),
) -> Iterator[tuple[RawRecord, str, Mapping[str, Any]]]:
    """Yield (raw, record name, record) for each usable record of RECORDS, counting them.

    Bad input goes to OUT's dead letters and tombstones are skipped, so a processor's loop
    sees only records it can act on. Records named in UNKEYED are not keyed by symbol.
    """
    for raw in records:
        out.processed += 1
        record_name, decode = decoders[raw.topic]
        value = decode_edge(raw, decode, keyed_by_symbol=record_name not in unkeyed)
        if isinstance(value, OutRecord):
            out.deadletters.append(value)
        elif value is not None:
            yield raw, record_name, value
