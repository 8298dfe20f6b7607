"""The session-events consumer: a Kafka consumer group member that hands each device's events,
in order, to the session driver, and commits offsets once their effects are durable.

Devices are independent: each has its own little queue and worker, so a slow device (a task
waiting on a MongoDB read) never holds up another's session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from acs_contracts.kafka_client import kafka_common_kwargs
from acs_contracts.kafka_topics import SESSION_EVENTS, SchemaError, SessionEvent

from . import metrics
from .config import Settings
from .device_session import SessionDriver
from .offsets import OffsetTracker

log = logging.getLogger(__name__)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: "SessionConsumer") -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked) -> None:
        await self.owner.commit()
        self.owner.tracker.forget(revoked)
        self.owner.driver.store.digests.clear()  # another scheduler may write those devices now
        for tp in revoked:
            label = str(tp.partition)
            if label in self.owner._lag_labels:
                metrics.CONSUMER_LAG.remove(label)
                self.owner._lag_labels.discard(label)
        log.info("partitions revoked: %s", sorted(tp.partition for tp in revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        self.owner.assigned_once = True  # joined the group: ready, even with no partition to own
        log.info("partitions assigned: %s", sorted(tp.partition for tp in assigned))


class SessionConsumer:
    def __init__(self, settings: Settings, driver: SessionDriver, writer=None) -> None:
        self.s = settings
        self.driver = driver
        self.tracker = OffsetTracker()
        self.writer = writer  # back-pressure: stop taking events while the database lags behind
        self.consumer: AIOKafkaConsumer = None  # type: ignore[assignment]  # made in start(): needs the loop
        self._queues: dict[str, deque] = {}
        self._tasks: set[asyncio.Task] = set()
        self._running = False
        self._lag_labels: set[str] = set()
        self.assigned_once = False

    async def start(self) -> None:
        settings = self.s
        self.consumer = AIOKafkaConsumer(
            **kafka_common_kwargs(settings.kafka_env or None), group_id=settings.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=settings.fetch_max_wait_ms,
            max_poll_records=settings.max_poll_records, session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms, rebalance_timeout_ms=settings.session_timeout_ms,
            max_poll_interval_ms=300000,
        )
        await self.consumer.start()
        self.consumer.subscribe([SESSION_EVENTS], listener=_Rebalance(self))

    async def stop(self) -> None:
        self._running = False
        if self.consumer is None:
            return
        await self.commit()
        await self.consumer.stop()

    async def run(self) -> None:
        self._running = True
        housekeeping = asyncio.create_task(self._housekeeping())
        try:
            while self._running:
                # When the database falls behind, stop taking events: Kafka keeps them (lag grows,
                # gateways answer later, CPEs slow down) instead of this process's memory.
                while self.writer is not None and self.writer.pending > self.s.max_pending_writes:
                    await asyncio.sleep(0.01)
                try:
                    batches = await self.consumer.getmany(timeout_ms=200)
                except KafkaError as e:
                    log.warning("fetch failed: %s", e)
                    await asyncio.sleep(0.5)
                    continue
                now = time.perf_counter()
                for tp, records in batches.items():
                    for r in records:
                        self.tracker.add(tp, r.offset)
                        try:
                            ev = SessionEvent.decode(r.value)
                        except SchemaError as e:
                            log.error("skipping undecodable event at %s:%d: %s", tp, r.offset, e)
                            self.tracker.done(tp, r.offset)
                            continue
                        self._dispatch(tp, r.offset, ev, now)
        finally:
            housekeeping.cancel()

    def _dispatch(self, tp: TopicPartition, offset: int, ev: SessionEvent, consumed_at: float) -> None:
        q = self._queues.get(ev.device_id)
        if q is None:
            q = self._queues[ev.device_id] = deque()
            t = asyncio.create_task(self._device_worker(ev.device_id, q))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
        q.append((tp, offset, ev, consumed_at))

    async def _device_worker(self, device_id: str, q: deque) -> None:
        while q:
            tp, offset, ev, consumed_at = q.popleft()
            try:
                futs = await self.driver.handle(ev, consumed_at)
            except Exception:
                log.exception("event of %s at %s:%d failed", device_id, tp, offset)
                futs = []
            self._track(tp, offset, futs)
        del self._queues[device_id]

    def _track(self, tp: TopicPartition, offset: int, futs: list[asyncio.Future]) -> None:
        if not futs:
            self.tracker.done(tp, offset)
            return
        remaining = [len(futs)]

        def one_done(f: asyncio.Future) -> None:
            if not f.cancelled() and f.exception() is not None:
                log.error("write for %s:%d failed: %s", tp, offset, f.exception())
            remaining[0] -= 1
            if remaining[0] == 0:
                self.tracker.done(tp, offset)

        for f in futs:
            f.add_done_callback(one_done)

    async def commit(self) -> None:
        points = self.tracker.commit_points()
        if not points:
            return
        assigned = self.consumer.assignment()
        points = {tp: off for tp, off in points.items() if tp in assigned}
        if not points:
            return
        try:
            await self.consumer.commit(points)
            self.tracker.committed(points)
        except (CommitFailedError, KafkaError) as e:
            log.warning("offset commit failed (rebalance?): %s", e)

    async def _housekeeping(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(0.25)
            tick += 1
            await self.commit()
            if tick % 20 == 0:
                self.driver.expire_idle()
                await self._update_lag()

    async def _update_lag(self) -> None:
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            try:
                pos = await self.consumer.position(tp)
            except KafkaError:
                continue
            if pos is not None:
                label = str(tp.partition)
                self._lag_labels.add(label)
                metrics.CONSUMER_LAG.labels(label).set(max(0, high - pos))
