"""Working dead letters on a real broker: list, filter, tail, redrive exactly once, crash.

The dead letters of the first tests are made by the real path: bad records produced to the
topics a `primestream worker` consumes, which it dead-letters in its own transactions.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from consumers.deadletter_reading import read_dead_letters, read_markers
from consumers.deadletters import DeadLetterFilter, StoredDeadLetter, plan_redrive
from consumers.lag import group_lag
from consumers.redrive import open_redrive_producer, redrive
from infra.clients import consumer_config
from infra.clock import wall_clock_us
from infra.local import Endpoints
from streams.context import app_id
from streams.deadletter import STAGE
from streams.edge import dead_letter
from tests.integration.conftest import Scope, make_scope
from tests.kit import stubs
from tests.kit.topics import RawMessage, read_raw, wait_settled
from tests.kit.waiting import eventually
from tests.kit.worker import CLI, WorkerProcess

pytestmark = pytest.mark.integration

# Dead letters for the kill -9 test: enough that the redrive is still sending when killed.
_KILL_COUNT = 5_000


@dataclass(frozen=True)
class Sent:
    """A bad record as it was produced: where it landed and what it carried."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class Refused:
    """A namespace whose worker has dead-lettered the records in SENT, by reason."""

    scope: Scope
    sent: dict[str, list[Sent]]


def _produce(producer: Producer, topic: str, value: bytes, key: bytes, partition: int) -> Sent:
    headers = [("x-origin", f"test-{uuid.uuid4().hex[:6]}".encode()), ("x-empty", b"")]
    delivered: list[tuple[int, int]] = []
    producer.produce(
        topic,
        value,
        key,
        partition=partition,
        headers=headers,
        on_delivery=lambda err, msg: delivered.append((msg.partition(), msg.offset())),
    )
    producer.flush(10)
    ((p, offset),) = delivered
    return Sent(topic, p, offset, key, value, headers)


def _caught_up(scope: Scope, topics: list[str]) -> bool:
    lag = group_lag(scope.settings.bootstrap_servers or "", app_id(scope.settings), topics)
    return lag is not None and len(lag) == 2 * len(topics) and sum(lag.values()) == 0


@pytest.fixture(scope="module")
def refused(
    endpoints: Endpoints, infra_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Refused:
    scope = make_scope(endpoints, infra_home)
    quotes, news = scope.topic("market.quotes"), scope.topic("news.items")
    quote = scope.runtime.serializer("Quote", quotes)(stubs.quote("AAPL"))
    producer = Producer({"bootstrap.servers": scope.settings.bootstrap_servers})
    sent = {
        "DecodeError": [
            _produce(producer, quotes, b"\x00garbage, not avro", b"AAPL", 0),
            _produce(producer, quotes, b"\x00more garbage", b"MSFT", 1),
            _produce(producer, news, b"\x00not news either", b"AAPL", 1),
        ],
        "KeyMismatch": [_produce(producer, quotes, quote, b"MSFT", 1)],
    }
    log = tmp_path_factory.mktemp("deadletters") / "worker.log"
    worker = WorkerProcess(scope.env, [], log)
    worker.start()
    try:
        eventually(lambda: _caught_up(scope, [quotes, news]), timeout=120, message="worker done")
    finally:
        worker.stop()
        sys.stderr.write(worker.tail())
    wait_settled(scope.runtime, [scope.topic("deadletter")])
    return Refused(scope, sent)


def _listed(scope: Scope, *args: str) -> list[dict[str, Any]]:
    done = scope.cli("deadletter", "list", "-o", "json", *args)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _source(sent: Sent) -> dict[str, object]:
    return {"topic": sent.topic, "partition": sent.partition, "offset": sent.offset}


def test_list_shows_each_dead_letter_with_its_key_source_reason_and_time(
    refused: Refused,
) -> None:
    listed = _listed(refused.scope)

    got = sorted((d["error"]["type"], d["key"], json.dumps(d["source"])) for d in listed)
    expected = sorted(
        (reason, s.key.decode(), json.dumps(_source(s)))
        for reason, sents in refused.sent.items()
        for s in sents
    )
    assert got == expected
    mismatch = next(d for d in listed if d["error"]["type"] == "KeyMismatch")
    assert "does not match symbol 'AAPL'" in mismatch["error"]["message"]
    assert all(d["time"].startswith("20") and d["stage"] and not d["redriven"] for d in listed)

    table = refused.scope.cli("deadletter", "list").stdout
    assert "KeyMismatch" in table
    assert f"{refused.scope.topic('news.items')}[1]@0" in table


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--reason", "DecodeError", "--source", "market.quotes"],
            [("DecodeError", 0), ("DecodeError", 1)],
        ),
        (["--source", "news.items"], [("DecodeError", 1)]),
    ],
)
def test_list_filters_by_reason_and_source(
    refused: Refused, args: list[str], expected: list[tuple[str, int]]
) -> None:
    listed = _listed(refused.scope, *args)

    got = sorted((d["error"]["type"], d["source"]["partition"]) for d in listed)
    assert got == expected


def test_tail_deadletter_shows_the_reason_and_source(refused: Refused) -> None:
    scope = refused.scope
    (news,) = [s for s in refused.sent["DecodeError"] if s.topic.endswith("news.items")]

    table = scope.cli("tail", "deadletter", "--from-beginning", "--max", "10").stdout

    (line,) = [line for line in table.splitlines() if f"{news.topic}[1]@{news.offset}" in line]
    assert "DecodeError" in line
    assert "AAPL" in line
    assert sum("KeyMismatch" in line for line in table.splitlines()) == 1


def _ends(scope: Scope, topics: list[str]) -> dict[tuple[str, int], int]:
    consumer = Consumer(
        consumer_config(scope.settings, scope.settings.bootstrap_servers or "", "ends")
    )
    try:
        return {
            (t, p): consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
            for t in topics
            for p in (0, 1)
        }
    finally:
        consumer.close()


def _after(messages: list[RawMessage], ends: dict[tuple[str, int], int]) -> list[RawMessage]:
    return [m for m in messages if m.offset >= ends[(m.topic, m.partition)]]


def _as_sent(message: RawMessage) -> tuple[str, int, bytes | None, bytes | None, list[object]]:
    return (message.topic, message.partition, message.key, message.value, list(message.headers))


def test_redrive_sends_the_original_records_back_once_and_a_dry_run_sends_nothing(
    refused: Refused,
) -> None:
    scope = refused.scope
    quotes, markers = scope.topic("market.quotes"), scope.topic("deadletter.redriven")
    topics = [quotes, scope.topic("news.items"), markers]
    before = _ends(scope, topics)
    chosen = ["redrive", "--reason", "DecodeError", "--source", "market.quotes"]

    dry = scope.cli("deadletter", *chosen, "--dry-run")

    assert "dry run" in dry.stdout
    assert _summary_total(dry.stdout) == ["2", "0"]  # to redrive, already redriven
    assert _ends(scope, topics) == before

    first = scope.cli("deadletter", *chosen)

    wait_settled(scope.runtime, topics)
    back = _after(read_raw(scope.runtime, quotes), before)
    originals = refused.sent["DecodeError"][:2]
    assert sorted(map(_as_sent, back)) == sorted(
        (s.topic, s.partition, s.key, s.value, s.headers) for s in originals
    )
    assert len(read_raw(scope.runtime, markers)) == 2
    assert _ends(scope, [scope.topic("news.items")]) == {
        k: v for k, v in before.items() if k[0] == scope.topic("news.items")
    }

    second = scope.cli("deadletter", *chosen)

    wait_settled(scope.runtime, topics)
    assert len(_after(read_raw(scope.runtime, quotes), before)) == 2
    assert len(read_raw(scope.runtime, markers)) == 2
    assert _summary_total(first.stdout) == ["2", "0"]  # redriven, already redriven
    assert _summary_total(second.stdout) == ["0", "2"]
    listed = _listed(scope, "--reason", "DecodeError")
    assert sorted(d["redriven"] for d in listed) == [False, True, True]


def _summary_total(stdout: str) -> list[str]:
    """Return the last two cells of the redrive summary's total row."""
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in stdout.splitlines()]
    (total,) = [row for row in rows if row and row[0] == "total"]
    return total[-2:]


# --- a redrive that dies mid-way: dead letters written by the stages' own writer --------


def _write_dead_letters(scope: Scope, count: int) -> list[bytes]:
    """Write COUNT dead letters from market.quotes as a stage would; return their values."""

    @dataclass(frozen=True)
    class Raw:
        topic: str
        partition: int
        offset: int
        key: bytes | None
        value: bytes | None
        headers: list[tuple[str, bytes]]

    producer = Producer({"bootstrap.servers": scope.settings.bootstrap_servers})
    values = []
    for n in range(count):
        value = f"\x00bad record {n}".encode()
        raw = Raw(scope.topic("market.quotes"), n % 2, n, b"AAPL", value, [("n", str(n).encode())])
        out = dead_letter(raw, "DecodeError", "unknown magic byte")
        headers = [*out.headers, (STAGE, b"trading")]
        producer.produce(scope.topic("deadletter"), out.value, out.key, headers=headers)
        values.append(value)
    producer.flush(30)
    return values


class _CrashError(Exception):
    """Stands for a kill: the process stops between two sends, its transaction open."""


def _plan(scope: Scope) -> list[StoredDeadLetter]:
    """Return the DecodeError dead letters a redrive would send now (markers read)."""
    servers = scope.settings.bootstrap_servers or ""
    reader = Consumer(consumer_config(scope.settings, servers, f"t-{uuid.uuid4().hex[:6]}"))
    try:
        letters = read_dead_letters(reader, scope.topic("deadletter"))
        markers = read_markers(reader, scope.topic("deadletter.redriven"))
    finally:
        reader.close()
    return plan_redrive(letters, DeadLetterFilter("DecodeError"), markers).todo


def test_a_redrive_that_dies_mid_transaction_and_runs_again_sends_each_dead_letter_once(
    endpoints: Endpoints, infra_home: Path
) -> None:
    scope = make_scope(endpoints, infra_home)
    values = _write_dead_letters(scope, 250)
    quotes, markers = scope.topic("market.quotes"), scope.topic("deadletter.redriven")
    servers = scope.settings.bootstrap_servers or ""
    dying = open_redrive_producer(scope.settings, servers)
    handed: list[StoredDeadLetter] = []

    def crash_at_150(dead: StoredDeadLetter) -> None:
        handed.append(dead)
        if len(handed) == 150:
            dying.flush(30)  # the open transaction's 50 records are in the log, uncommitted
            raise _CrashError

    with pytest.raises(_CrashError):
        redrive(dying, _plan(scope), markers, clock=wall_clock_us, chunk=100, sent=crash_at_150)
    # `dying` is never aborted: the next redrive's init_transactions must do it.

    again = open_redrive_producer(scope.settings, servers)
    todo = _plan(scope)
    redrive(again, todo, markers, clock=wall_clock_us, chunk=100)

    assert len(todo) == 150  # the first chunk of 100 was committed with its markers
    wait_settled(scope.runtime, [quotes, markers])
    committed = read_raw(scope.runtime, quotes)
    assert sorted(m.value or b"" for m in committed) == sorted(values)
    assert len(read_raw(scope.runtime, markers)) == 250
    assert _read_uncommitted_count(scope, quotes) == 250 + 50  # the 50 are there, aborted
    assert _plan(scope) == []


def test_a_redrive_killed_with_sigkill_and_run_again_sends_each_dead_letter_once(
    endpoints: Endpoints, infra_home: Path
) -> None:
    scope = make_scope(endpoints, infra_home)
    values = _write_dead_letters(scope, _KILL_COUNT)
    quotes, markers = scope.topic("market.quotes"), scope.topic("deadletter.redriven")
    running = subprocess.Popen(
        [CLI, "deadletter", "redrive", "--reason", "DecodeError"],
        env=scope.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    watermarks = Consumer(
        consumer_config(scope.settings, scope.settings.bootstrap_servers or "", "watermarks")
    )
    try:
        # A chunk is 500 dead letters, ten in all: kill as soon as the first records are
        # written (a fresh client per look was slow enough for a whole redrive to finish).
        eventually(lambda: _log_end(watermarks, quotes) > 0, timeout=120, interval=0.01)
    finally:
        running.send_signal(signal.SIGKILL)
        running.wait(30)
        watermarks.close()
    assert running.returncode == -signal.SIGKILL
    assert len(read_raw(scope.runtime, markers)) < _KILL_COUNT  # killed before the end

    # The killed transaction (if the kill fell inside one) stays open until the next
    # redrive's init_transactions aborts it.
    scope.cli("deadletter", "redrive", "--reason", "DecodeError")

    wait_settled(scope.runtime, [quotes, markers])
    committed = read_raw(scope.runtime, quotes)
    assert len(committed) == _KILL_COUNT
    assert sorted(m.value or b"" for m in committed) == sorted(values)
    assert len(read_raw(scope.runtime, markers)) == _KILL_COUNT


def _log_end(consumer: Consumer, topic: str) -> int:
    """Return the sum of TOPIC's high watermarks (uncommitted records included)."""
    return sum(
        consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
        for p in (0, 1)
    )


def _read_uncommitted_count(scope: Scope, topic: str) -> int:
    """Count the data records of TOPIC a read_uncommitted reader sees (aborted ones too)."""
    servers = scope.settings.bootstrap_servers or ""
    consumer = Consumer(
        consumer_config(
            scope.settings,
            servers,
            f"t-{uuid.uuid4().hex[:6]}",
            **{"isolation.level": "read_uncommitted"},
        )
    )
    try:
        return len(read_dead_letters(consumer, topic))  # reads any topic whole, raw
    finally:
        consumer.close()
