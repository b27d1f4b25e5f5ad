"""One partition's batch of raw records → signals, dead letters and table writes (no Kafka).

The agent hands over what the consumer fetched for one topic-partition; this decodes each
record at the edge, routes undecodable or late ones to dead letters, runs the symbol's
engine, and says which symbol states changed, so the table is written once per symbol
per batch rather than once per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.stage_tracing import StageTracer
from streams.edge import (
    Decoder,
    Headers,
    OutRecord,
    RawRecord,
    StageOutput,
    StateLoader,
    dead_letter,
    decode_edge,
)
from streams.engine import EngineSettings, Event, SymbolEngine
from streams.strategies import StrategyConfig

__all__ = ["SignalProcessor"]

_KIND_OF_RECORD = {"Quote": "quote", "Bar": "bar", "NewsItem": "news"}


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

    def state(self, symbol: str) -> dict[str, Any]:
        """Return SYMBOL's engine state, the table value."""
        return self.engines[symbol].state()

    def forget(self) -> None:
        """Drop the working set (partitions were revoked: the table is the truth)."""
        self.engines.clear()

    def process(self, records: Iterable[RawRecord], load: StateLoader) -> StageOutput:
        """Run RECORDS (one topic-partition, in offset order) through the engines."""
        result = StageOutput()
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
                    result.emit("signals", symbol, signal, headers)
            for late in output.late:
                result.deadletters.append(dead_letter(raw, "LateRecord", late.reason))
        if traced and last is not None:
            tracer.batch(traced, topic=last.topic, partition=last.partition, size=result.processed)
        return result

    def _decode(self, raw: RawRecord, result: StageOutput) -> tuple[str, Mapping[str, Any]] | None:
        record_name, decode = self._decoders[raw.topic]
        decoded = decode_edge(raw, decode)
        if isinstance(decoded, OutRecord):
            result.deadletters.append(decoded)
            return None
        if decoded is None:  # a tombstone carries nothing to compute on
            return None
        return _KIND_OF_RECORD[record_name], decoded
