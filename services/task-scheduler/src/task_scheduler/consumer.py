"""The session-events consumer: a Kafka consumer group member that hands each device's events,
in order, to the session driver, and commits offsets once their effects are durable.

Devices are independent: each has its own little queue and worker, so a slow device (a task
waiting on a MongoDB read) never holds up another's session.

Memory stays bounded whatever the backlog. A session in progress holds its provisioning run, the
device document it read and what it learnt from the CPE (tens to hundreds of KB), and a backlog consumed at
once would start every session in it together. So at most ``SCHEDULER_MAX_ACTIVE_SESSIONS``
sessions run at a time: the events of a device with no session beyond that are *parked* as raw
records (a few KB each, not decoded) and start, device by device in the order they came, as
sessions end. Consuming goes on at the cap, because the next event of a session in progress (its
CPE's answer) lies behind the backlog in the partition; events of devices in session are handled
at once. A parked event is not done, so its offset is not committed before it is handled: a crash
replays it.

Parked records are bounded as well (``SCHEDULER_MAX_PARKED_MB``). Above it, consuming still goes
on (sessions in progress need their next events), but the events of devices neither in session
nor parked are *spilled*: dropped, and so are that device's later events, and the partition is
read again from the first one spilled once half the parked records have been started. Events
handled meanwhile are skipped when read again; the commit point never passes a spilled event.
Only writes waiting for the database (``SCHEDULER_MAX_PENDING_WRITES``) stop the consumer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from aiokafka.errors import CommitFailedError, KafkaError

from acs_contracts.kafka_client import kafka_common_kwargs
from acs_contracts.kafka_topics import SESSION_EVENTS, SchemaError, SessionEvent

from . import metrics
from .config import Settings
from .device_session import SessionDriver
from .offsets import OffsetTracker

log = logging.getLogger(__name__)

_PARKED_OVERHEAD = 200  # bytes a parked record costs besides its value (tuple, list slot, key)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: "SessionConsumer") -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked) -> None:
        await self.owner.release_sessions()
        await self.owner.commit()
        self.owner.drop_parked(revoked)  # the new owner reads them again from the committed offset
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
        # Devices of the partitions taken over may have a BOOTSTRAP another instance left
        # unfinished (their owner wrote its held updates before giving them up).
        self.owner.driver.store.look_up_bootstraps_soon()
        log.info("partitions assigned: %s", sorted(tp.partition for tp in assigned))


class SessionConsumer:
    def __init__(self, settings: Settings, driver: SessionDriver, writer=None) -> None:
        self.s = settings
        self.driver = driver
        self.tracker = OffsetTracker()
        self.writer = writer  # back-pressure: stop taking events while the database lags behind
        self.consumer: AIOKafkaConsumer = None  # made in start(): needs the loop
        self._queues: dict[str, deque] = {}
        # Events of devices waiting for a session slot, raw and in order: device id -> [(tp, offset, value, consumed_at)].
        self._parked: OrderedDict[str, list[tuple[TopicPartition, int, bytes, float]]] = OrderedDict()
        self._parked_events = 0
        self._parked_bytes = 0
        # Spilled: partition -> first offset left to read again; device -> its partition (all its
        # later events are spilled too, so they stay in order); partition -> offsets taken past
        # the spill point (skipped when read again).
        self._spill_from: dict[TopicPartition, int] = {}
        self._spilled_devices: dict[str, TopicPartition] = {}
        self._taken: dict[TopicPartition, set[int]] = {}
        self._starting = 0  # workers begun for a device with no session yet (its first event in hand)
        self._tasks: set[asyncio.Task] = set()
        self._running = False
        self._lag_labels: set[str] = set()
        self.assigned_once = False

    async def start(self) -> None:
        settings = self.s
        self.consumer = AIOKafkaConsumer(
            **kafka_common_kwargs(settings.kafka), group_id=settings.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=settings.fetch_max_wait_ms,
            max_poll_records=settings.max_poll_records, session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms, rebalance_timeout_ms=settings.session_timeout_ms,
            max_poll_interval_ms=300000,
            # A member joining or leaving moves only the partitions it must (aiokafka has no
            # cooperative protocol: the rebalance still pauses every member for its duration).
            # Range too, so members of the previous release (range only) share the group.
            partition_assignment_strategy=(StickyPartitionAssignor, RangePartitionAssignor),
        )
        await self.consumer.start()
        self.consumer.subscribe([SESSION_EVENTS], listener=_Rebalance(self))

    async def stop(self) -> None:
        self._running = False
        if self.consumer is None:
            return
        await self.release_sessions()
        await self.commit()
        await self.consumer.stop()

    async def run(self) -> None:
        self._running = True
        housekeeping = asyncio.create_task(self._housekeeping())
        try:
            while self._running:
                # When the database falls behind, or too many events wait for a session slot, stop
                # taking records: Kafka keeps them (lag grows, gateways answer later, CPEs slow
                # down) instead of this process's memory.
                # A poll, not an Event (hence the noqa): each pass also unparks and rewinds (see _must_wait), and
                # the database backlog shrinks in write futures' callbacks, not at one place to signal.
                while self._running and self._must_wait():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                try:
                    batches = await self.consumer.getmany(timeout_ms=200)
                except KafkaError as e:
                    log.warning("fetch failed: %s", e)
                    await asyncio.sleep(0.5)
                    continue
                now = time.perf_counter()
                for tp, records in batches.items():
                    for r in records:  # in order: a device's events are handled one after another
                        self._take(tp, r.offset, r.key, r.value, now)
        finally:
            housekeeping.cancel()

    # ------------------------------------------------------------------ admission
    def _writes_behind(self) -> bool:
        return self.writer is not None and (self.writer.pending > self.s.max_pending_writes
                                            or self.writer.pending_fields > self.s.max_pending_fields)

    def _must_wait(self) -> bool:
        if self._parked:
            self._unpark()
        if self._spill_from and self._parked_bytes <= self.s.max_parked_bytes // 2:
            self._rewind()
        return self._writes_behind()

    def active(self) -> int:
        """Sessions in memory, plus devices whose first event is being handled (their session is
        about to be)."""
        return len(self.driver.sessions) + self._starting

    def _has_room(self) -> bool:
        return self.active() < self.s.max_active_sessions and not self._writes_behind()

    def _take(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes, consumed_at: float) -> None:
        """A record: straight to its device's worker, parked while the sessions are at the cap,
        or spilled while parked records are at theirs."""
        taken = self._taken.get(tp)
        if taken is not None and offset in taken:  # read again after a rewind: handled already
            taken.discard(offset)
            if not taken:
                del self._taken[tp]
            return
        self.tracker.add(tp, offset)
        if not key:  # not from a gateway (they key by device id): handled at once, as always
            self._note_taken(tp, offset)
            self._decode_and_dispatch(tp, offset, value, consumed_at)
            return
        device_id = key.decode("utf-8", "replace")
        if device_id in self._spilled_devices:  # behind its first spilled event (never parked or in session)
            self._spill(tp, offset, device_id)
            return
        parked = self._parked.get(device_id)
        if parked is None:
            if device_id in self._queues or device_id in self.driver.sessions or (not self._parked and self._has_room()):
                self._note_taken(tp, offset)
                self._decode_and_dispatch(tp, offset, value, consumed_at)
                return
            if self._parked_bytes + len(value) + _PARKED_OVERHEAD > self.s.max_parked_bytes:
                self._spill(tp, offset, device_id)
                return
            parked = self._parked[device_id] = []
        self._note_taken(tp, offset)
        parked.append((tp, offset, value, consumed_at))  # behind the device's earlier parked events
        self._parked_events += 1
        self._parked_bytes += len(value) + _PARKED_OVERHEAD
        metrics.PARKED_EVENTS.set(self._parked_events)

    def _spill(self, tp: TopicPartition, offset: int, device_id: str) -> None:
        """Leave the record in Kafka, to be read again (it stays pending: never committed past)."""
        self._spilled_devices[device_id] = tp
        if tp not in self._spill_from:
            self._spill_from[tp] = offset
        metrics.SPILLED_EVENTS.inc()

    def _note_taken(self, tp: TopicPartition, offset: int) -> None:
        if tp in self._spill_from:
            self._taken.setdefault(tp, set()).add(offset)

    def _rewind(self) -> None:
        """Read the spilled partitions again from their first spilled event."""
        for tp, offset in self._spill_from.items():
            try:
                self.consumer.seek(tp, offset)
            except Exception as e:  # given up meanwhile: its new owner reads from the committed offset
                log.info("no rewind of %s: %s", tp, e)
        self._spill_from.clear()
        self._spilled_devices.clear()

    def _unpark(self) -> None:
        """Start parked devices' sessions, oldest first, while there is room."""
        while self._parked and self._has_room():
            _, events = self._parked.popitem(last=False)
            for tp, offset, value, consumed_at in events:
                self._parked_events -= 1
                self._parked_bytes -= len(value) + _PARKED_OVERHEAD
                self._decode_and_dispatch(tp, offset, value, consumed_at)
        metrics.PARKED_EVENTS.set(self._parked_events)

    def drop_parked(self, tps) -> None:
        """Forget parked and spilled events of partitions given up (never handled here, never
        committed)."""
        gone = set(tps)
        for tp in gone:
            self._spill_from.pop(tp, None)
            self._taken.pop(tp, None)
        for device_id in [d for d, tp in self._spilled_devices.items() if tp in gone]:
            del self._spilled_devices[device_id]
        for device_id in list(self._parked):
            kept = [e for e in self._parked[device_id] if e[0] not in gone]
            for e in self._parked[device_id]:
                if e[0] in gone:
                    self._parked_events -= 1
                    self._parked_bytes -= len(e[2]) + _PARKED_OVERHEAD
            if kept:
                self._parked[device_id] = kept
            else:
                del self._parked[device_id]
        metrics.PARKED_EVENTS.set(self._parked_events)

    def _decode_and_dispatch(self, tp: TopicPartition, offset: int, value: bytes, consumed_at: float) -> None:
        try:
            ev = SessionEvent.decode(value)
        except SchemaError as e:
            log.error("skipping undecodable event at %s:%d: %s", tp, offset, e)
            self.tracker.done(tp, offset)
            return
        self._dispatch(tp, offset, ev, consumed_at)

    def _dispatch(self, tp: TopicPartition, offset: int, ev: SessionEvent, consumed_at: float) -> None:
        """To the device's worker."""
        q = self._queues.get(ev.device_id)
        if q is None:
            q = self._queues[ev.device_id] = deque()
            starting = ev.device_id not in self.driver.sessions
            self._starting += starting
            t = asyncio.create_task(self._device_worker(ev.device_id, q, starting))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
        q.append((tp, offset, ev, consumed_at))

    async def _device_worker(self, device_id: str, q: deque, starting: bool = False) -> None:
        try:
            while q:
                tp, offset, ev, consumed_at = q.popleft()
                try:
                    futs = await self.driver.handle(ev, consumed_at)
                except Exception:
                    log.exception("event of %s at %s:%s failed", device_id, tp, offset)
                    futs = []
                self._track(tp, offset, futs)
                if starting:  # the session is in driver.sessions now, or over already
                    starting = False
                    self._starting -= 1
                if self._parked:
                    self._unpark()  # a session may have ended
        finally:
            if starting:
                self._starting -= 1
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

    async def release_sessions(self, timeout_s: float = 5.0) -> None:
        """Store what sessions in progress hold back, so their events' offsets can be committed
        (before partitions move, or at shutdown); a session going on holds its later updates again."""
        futs = self.driver.release_all()
        if futs:
            await asyncio.wait(futs, timeout=timeout_s)

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
            if self._parked:
                self._unpark()  # room made by sessions gone idle, or by writes acknowledged
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
