"""Publishing what happened (device informed, parameter changes, task results, session ends)
to the outbound topics, for other systems. Best effort and non-blocking: the session never
waits for these."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer

from acs_contracts.kafka_client import kafka_common_kwargs
from acs_contracts.kafka_topics import TopicMessage

log = logging.getLogger(__name__)


class Outbound:
    def __init__(self, kafka_env: dict[str, str]) -> None:
        self._kw = kafka_common_kwargs(kafka_env or None)
        self._producer: AIOKafkaProducer | None = None
        self.dropped = 0

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(**self._kw, acks=1, linger_ms=5, enable_idempotence=False)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def emit(self, msg: TopicMessage, key: str) -> None:
        if self._producer is None:
            return
        try:
            fut = await self._producer.send(msg.TOPIC, msg.encode(), key=key.encode())
            fut.add_done_callback(self._done)
        except Exception as e:  # never let reporting break a session
            self.dropped += 1
            log.warning("outbound %s dropped: %s", msg.TOPIC, e)

    def _done(self, fut) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self.dropped += 1
