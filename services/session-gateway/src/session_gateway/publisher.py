"""Publishing session events to Kafka with acks=all, so nothing is acknowledged to a CPE
before the broker has it: the Inform to SESSION_EVENTS, every later message of the session to
SESSION_MESSAGES (acs_contracts.kafka_topics)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from acs_contracts.kafka_client import producer_kwargs
from acs_contracts.kafka_topics import SESSION_EVENTS, SESSION_MESSAGES
from acs_contracts.settings import KafkaSettings

from . import metrics

# aiokafka has one produce request in flight per broker, carrying at most one batch per partition:
# with the 16 KiB default a batch holds one or two Informs, so events queue (holding their bytes)
# and time out under a burst. Larger batches drain the queue in a few round trips.
_MAX_BATCH_BYTES = 512 * 1024


class BrokerUnavailable(Exception):
    """The event could not be durably published; the CPE must retry later (503)."""


class SessionEventPublisher:
    def __init__(self, kafka: KafkaSettings | None, timeout_s: float) -> None:
        self._kw = producer_kwargs(kafka)
        self._timeout = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                p = AIOKafkaProducer(**self._kw, linger_ms=0, request_timeout_ms=int(self._timeout * 1000),
                                     retry_backoff_ms=100, max_batch_size=_MAX_BATCH_BYTES)
                try:
                    await asyncio.wait_for(p.start(), self._timeout)
                except (TimeoutError, KafkaError, OSError) as e:
                    await p.stop()
                    raise BrokerUnavailable(str(e) or type(e).__name__) from e
                self._producer = p
        return self._producer

    async def start(self) -> None:
        try:
            await self._ensure()
        except BrokerUnavailable:
            pass  # readiness reports it; requests retry the connection

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, device_id: str, event: bytes, topic: str = SESSION_EVENTS) -> tuple[int, int]:
        """Publish an encoded ``SessionEvent`` (an Inform, to SESSION_EVENTS) or ``SessionMessage``
        (``topic`` SESSION_MESSAGES) keyed by its device id (so a device's events stay in order on
        one partition, the same number in both topics). Returns the record's (partition, offset)
        once the broker acknowledged it (acks=all); raises BrokerUnavailable. Callers pass bytes
        so that a request waiting for the acknowledgement holds no decoded message."""
        assert topic in (SESSION_EVENTS, SESSION_MESSAGES), topic
        producer = await self._ensure()
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):  # no task per publish, unlike wait_for
                meta = await producer.send_and_wait(topic, event, key=device_id.encode())
        except (KafkaError, OSError, TimeoutError) as e:
            raise BrokerUnavailable(str(e) or type(e).__name__) from e
        metrics.KAFKA_PUBLISH.observe(time.perf_counter() - t0)
        return meta.partition, meta.offset

    async def ready(self) -> bool:
        try:
            p = await self._ensure()
            await asyncio.wait_for(p.client.fetch_all_metadata(), 3)
            return True
        except (TimeoutError, BrokerUnavailable, KafkaError, OSError):
            return False
