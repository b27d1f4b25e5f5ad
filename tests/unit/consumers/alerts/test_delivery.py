"""Webhook delivery against a real local HTTP receiver: retries, backoff, giving up, stopping."""

from __future__ import annotations

import pytest

from consumers.alerts.delivery import (
    RetryPolicy,
    WebhookConfigError,
    WebhookSink,
    deliver,
    parse_sinks,
)
from consumers.alerts.notices import Notice
from tests.kit.webhook_receiver import WebhookReceiver, free_port, receiving

_NOTICE = Notice("alert_only_order", "info", "Alert-only order: BUY ACME", "BUY 100", "alert:s", 0)


class _Waits:
    """Records the waits asked for instead of sleeping; can act at the Nth wait."""

    def __init__(self, at: int = 0, action: object = None, stop_at: int = 0) -> None:
        self.asked: list[float] = []
        self._at, self._action, self._stop_at = at, action, stop_at

    def __call__(self, secs: float) -> bool:
        self.asked.append(secs)
        if len(self.asked) == self._at and callable(self._action):
            self._action()
        return len(self.asked) == self._stop_at


def test_a_notice_lands_as_the_json_body_of_one_post() -> None:
    with receiving() as receiver:
        sink = WebhookSink(receiver.url, "json")
        outcome = deliver(sink.send, _NOTICE, RetryPolicy(), wait=_Waits())
        sink.close()

    assert outcome == "delivered"
    assert [b["id"] for b in receiver.received()] == ["alert:s"]
    assert receiver.received()[0]["title"] == "Alert-only order: BUY ACME"


def test_server_errors_are_retried_with_doubling_waits_until_it_takes_it() -> None:
    waits = _Waits()
    with receiving(statuses=(503, 500, 502)) as receiver:
        sink = WebhookSink(receiver.url, "slack")
        outcome = deliver(sink.send, _NOTICE, RetryPolicy(8, 0.5, 30.0), wait=waits)

    assert outcome == "delivered"
    assert receiver.attempts == 4
    assert waits.asked == [0.5, 1.0, 2.0]
    assert receiver.received() == [{"text": "[INFO] Alert-only order: BUY ACME: BUY 100"}]


def test_a_receiver_that_is_down_is_counted_failed_after_the_retries_without_raising() -> None:
    sink = WebhookSink(f"http://127.0.0.1:{free_port()}/hook", "json", timeout_secs=2)
    waits = _Waits()

    outcome = deliver(sink.send, _NOTICE, RetryPolicy(3, 1.0, 1.5), wait=waits)

    assert outcome == "failed"
    assert waits.asked == [1.0, 1.5]  # capped at backoff_max_secs


def test_a_receiver_that_comes_back_gets_the_notice() -> None:
    receiver = WebhookReceiver(free_port())
    sink = WebhookSink(receiver.url, "discord")
    waits = _Waits(at=2, action=receiver.start)  # up during the second wait
    try:
        outcome = deliver(sink.send, _NOTICE, RetryPolicy(0, 0.1, 0.1), wait=waits)
    finally:
        receiver.stop()

    assert outcome == "delivered"
    assert len(waits.asked) == 2
    assert receiver.received() == [{"content": "[INFO] Alert-only order: BUY ACME: BUY 100"}]


def test_a_client_error_is_not_retried() -> None:
    waits = _Waits()
    with receiving(statuses=(404,)) as receiver:
        sink = WebhookSink(receiver.url, "json")
        outcome = deliver(sink.send, _NOTICE, RetryPolicy(8), wait=waits)

    assert outcome == "failed"
    assert (receiver.attempts, waits.asked) == (1, [])


def test_too_many_requests_is_retried() -> None:
    with receiving(statuses=(429,)) as receiver:
        sink = WebhookSink(receiver.url, "json")
        outcome = deliver(sink.send, _NOTICE, RetryPolicy(8), wait=_Waits())

    assert (outcome, receiver.attempts) == ("delivered", 2)


def test_stopping_during_a_wait_interrupts_the_delivery() -> None:
    sink = WebhookSink(f"http://127.0.0.1:{free_port()}/hook", "json")

    outcome = deliver(sink.send, _NOTICE, RetryPolicy(0, 0.1), wait=_Waits(stop_at=1))

    assert outcome == "interrupted"


@pytest.mark.parametrize(
    ("failures", "retry_after", "expected"),
    [(1, None, 1.0), (2, None, 2.0), (6, None, 30.0), (1, 10.0, 10.0), (1, 999.0, 30.0)],
)
def test_waits_double_up_to_the_cap_and_a_retry_after_within_it_wins(
    failures: int, retry_after: float | None, expected: float
) -> None:
    assert RetryPolicy(8, 1.0, 30.0).wait_secs(failures, retry_after) == expected


def test_sinks_take_their_format_from_a_prefix_or_the_default() -> None:
    sinks = parse_sinks(
        ["slack:https://hooks.example/a", "https://b.example/x", "json:http://c.example:8080/y"],
        "discord",
        timeout_secs=3,
    )

    assert [(s.format, s.url) for s in sinks] == [
        ("slack", "https://hooks.example/a"),
        ("discord", "https://b.example/x"),
        ("json", "http://c.example:8080/y"),
    ]
    assert "/a" not in repr(sinks[0])  # the secret part of a webhook URL is not shown


def test_a_webhook_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(WebhookConfigError, match="not an http"):
        parse_sinks(["hooks.example/a"], "json", timeout_secs=3)
