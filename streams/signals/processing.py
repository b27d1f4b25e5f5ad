"""One partition's batch of raw records → signals, dead letters and table writes (no Kafka).

The agent hands over what the consumer fetched for one topic-partition; this decodes each
record at the edge, routes undecodable or late ones to dead letters, runs the symbol's
engine, and says which symbol states changed, so the table is written once per symbol
per batch rather than once per record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from infra.stage_tracing import StageTracer
from schemas.exceptions import DecodeError
from streams.deadletter import DeadLetter
from streams.engine import EngineSettings, Event, SymbolEngine
from streams.strategies import StrategyConfig

__all__ = ["BatchResult", "OutRecord", "RawRecord", "SignalProcessor"]

Headers = Sequence[tuple[str, bytes]]
_KIND_OF_RECORD = {"Quote": "quote", "Bar": "bar", "NewsItem": "news"}


class RawRecord(Protocol):
    """What the consumer delivers (aiokafka's ConsumerRecord has these)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass(frozen=True)
class OutRecord:
    """A record to send: key, value (raw bytes or a Signal dict) and headers."""

    key: bytes | None
    value: Any
    headers: list[tuple[str, bytes]]


@dataclass
class BatchResult:
    """What one batch produced."""

    signals: list[OutRecord] = field(default_factory=list)
    deadletters: list[OutRecord] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    processed: int = 0


Decoder = Callable[[bytes], Mapping[str, Any] | None]
StateLoader = Callable[[str], Mapping[str, Any] | None]


class SignalProcessor:
    """Decode, order and evaluate records; keeps a working set of symbol engines."""

    def __init__(
        self,
        config: StrategyConfig,
        settings: EngineSettings,
        decoders: Mapping[str, tuple[str, Decoder]],
        tracer: StageTracer | None = None,
    ) -> None:
        """Map each input topic to (record name, decoder) in DECODERS; TRACER records spans."""
        self._config = config
        self._settings = settings
        self._decoders = decoders
        self._tracer = tracer or StageTracer(None, "signals", "")
        self.engines: dict[str, SymbolEngine] = {}

    def engine(self, symbol: str, load: StateLoader) -> SymbolEngine:
        """Return SYMBOL's engine, restored from the table on first use."""
        engine = self.engines.get(symbol)
        if engine is None:
            state = load(symbol)
            engine = (
                SymbolEngine.from_state(symbol, self._config, self._settings, state)
                if state is not None
                else SymbolEngine(symbol, self._config, self._settings)
            )
            self.engines[symbol] = engine
        return engine

    def forget(self) -> None:
        """Drop the working set (partitions were revoked: the table is the truth)."""
        self.engines.clear()

    def process(self, records: Iterable[RawRecord], load: StateLoader) -> BatchResult:
        """Run RECORDS (one topic-partition, in offset order) through the engines."""
        result = BatchResult()
        tracer = self._tracer
        traced: list[Headers] = []
        last: RawRecord | None = None
        for raw in records:
            last = raw
            result.processed += 1
            if tracer.enabled:
                traced.append(raw.headers)
            decoded = self._decode(raw, result)
            if decoded is None:
                continue
            kind, record = decoded
            symbol = record["symbol"]
            engine = self.engine(symbol, load)
            output = engine.on_event(Event(kind, record["ts_event_us"], dict(record)))
            result.changed.add(symbol)
            if output.signals:
                headers = tracer.continue_trace(
                    raw.headers,
                    topic=raw.topic,
                    partition=raw.partition,
                    offset=raw.offset,
                    key=raw.key,
                    attributes={"symbol": symbol, "signals": len(output.signals)},
                )
                for signal in output.signals:
                    result.signals.append(OutRecord(symbol.encode(), signal, headers))
            for late in output.late:
                result.deadletters.append(_dead(raw, "LateRecord", late.reason))
        if traced and last is not None:
            tracer.batch(traced, topic=last.topic, partition=last.partition, size=result.processed)
        return result

    def _decode(self, raw: RawRecord, result: BatchResult) -> tuple[str, Mapping[str, Any]] | None:
        record_name, decode = self._decoders[raw.topic]
        try:
            record = decode(raw.value or b"")
        except DecodeError as exc:
            result.deadletters.append(_dead(raw, "DecodeError", exc.reason))
            return None
        if record is None:  # a tombstone carries nothing to compute on
            return None
        key = raw.key.decode("utf-8", "replace") if raw.key else None
        if key is not None and key != record.get("symbol"):
            reason = f"key {key!r} does not match symbol {record.get('symbol')!r}"
            result.deadletters.append(_dead(raw, "KeyMismatch", reason))
            return None
        return _KIND_OF_RECORD[record_name], record


def _dead(raw: RawRecord, error_type: str, message: str) -> OutRecord:
    letter = DeadLetter(raw.topic, raw.partition, raw.offset, error_type, message)
    return OutRecord(raw.key, raw.value or b"", letter.headers(raw.headers or ()))
