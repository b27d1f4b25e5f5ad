"""The body of a webhook post for each format: Slack's {text}, Discord's {content}, or JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from consumers.alerts.notices import Notice

__all__ = ["DISCORD_LIMIT_CHARS", "Format", "payload", "summary"]

Format = Literal["slack", "discord", "json"]
DISCORD_LIMIT_CHARS = 2000
"""Discord refuses a message whose content is longer."""


def _iso(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1e6, tz=UTC).isoformat(timespec="milliseconds")


def summary(notice: Notice) -> str:
    """Return the notice as one chat message: severity, title, namespace, text."""
    where = f" [{notice.namespace}]" if notice.namespace else ""
    return f"[{notice.severity.upper()}] {notice.title}{where}: {notice.text}"


def payload(notice: Notice, fmt: Format) -> dict[str, Any]:
    """Return the JSON body that posts NOTICE to a webhook of format FMT."""
    if fmt == "slack":
        return {"text": summary(notice)}
    if fmt == "discord":
        text = summary(notice)
        if len(text) > DISCORD_LIMIT_CHARS:
            text = text[: DISCORD_LIMIT_CHARS - 1] + "…"
        return {"content": text}
    return {
        "id": notice.key,
        "kind": notice.kind,
        "severity": notice.severity,
        "title": notice.title,
        "text": notice.text,
        "namespace": notice.namespace,
        "ts_event_us": notice.ts_event_us,
        "time": _iso(notice.ts_event_us),
        "fields": dict(notice.fields),
    }
