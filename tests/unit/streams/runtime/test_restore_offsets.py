"""The restorer asks for changelog end offsets again, with a new admin client, when asking fails.

After a broker died, one admin client kept asking a leader of a stale epoch and answered
FENCED_LEADER_EPOCH until the worker gave up; a new client fetches metadata afresh. The
clients here are stand-ins that answer from a script (confluent-kafka's own futures and
errors); the broker-backed restore is covered by the integration tests.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest
from confluent_kafka import IsolationLevel, KafkaError, KafkaException

from streams.recovery import RecoveryWatch
from streams.runtime.restore import ChangelogRestorer


class _Answer:
    def __init__(self, offset: int) -> None:
        self.offset = offset


class _Admin:
    """Answers list_offsets with ERROR (a KafkaError) or with offset 42 for every partition."""

    def __init__(self, error: KafkaError | None) -> None:
        self.error = error

    def list_offsets(self, request: dict[Any, Any], **kwargs: Any) -> dict[Any, Future[Any]]:
        futures: dict[Any, Future[Any]] = {}
        for tp in request:
            future: Future[Any] = Future()
            if self.error is None:
                future.set_result(_Answer(42))
            else:
                future.set_exception(KafkaException(self.error))
            futures[tp] = future
        return futures


def _restorer(errors: list[KafkaError | None], made: list[_Admin]) -> ChangelogRestorer:
    def make_admin(config: dict[str, Any]) -> _Admin:
        admin = _Admin(errors.pop(0) if errors else None)
        made.append(admin)
        return admin

    return ChangelogRestorer({}, {}, RecoveryWatch(60.0), make_admin=make_admin)


def test_a_failed_request_is_asked_again_of_a_new_client() -> None:
    made: list[_Admin] = []
    fenced = KafkaError(KafkaError.FENCED_LEADER_EPOCH)
    restorer = _restorer([fenced, fenced], made)

    ends = restorer._offsets([("app-changelog", 0)], IsolationLevel.READ_COMMITTED)

    assert ends == {("app-changelog", 0): 42}
    assert len(made) == 3  # two fenced clients dropped, the third answered
    # The client that answered is kept for the next request.
    restorer._offsets([("app-changelog", 1)], IsolationLevel.READ_UNCOMMITTED)
    assert len(made) == 3


def test_asking_stops_at_the_deadline_with_the_error() -> None:
    made: list[_Admin] = []
    now = [0.0]

    def clock() -> float:
        now[0] += 4.0  # each look at the clock, four seconds later
        return now[0]

    def make_admin(config: dict[str, Any]) -> _Admin:
        made.append(_Admin(KafkaError(KafkaError._TRANSPORT)))
        return made[-1]

    restorer = ChangelogRestorer({}, {}, RecoveryWatch(60.0), clock=clock, make_admin=make_admin)
    with pytest.raises(KafkaException):
        restorer._offsets([("app-changelog", 0)], IsolationLevel.READ_COMMITTED)
    assert 1 < len(made) < 5
