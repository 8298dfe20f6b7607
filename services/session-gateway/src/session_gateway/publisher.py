"""Publishing session events to Kafka with acks=all, so nothing is acknowledged to a CPE
before the broker has it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from acs_contracts.kafka_client import durable_producer_kwargs, kafka_common_kwargs
from acs_contracts.kafka_topics import REQUEST_ID_HEADER, SESSION_EVENTS

from . import metrics


# aiokafka has one produce request in flight per broker, carrying at most one batch per partition:
# with the 16 KiB default a batch holds one or two Informs, so events queue (holding their bytes)
# and time out under a burst. Larger batches drain the queue in a few round trips.
_MAX_BATCH_BYTES = 512 * 1024


class BrokerUnavailable(Exception):
    """The event could not be durably published; the CPE must retry later (503)."""


class SessionEventPublisher:
    def __init__(self, kafka_env: dict[str, str], timeout_s: float) -> None:
        self._kw = {**kafka_common_kwargs(kafka_env or None), **durable_producer_kwargs(kafka_env or None)}
        self._timeout = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._partitioner = DefaultPartitioner()  # aiokafka's own: the partition is chosen here, so it is known before sending

    async def _ensure(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                p = AIOKafkaProducer(**self._kw, linger_ms=0, request_timeout_ms=int(self._timeout * 1000),
                                     retry_backoff_ms=100, max_batch_size=_MAX_BATCH_BYTES)
                try:
                    await asyncio.wait_for(p.start(), self._timeout)
                except (KafkaError, OSError, asyncio.TimeoutError) as e:
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

    async def publish(self, device_id: str, event: bytes, request_id: str,
                      copy: Callable[[int, bytes, bytes], object] | None = None) -> None:
        """Publish an encoded ``SessionEvent`` keyed by its device id, its request id in a record
        header. Returns once the broker acknowledged it (acks=all); raises BrokerUnavailable.
        ``copy(partition, key, event)`` is called just before it is sent, with the partition it
        goes to (the affinity channel's early copy). Callers pass bytes so that a request waiting
        for the acknowledgement holds no decoded message."""
        producer = await self._ensure()
        key = device_id.encode()
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):  # no task per publish, unlike wait_for
                partitions = sorted(await producer.partitions_for(SESSION_EVENTS))
                partition = self._partitioner(key, partitions, partitions)
                if copy is not None:
                    copy(partition, key, event)
                await producer.send_and_wait(SESSION_EVENTS, event, key=key, partition=partition,
                                             headers=[(REQUEST_ID_HEADER, request_id.encode())])
        except (KafkaError, OSError, TimeoutError) as e:
            raise BrokerUnavailable(str(e) or type(e).__name__) from e
        metrics.KAFKA_PUBLISH.observe(time.perf_counter() - t0)

    async def ready(self) -> bool:
        try:
            p = await self._ensure()
            await asyncio.wait_for(p.client.fetch_all_metadata(), 3)
            return True
        except (BrokerUnavailable, KafkaError, OSError, asyncio.TimeoutError):
            return False
