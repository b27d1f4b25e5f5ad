"""The faust app and transport of the fast path."""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as _aiokafka_driver

from streams.fastpath.batches import BatchTopic
from streams.fastpath.consumer import FastConsumer
from streams.fastpath.producer import FastProducer, FastTransactionManager


class FastTransport(_aiokafka_driver.Transport):
    Consumer = FastConsumer
    Producer = FastProducer
    TransactionManager = FastTransactionManager


class FastApp(faust.App):
    """faust.App using FastTransport; ``batch_topic()`` declares batch-delivered topics."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.batch_topic_names: set[str] = set()
        super().__init__(*args, **kwargs)

    def _new_transport(self):
        return FastTransport(self.conf.broker_consumer, self)

    def batch_topic(self, *topics: str, **kwargs: Any) -> BatchTopic:
        self.batch_topic_names.update(topics)
        return BatchTopic(self, topics=topics, **kwargs)
