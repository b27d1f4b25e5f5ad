"""How the transactional output sorts librdkafka's errors: retry, abort, or stop the worker.

The sorting runs against a stand-in producer that raises the `KafkaError`s librdkafka
raises (built with confluent-kafka's public constructor). The one librdkafka behaviour the
sorting relies on beyond the documented flags, that a timed-out transactional call blocks
every other one with a retriable `_CONFLICT`, is pinned on a real producer (no broker:
its bootstrap address refuses connections, so the call times out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from streams.runtime.exceptions import FatalTransactionError, TransactionAbortedError
from streams.runtime.transactions import TransactionalOutput

TIMED_OUT = KafkaError(KafkaError._TIMED_OUT, "timed out, retry call to resume", retriable=True)
CONFLICT = KafkaError(KafkaError._CONFLICT, "Conflicting call in progress", retriable=True)
FENCED = KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True)
ABORTABLE = KafkaError(KafkaError._TIMED_OUT_QUEUE, "delivery failed", txn_requires_abort=True)
STATE = KafkaError(KafkaError._STATE, "operation not valid in this state")


class _Producer:
    """Answers each transactional call from a script of errors (None: succeeds), in order."""

    def __init__(self, script: dict[str, list[KafkaError | None]]) -> None:
        self.script = script
        self.calls: list[str] = []

    def _answer(self, name: str) -> None:
        self.calls.append(name)
        answers = self.script.get(name, [])
        error = answers.pop(0) if answers else None
        if error is not None:
            raise KafkaException(error)

    def init_transactions(self, timeout: float) -> None:
        self._answer("init")

    def begin_transaction(self) -> None:
        self._answer("begin")

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.calls.append("produce")

    def send_offsets_to_transaction(self, partitions: Any, metadata: Any, timeout: float) -> None:
        self._answer("send_offsets")

    def commit_transaction(self, timeout: float) -> None:
        self._answer("commit")

    def abort_transaction(self, timeout: float) -> None:
        self._answer("abort")

    def flush(self, timeout: float) -> int:
        return 0


def _output(script: dict[str, list[KafkaError | None]]) -> tuple[TransactionalOutput, _Producer]:
    producer = _Producer(script)
    make: Callable[[dict[str, Any]], Any] = lambda config: producer  # noqa: E731
    output = TransactionalOutput({"transactional.id": "w"}, timeout_secs=0.1, make_producer=make)
    output.start()
    output.produce("out", b"v", b"k")
    return output, producer


def _commit(output: TransactionalOutput) -> None:
    output.commit({("in", 0): 5}, object())


def test_a_timed_out_send_offsets_is_resumed_by_calling_it_again() -> None:
    output, producer = _output({"send_offsets": [TIMED_OUT, TIMED_OUT]})
    _commit(output)
    assert producer.calls == [
        "init", "begin", "produce", "send_offsets", "send_offsets", "send_offsets", "commit"
    ]  # fmt: skip
    assert output.commits == 1
    assert not output.open


def test_a_call_that_keeps_timing_out_stops_the_worker_without_an_abort() -> None:
    # librdkafka refuses any other transactional call while the timed-out one is in
    # progress: an abort here would only meet _CONFLICT (what the hung worker did).
    output, producer = _output({"send_offsets": [TIMED_OUT] * 10})
    with pytest.raises(FatalTransactionError, match="send offsets: timed out"):
        _commit(output)
    assert "abort" not in producer.calls
    assert producer.calls.count("send_offsets") == 6  # the first call and five retries


def test_an_error_that_requires_an_abort_aborts_and_says_so() -> None:
    output, producer = _output({"commit": [ABORTABLE]})
    with pytest.raises(TransactionAbortedError, match="commit: delivery failed"):
        _commit(output)
    assert producer.calls[-2:] == ["commit", "abort"]
    assert not output.open


@pytest.mark.parametrize("error", [FENCED, STATE, CONFLICT], ids=["fatal", "state", "conflict"])
def test_an_error_neither_retriable_nor_abortable_stops_the_worker(error: KafkaError) -> None:
    output, producer = _output({"commit": [error]})
    with pytest.raises(FatalTransactionError):
        _commit(output)
    assert producer.calls.count("commit") == 1
    assert "abort" not in producer.calls


def test_a_timed_out_abort_is_resumed_and_a_refused_one_stops_the_worker() -> None:
    output, producer = _output({"abort": [TIMED_OUT]})
    output.abort()
    assert producer.calls[-2:] == ["abort", "abort"]
    assert not output.open

    output, producer = _output({"abort": [CONFLICT]})
    with pytest.raises(FatalTransactionError, match="abort failed: Conflicting"):
        output.abort()
    assert producer.calls.count("abort") == 1

    output, producer = _output({"abort": [ABORTABLE]})  # not documented for an abort
    with pytest.raises(FatalTransactionError, match="abort failed: delivery failed"):
        output.abort()
    assert producer.calls.count("abort") == 1


def test_close_after_a_refused_abort_still_releases_the_producer() -> None:
    output, producer = _output({"abort": [FENCED]})
    output.close()  # logs the reason; the worker is stopping anyway
    assert producer.calls[-1] == "abort"
    output.close()  # released: a second close does nothing
    assert producer.calls.count("abort") == 1


def test_librdkafka_refuses_other_calls_while_a_timed_out_one_is_in_progress() -> None:
    """What `_retriable` relies on: the refusal is `_CONFLICT`, flagged retriable."""
    producer = Producer(
        {"bootstrap.servers": "127.0.0.1:1", "transactional.id": "pin", "log_level": 0}
    )
    with pytest.raises(KafkaException) as timed_out:
        producer.init_transactions(0.2)
    assert timed_out.value.args[0].code() == KafkaError._TIMED_OUT
    assert timed_out.value.args[0].retriable()
    with pytest.raises(KafkaException) as refused:
        producer.abort_transaction(0.2)
    error = refused.value.args[0]
    assert error.code() == KafkaError._CONFLICT
    assert error.retriable()
    assert not error.fatal()
    assert not error.txn_requires_abort()
