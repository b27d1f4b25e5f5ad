"""librdkafka settings of a worker's clients: group consumer, transactional producer, restorer.

Each starts from `infra.clients` (bootstrap servers, the security settings
`PRIMESTREAM_KAFKA_SECURITY_PROTOCOL`, `..._SASL_*`, `..._SSL_CA_LOCATION` and
`PRIMESTREAM_KAFKA_EXTRA_CONFIG`, idempotence, murmur2 partitioning) and sets what
exactly-once processing needs. The figures behind the timing settings are in BENCHMARKS.md:

- `retry.backoff.ms` 2 (librdkafka's default is 100): after a commit the coordinator is
  still writing the transaction's markers, and the next transaction's first request is
  answered CONCURRENT_TRANSACTIONS until it is done; the client sleeps the backoff before it
  asks again. On the local broker (`tests/bench/bench_commit.py`) a commit cycle took
  101 ms at the median with 100 ms, 8.1 ms with 5 ms, 5.7 ms with 2 ms and 5.6 ms with 1.
- `partition.assignment.strategy` range: with equal partition counts it gives a worker the
  same partition numbers of every input topic, which co-partitioning relies on (a symbol's
  quotes, bars, news and orders meet in one worker).
- `linger.ms` 2 (`PRIMESTREAM_PRODUCER_LINGER_MS`; 5 for the project's plain producers): a
  commit sends its offsets (two round trips) while the records of its transaction go out,
  and a record still lingering when the offsets are done holds up the flush after them;
  2 against 5 ms: signal visible p99 0.81 and 0.86 at 1,000 quotes/s, the alert-only
  worker's throughput 0.87 and 0.95.
- `fetch.wait.max.ms` 10 (default 500): how long the broker holds a fetch when nothing is
  new; an empty topic then costs 100 small fetches a second, not half a second of latency
  on the first record after a quiet spell.
"""

from __future__ import annotations

from typing import Any

from infra.clients import consumer_config, producer_config
from infra.settings import Settings

__all__ = ["group_consumer_config", "restore_consumer_config", "transactional_producer_config"]


def group_consumer_config(
    settings: Settings, bootstrap_servers: str, group_id: str, client_id: str
) -> dict[str, Any]:
    """Return the input consumer's settings: the group member, read_committed, no auto-commit."""
    session_ms = int(settings.session_timeout_secs * 1000)
    return consumer_config(
        settings,
        bootstrap_servers,
        group_id,
        **{
            "client.id": client_id,
            "enable.partition.eof": False,
            "enable.auto.offset.store": False,
            "partition.assignment.strategy": "range",
            "session.timeout.ms": session_ms,
            "heartbeat.interval.ms": max(100, session_ms // 4),
            "fetch.wait.max.ms": int(settings.fetch_max_wait_ms),
            "queued.max.messages.kbytes": 32_768,
        },
    )


def restore_consumer_config(
    settings: Settings, bootstrap_servers: str, group_id: str, client_id: str
) -> dict[str, Any]:
    """Return the changelog reader's settings: assigned partitions only, committed records only."""
    return consumer_config(
        settings,
        bootstrap_servers,
        f"{group_id}-restore",  # librdkafka wants one; never joined, never committed to
        **{"client.id": f"{client_id}-restore", "fetch.wait.max.ms": 10},
    )


def transactional_producer_config(
    settings: Settings, bootstrap_servers: str, transactional_id: str, client_id: str
) -> dict[str, Any]:
    """Return the worker's one transactional producer's settings."""
    backoff = int(settings.kafka_retry_backoff_ms)
    return producer_config(
        settings,
        bootstrap_servers,
        **{
            "client.id": client_id,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": int(settings.transaction_timeout_ms),
            "retry.backoff.ms": backoff,
            "retry.backoff.max.ms": max(backoff, 10),
            "linger.ms": settings.producer_linger_ms,
        },
    )
