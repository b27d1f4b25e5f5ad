"""The alert dispatcher: a consumer of the alert-carrying topics that posts them to webhooks.

It commits a record's offset only after every webhook took its notice or gave up, so a
notice is delivered at least once (receivers may deduplicate on its `id`). While it waits
between retries it pauses its partitions and keeps polling, so the group does not take
them away from a dispatcher that is only waiting for a webhook to come back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from consumers.alerts.delivery import Outcome, RetryPolicy, WebhookSink, deliver
from consumers.alerts.health import HealthWatch
from consumers.alerts.notices import SOURCE_TOPICS, Notice, RecentKeys, notice_of
from consumers.group_status import describe_group, input_topics, worker_rows
from consumers.lag import group_lag
from infra.clients import admin_config, consumer_config
from infra.clock import Clock, wall_clock_us
from infra.metrics import ALERT_DELIVERIES, Metrics
from infra.run_files import read_run_files
from schemas.clients import Clients

__all__ = ["AlertDispatcher", "dispatcher_group"]

log = logging.getLogger(__name__)
_POLL_SECS = 0.5
_ASK_TIMEOUT_SECS = 2.0


def dispatcher_group(workers_group: str) -> str:
    """Return the consumer group of the dispatcher that watches WORKERS_GROUP."""
    return f"{workers_group}-alerts"


def _ask_ready(run_files: Sequence[Any]) -> dict[int, Mapping[str, Any] | None]:
    answers: dict[int, Mapping[str, Any] | None] = {}
    for run in run_files:
        if run.web_url is None:
            continue
        try:
            answers[run.pid] = httpx.get(f"{run.web_url}/ready", timeout=_ASK_TIMEOUT_SECS).json()
        except (httpx.HTTPError, ValueError):
            answers[run.pid] = None
    return answers


class AlertDispatcher:
    """Read the alert-carrying topics of one namespace and tell every sink about them."""

    def __init__(
        self,
        runtime: Clients,
        sinks: Sequence[WebhookSink],
        policy: RetryPolicy,
        *,
        workers_group: str,
        metrics: Metrics | None = None,
        clock: Clock = wall_clock_us,
    ) -> None:
        settings = runtime.settings
        self.runtime, self.sinks, self.policy, self.clock = runtime, list(sinks), policy, clock
        self.workers_group = workers_group
        self.watch = HealthWatch(workers_group, settings.alert_lag_threshold, settings.namespace)
        self._recent = RecentKeys()
        self._tally = (metrics or Metrics()).tally(ALERT_DELIVERIES)
        self._logical = {settings.topic(name): name for name in SOURCE_TOPICS}
        self._decoders: dict[str, Callable[[bytes], Any]] = {}
        self._consumer: Consumer | None = None
        self._admin: Any = None  # made at the first health check, kept for the next ones
        self._stop = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        """Ask `run` to return after the notice in hand (from any thread)."""
        self._stop.set()

    def run(self) -> None:
        """Deliver until `stop()`: records as they come, worker health every check."""
        settings = self.runtime.settings
        bootstrap = self.runtime.endpoints.bootstrap_servers
        config = consumer_config(
            settings,
            bootstrap,
            dispatcher_group(self.workers_group),
            **{"auto.offset.reset": settings.alert_start, "enable.partition.eof": False},
        )
        consumer = self._consumer = Consumer(config)
        consumer.subscribe(list(self._logical))
        next_check = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_check:
                    self._check_health()
                    next_check = time.monotonic() + settings.alert_check_secs
                message = consumer.poll(_POLL_SECS)
                if message is not None and not self._handle(consumer, message):
                    return
        finally:
            consumer.close()
            for sink in self.sinks:
                sink.close()

    # ------------------------------------------------------------------ records
    def _handle(self, consumer: Consumer, message: Message) -> bool:
        """Deliver MESSAGE's notice and commit it; return False if stopping mid-retry."""
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("alert consumer: %s", error)
            return True
        notice = self._notice(message)
        fresh = notice is not None and self._recent.first_time(notice.key)
        if fresh and notice is not None and self.tell(notice) == "interrupted":
            return False
        try:
            # After a notice, wait for the commit; a record that told nothing (a FILLED
            # event, a repeated broadcast) costs nothing to read again, so it need not.
            consumer.commit(message=message, asynchronous=not fresh)
        except KafkaException as err:  # a rebalance under way: read again, told again
            log.warning("alert consumer: commit failed, may tell again: %s", err)
        return True

    def _notice(self, message: Message) -> Notice | None:
        topic = message.topic() or ""
        logical = self._logical.get(topic, topic)
        value = message.value()
        if not value:
            return None  # end-of-stream markers and tombstones carry nothing to tell
        decode = self._decoders.get(topic)
        if decode is None:
            kind = self.runtime.record_of(topic) or ""
            decode = self._decoders[topic] = self.runtime.deserializer(kind)
        try:
            decoded = decode(value)
            if not isinstance(decoded, dict):
                return None
            return notice_of(logical, decoded, self.runtime.settings.namespace)
        except Exception as err:  # an undecodable record must not stop every later alert
            log.error(
                "alert consumer: skipped %s[%s]@%s: %s",
                topic,
                message.partition(),
                message.offset(),
                err,
            )
            self._tally.add(("undecodable", "failed"))
            return None

    def tell(self, notice: Notice) -> Outcome:
        """Deliver NOTICE to every sink; "interrupted" if stopping before all were done."""
        worst: Outcome = "delivered"
        for sink in self.sinks:
            outcome = deliver(sink.send, notice, self.policy, wait=self._wait)
            if outcome == "interrupted":
                return outcome
            self._tally.add((notice.kind, outcome))
            if outcome == "failed":
                worst = "failed"
        return worst

    def _wait(self, secs: float) -> bool:
        """Sleep SECS between retries, polling with paused partitions; True when stopping."""
        consumer = self._consumer
        deadline = time.monotonic() + secs
        paused = consumer.assignment() if consumer is not None else []
        if consumer is not None and paused:
            consumer.pause(paused)
        try:
            while not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if consumer is None:
                    self._stop.wait(left)
                else:
                    # Paused: no record comes back, but the group sees a live member.
                    self._put_back(consumer, consumer.poll(min(left, _POLL_SECS)))
            return True
        finally:
            if consumer is not None and paused:
                consumer.resume(paused)

    @staticmethod
    def _put_back(consumer: Consumer, message: Message | None) -> None:
        """Rewind to MESSAGE, fetched while waiting (a rebalance resumed its partition)."""
        if message is None or message.error() is not None:
            return
        where = TopicPartition(message.topic(), message.partition(), message.offset())
        consumer.seek(where)
        consumer.pause([where])

    # ------------------------------------------------------------------ health
    def _check_health(self) -> None:
        """Tell what changed in the worker group's readiness and lag since the last check."""
        from confluent_kafka.admin import AdminClient

        settings = self.runtime.settings
        bootstrap = self.runtime.endpoints.bootstrap_servers
        if self._admin is None:
            self._admin = AdminClient(admin_config(settings, bootstrap))
        try:
            state = describe_group(self._admin, self.workers_group)
            topics = input_topics(state)
            lag = group_lag(bootstrap, self.workers_group, topics) if topics else {}
            run_files = read_run_files(settings.home, self.workers_group)
            rows = worker_rows(state, lag, run_files, _ask_ready(run_files))
        except Exception as err:  # a failed check is retried at the next one
            log.warning("worker health check failed: %s", err)
            return
        for notice in self.watch.update(rows, self.clock()):
            if self.tell(notice) == "interrupted":
                return
