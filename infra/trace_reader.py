"""Read one trace back from the tracing backend's query API, to show (demo) or check (tests) it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

__all__ = ["TraceSpan", "fetch_trace", "parse_zipkin_trace", "path_to_root", "stage_of"]


@dataclass(frozen=True)
class TraceSpan:
    """One span as the backend stored it; times in µs since the epoch, tags as strings."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str | None
    start_us: int
    duration_us: int
    service: str | None
    tags: Mapping[str, str]


def stage_of(span: TraceSpan) -> str:
    """Return the stage a span stands for: the first word of its name (`risk t1.market.quotes`)."""
    return span.name.split(" ", 1)[0]


def parse_zipkin_trace(payload: object) -> list[TraceSpan]:
    """Return the spans of a Zipkin v2 trace (`GET /api/v2/trace/{id}`), by start time.

    Raises ValueError when PAYLOAD is not a list of spans.
    """
    if not isinstance(payload, list):
        raise ValueError(f"a Zipkin trace is a JSON list, got {type(payload).__name__}")
    spans = []
    for item in payload:
        if not isinstance(item, dict) or "id" not in item or "traceId" not in item:
            raise ValueError(f"not a Zipkin span: {item!r}")
        endpoint = item.get("localEndpoint") or {}
        spans.append(
            TraceSpan(
                trace_id=str(item["traceId"]),
                span_id=str(item["id"]),
                parent_id=None if item.get("parentId") is None else str(item["parentId"]),
                name=str(item.get("name", "")),
                kind=None if item.get("kind") is None else str(item["kind"]),
                start_us=int(item.get("timestamp", 0)),
                duration_us=int(item.get("duration", 0)),
                service=endpoint.get("serviceName") if isinstance(endpoint, dict) else None,
                tags={str(k): str(v) for k, v in dict(item.get("tags") or {}).items()},
            )
        )
    return sorted(spans, key=lambda span: (span.start_us, span.span_id))


def fetch_trace(
    address: str, trace_id: str, *, client: httpx.Client | None = None
) -> list[TraceSpan]:
    """Return the spans the backend at ADDRESS holds for TRACE_ID ([] while it has none).

    Raises httpx.HTTPError when the backend does not answer or answers with an error.
    """
    url = f"{address.rstrip('/')}/api/v2/trace/{trace_id}"
    own = client is None
    http = client or httpx.Client(timeout=5.0, trust_env=False)
    try:
        response = http.get(url)
    finally:
        if own:
            http.close()
    if response.status_code == httpx.codes.NOT_FOUND:
        return []
    response.raise_for_status()
    return parse_zipkin_trace(response.json())


def path_to_root(spans: Sequence[TraceSpan], span_id: str) -> list[TraceSpan]:
    """Return the spans from the root down to SPAN_ID, following parent ids.

    The path stops (without its root) where a parent is missing from SPANS; [] when
    SPAN_ID itself is not there.
    """
    by_id = {span.span_id: span for span in spans}
    path: list[TraceSpan] = []
    current = by_id.get(span_id)
    while current is not None and current not in path:
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return path[::-1]
