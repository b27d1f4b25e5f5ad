"""How a processing stage continues the traces of the records it consumes.

Every record carries a `traceparent`; only the sampled ones (flag 01) are recorded. For a
sampled input, the stage records a CONSUMER span that is a child of the record's context and
gives its outputs that span's context, so the next stage hangs below it: one trace per
market event, end to end. Unsampled inputs pass their `traceparent` on unchanged (the trace
id still ties the records together, at no cost). A batch that held sampled records gets one
span of its own with a link to each of them, as the messaging conventions ask for batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import Link, SpanKind, Tracer

from infra.telemetry import TRACEPARENT, Tracing, parse_traceparent

__all__ = ["OutHeaders", "StageTracer", "messaging_attributes"]

OutHeaders = list[tuple[str, bytes]]
RawHeaders = Sequence[tuple[str, bytes | None]] | None


def messaging_attributes(
    topic: str, partition: int, offset: int, key: bytes | None, group: str
) -> dict[str, Any]:
    """Return the OpenTelemetry messaging attributes of one consumed Kafka record."""
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": str(partition),
        "messaging.kafka.offset": offset,
        "messaging.consumer.group.name": group,
    }
    if key is not None:
        attributes["messaging.kafka.message.key"] = key.decode("utf-8", "replace")
    return attributes


def _carrier(headers: RawHeaders) -> dict[str, str]:
    return {
        k: v.decode("ascii", "replace")
        for k, v in headers or ()
        if k in (TRACEPARENT, "tracestate") and v is not None
    }


class StageTracer:
    """Record the spans of one stage (signals, risk, execution, positions) for sampled inputs."""

    def __init__(self, tracing: Tracing | None, stage: str, group: str) -> None:
        name = f"primestream.{stage}"
        self._tracer: Tracer | None = tracing.tracer(name) if tracing else None
        # A batch span is a new root that exists only because sampled records are in it.
        self._root: Tracer | None = tracing.root_provider.get_tracer(name) if tracing else None
        self._stage = stage
        self._group = group
        self.recorded = 0

    @property
    def enabled(self) -> bool:
        """True when spans are exported at all."""
        return self._tracer is not None

    def continue_trace(
        self,
        headers: RawHeaders,
        *,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        attributes: Mapping[str, Any] | None = None,
    ) -> OutHeaders:
        """Return the trace headers for what the record at (TOPIC, PARTITION, OFFSET) caused."""
        parsed = parse_traceparent(headers)
        if parsed is None:
            return []
        carrier = _carrier(headers)
        if self._tracer is None or not parsed[2]:
            return [(k, v.encode()) for k, v in carrier.items()]
        span = self._tracer.start_span(
            f"{self._stage} {topic}",
            context=extract(carrier),
            kind=SpanKind.CONSUMER,
            attributes={
                **messaging_attributes(topic, partition, offset, key, self._group),
                **(attributes or {}),
            },
        )
        span.end()
        self.recorded += 1
        out: dict[str, str] = {}
        inject(out, context=trace.set_span_in_context(span))
        return [(k, v.encode()) for k, v in out.items()]

    def batch(self, linked: Sequence[RawHeaders], *, topic: str, partition: int, size: int) -> None:
        """Record one span for a batch, linked to each sampled record in it (none: no span)."""
        if self._root is None:
            return
        links = []
        for headers in linked:
            parsed = parse_traceparent(headers)
            if parsed is None or not parsed[2]:
                continue
            context = trace.get_current_span(extract(_carrier(headers))).get_span_context()
            links.append(Link(context))
        if not links:
            return
        span = self._root.start_span(
            f"{self._stage} batch {topic}",
            context=trace.set_span_in_context(trace.INVALID_SPAN),
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": topic,
                "messaging.destination.partition.id": str(partition),
                "messaging.batch.message_count": size,
                "messaging.consumer.group.name": self._group,
            },
        )
        span.end()
