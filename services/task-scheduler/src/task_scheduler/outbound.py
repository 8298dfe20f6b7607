"""Publishing what happened (device informed, parameter changes, task results, session ends)
to the outbound topics, for other systems.

Best effort and never in a session's way: ``emit`` only queues (bounded); a background task
hands messages to the producer. When the broker is slow the queue fills and further messages
are counted as dropped rather than holding up CPE sessions.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer

from acs_contracts.kafka_client import producer_kwargs
from acs_contracts.kafka_topics import TopicMessage
from acs_contracts.settings import KafkaSettings

from . import metrics

log = logging.getLogger(__name__)


class Outbound:
    def __init__(self, kafka: KafkaSettings | None, max_queue: int = 50_000) -> None:
        self._kw = producer_kwargs(kafka)
        self._producer: AIOKafkaProducer | None = None
        self._queue: asyncio.Queue[tuple[TopicMessage, str]] = asyncio.Queue(max_queue)
        self._pump_task: asyncio.Task | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(**self._kw, linger_ms=5)
        await self._producer.start()
        self._pump_task = asyncio.create_task(self._pump(), name="outbound-pump")

    async def stop(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
        if self._producer is not None:
            await self._producer.stop()

    async def emit(self, msg: TopicMessage, key: str) -> None:
        """Queue a message for its topic; never waits (kept async for the callers' symmetry)."""
        try:
            self._queue.put_nowait((msg, key))
        except asyncio.QueueFull:
            metrics.OUTBOUND_DROPPED.inc()

    async def _pump(self) -> None:
        assert self._producer is not None
        while True:
            msg, key = await self._queue.get()
            try:
                fut = await self._producer.send(msg.TOPIC, msg.encode(), key=key.encode())
                fut.add_done_callback(self._done)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # never let reporting break the scheduler
                metrics.OUTBOUND_DROPPED.inc()
                log.warning("outbound %s dropped: %s", msg.TOPIC, e)

    def _done(self, fut) -> None:
        if fut.cancelled() or fut.exception() is not None:
            metrics.OUTBOUND_DROPPED.inc()
