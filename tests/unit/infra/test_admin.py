"""Describing topics asks again when a broker left the request unanswered, and only then.

`_asked_again` is pure control flow, tested with a scripted call; what it relies on from
librdkafka (an unanswered admin request fails by our timeout with `_TIMED_OUT` or
`_TRANSPORT`, not after its own minute) is pinned on a real AdminClient whose only broker
accepts connections and never answers, as a broker still starting after a crash does.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource

from infra.admin import _asked_again, _unanswered


class _Script:
    """Raises the scripted errors in turn, then answers "described"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "described"


def _kafka(code: int) -> KafkaException:
    return KafkaException(KafkaError(code, "from the script"))


def test_an_unanswered_request_is_asked_again_until_answered() -> None:
    ask = _Script(TimeoutError(), _kafka(KafkaError._TIMED_OUT))
    assert _asked_again(ask) == "described"
    assert ask.calls == 3


def test_a_refusal_is_not_asked_again() -> None:
    ask = _Script(_kafka(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    with pytest.raises(KafkaException):
        _asked_again(ask)
    assert ask.calls == 1


def test_asking_gives_up_after_the_last_attempt_with_its_error() -> None:
    ask = _Script(*[_kafka(KafkaError._TRANSPORT) for _ in range(5)])
    with pytest.raises(KafkaException) as raised:
        _asked_again(ask, attempts=3)
    assert raised.value.args[0].code() == KafkaError._TRANSPORT
    assert ask.calls == 3


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A listener that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_librdkafka_fails_an_unanswered_admin_request_by_our_timeout(silent_broker: str) -> None:
    admin = AdminClient({"bootstrap.servers": silent_broker, "log_level": 0})
    started = time.monotonic()
    futures = admin.describe_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, "quotes")], request_timeout=0.5
    )
    with pytest.raises(KafkaException) as described:
        next(iter(futures.values())).result(timeout=10)
    with pytest.raises(KafkaException) as listed:
        admin.list_topics(timeout=0.5)
    assert time.monotonic() - started < 5  # ours, not librdkafka's 60 s socket timeout
    assert _unanswered(described.value)
    assert _unanswered(listed.value)
