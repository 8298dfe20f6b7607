"""Reading the ACS's Kafka topics in end-to-end tests: one reader for every test.

A reader subscribes without a consumer group, so it gets every partition of its topics, and
starts from their beginning; records are decoded with their topic's schema (acs_contracts). A
topic that does not exist yet (the service that creates it has not started) is waited for: the
client's metadata is refreshed every second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from acs_contracts.kafka_client import kafka_common_kwargs
from acs_contracts.settings import KafkaSettings


def _consumer(env: dict[str, str]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(**kafka_common_kwargs(KafkaSettings.from_env(env)), enable_auto_commit=False, auto_offset_reset="earliest",
                            fetch_max_wait_ms=100, metadata_max_age_ms=1000)


class TopicReader:
    """``schemas``: topic -> its message class. ``async with TopicReader(env, schemas) as t``."""

    def __init__(self, env: dict[str, str], schemas: dict[str, Any], default_timeout: float = 15.0) -> None:
        self.schemas = schemas
        self.default_timeout = default_timeout
        self.consumer = _consumer(env)
        self.seen: dict[str, list] = {t: [] for t in schemas}

    async def __aenter__(self) -> TopicReader:
        await self.consumer.start()
        self.consumer.subscribe(list(self.schemas))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def poll(self, timeout_ms: int) -> None:
        """What arrives within ``timeout_ms``, decoded into :attr:`seen`."""
        for tp, records in (await self.consumer.getmany(timeout_ms=timeout_ms)).items():
            self.seen[tp.topic] += [self.schemas[tp.topic].decode(r.value) for r in records]

    async def read_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await self.poll(int(min(left, 0.2) * 1000) + 1)

    async def wait(self, topic: str, match: Callable[[Any], bool], timeout: float | None = None) -> list:
        """The messages of ``topic`` that ``match`` accepts, once there is one (within ``timeout``)."""
        timeout = self.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            found = [x for x in self.seen[topic] if match(x)]
            if found:
                return found
            left = deadline - time.monotonic()
            assert left > 0, f"nothing matching on {topic} within {timeout} s ({len(self.seen[topic])} read)"
            await self.poll(int(min(left, 0.2) * 1000) + 1)


async def read_all(env: dict[str, str], topic: str, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Every record of ``topic`` from its beginning to its end as of now, undecoded."""
    consumer = _consumer(env)
    await consumer.start()
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        out: list[ConsumerRecord] = []
        while not consumer.assignment():  # the first fetch joins the partitions
            assert time.monotonic() < deadline, f"{topic} has no partitions"
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out += records
        parts = sorted(consumer.assignment())
        end = await consumer.end_offsets(parts)
        while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
            assert time.monotonic() < deadline, f"reading {topic} took longer than {timeout} s"
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out += records
        return out
    finally:
        await consumer.stop()
