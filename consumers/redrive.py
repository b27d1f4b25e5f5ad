"""Send dead letters back to their source topics, each exactly once (the I/O half of redrive).

Why this is exactly once, even when a redrive is killed or two run at the same time:

- **One transaction holds a record and its marker.** Each dead letter goes back with its
  original bytes, key and headers (the `deadletter.*` ones dropped) to its source topic and
  source partition, and in the *same* Kafka transaction a marker keyed by the dead
  letter's coordinates goes to the compacted `deadletter.redriven` topic. Either both are
  committed or neither is, so "redriven" and "has a marker" are the same fact.
- **One transactional id per namespace** (`<app id>-deadletter-redrive`).
  `init_transactions` with it aborts whatever transaction a killed redrive left open
  (its records never become visible to `read_committed` readers, the workers among them)
  and fences a redrive still running elsewhere: that one fails on its next send or commit.
  It also waits until the previous transaction's commit markers are written.
- **Markers are read after that, never before.** Only once `init_transactions` has
  settled every earlier transaction does the redrive read the markers `read_committed` and
  skip what they name. Read first, a redrive could miss the markers of a transaction that
  commits in between, and send those dead letters a second time.

The unit of work is a chunk of dead letters per transaction: a kill loses at most the
chunk in flight, which the next redrive sends again. Readers that do not use
`read_committed` see aborted records as well; every primestream reader uses it.

A redriven record that fails again is dead-lettered again, at a new offset: it is a new
dead letter, and a later redrive sends it back once more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from confluent_kafka import Producer

from consumers.deadletters import StoredDeadLetter, encode_marker
from infra.clients import producer_config
from infra.clock import Clock
from infra.namespaces import APP_PREFIX
from infra.settings import Settings

__all__ = ["open_redrive_producer", "redrive", "redrive_transactional_id"]

_CHUNK = 500
_TIMEOUT_SECS = 60.0


def redrive_transactional_id(settings: Settings) -> str:
    """Return the namespace's one redrive transactional id (see the module docstring)."""
    app = f"{APP_PREFIX}{settings.namespace}" if settings.namespace else APP_PREFIX.rstrip("-")
    return f"{app}-deadletter-redrive"


def open_redrive_producer(settings: Settings, bootstrap_servers: str) -> Producer:
    """Return the redrive producer, every earlier redrive transaction settled and fenced."""
    producer = Producer(
        producer_config(
            settings,
            bootstrap_servers,
            **{"transactional.id": redrive_transactional_id(settings)},
        )
    )
    producer.init_transactions(_TIMEOUT_SECS)
    return producer


def redrive(
    producer: Producer,
    letters: Sequence[StoredDeadLetter],
    marker_topic: str,
    *,
    clock: Clock,
    chunk: int = _CHUNK,
    sent: Callable[[StoredDeadLetter], None] = lambda _dead: None,
) -> int:
    """Send LETTERS back to their sources with their markers, CHUNK per transaction.

    PRODUCER comes from `open_redrive_producer`, and LETTERS from a plan made after it was
    opened. SENT is called for each dead letter once it is handed to the producer (its
    transaction commits at the end of its chunk). On an error the open transaction is
    left to the caller to abort; a crash leaves it to the next redrive. Returns how many
    were committed.
    """
    committed = 0
    for start in range(0, len(letters), chunk):
        batch = letters[start : start + chunk]
        producer.begin_transaction()
        for dead in batch:
            if dead.letter is None:
                raise ValueError(f"dead letter {dead.partition}/{dead.offset} has no source")
            _produce(
                producer,
                dead.letter.source_topic,
                dead.value,
                dead.key,
                partition=dead.letter.partition,
                headers=dead.original_headers(),
            )
            key, value = encode_marker(dead, clock() // 1000)
            _produce(producer, marker_topic, value, key)
            sent(dead)
        producer.commit_transaction(_TIMEOUT_SECS)
        committed += len(batch)
    return committed


def _produce(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes | None,
    *,
    partition: int | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    extra = {} if partition is None else {"partition": partition}
    while True:
        try:
            producer.produce(topic, value, key, headers=headers, **extra)
            return
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.1)
