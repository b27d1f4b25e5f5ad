"""Each webhook format gets the body its receiver reads."""

from __future__ import annotations

from consumers.alerts.notices import Notice
from consumers.alerts.payloads import DISCORD_LIMIT_CHARS, payload

_NOTICE = Notice(
    kind="kill_switch_tripped",
    severity="critical",
    title="Kill switch tripped",
    text="desk halt (by operator:ana)",
    key="risk.control:KILL:operator:ana:7",
    ts_event_us=1_700_000_000_123_000,
    fields={"action": "KILL"},
    namespace="prod",
)


def test_slack_gets_text_and_discord_content_with_the_same_line() -> None:
    line = "[CRITICAL] Kill switch tripped [prod]: desk halt (by operator:ana)"

    assert payload(_NOTICE, "slack") == {"text": line}
    assert payload(_NOTICE, "discord") == {"content": line}


def test_discord_content_is_cut_to_its_limit() -> None:
    long = Notice("x", "info", "t", "y" * 5000, "k", 0)

    content = payload(long, "discord")["content"]

    assert len(content) == DISCORD_LIMIT_CHARS
    assert content.endswith("…")


def test_json_carries_every_field_and_an_iso_time() -> None:
    body = payload(_NOTICE, "json")

    assert body == {
        "id": "risk.control:KILL:operator:ana:7",
        "kind": "kill_switch_tripped",
        "severity": "critical",
        "title": "Kill switch tripped",
        "text": "desk halt (by operator:ana)",
        "namespace": "prod",
        "ts_event_us": 1_700_000_000_123_000,
        "time": "2023-11-14T22:13:20.123+00:00",
        "fields": {"action": "KILL"},
    }
