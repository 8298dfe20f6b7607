"""The session consumer: a Kafka consumer group member that hands each device's CPE messages, in
order, to the session driver, and commits offsets once their effects are durable.

It reads two topics keyed by device id, partition N of both owned by the same member
(``assignor``): acs.session-events.v1, the Informs that open sessions, and
acs.session-messages.v1, every later message of a session.

Devices are independent: each has its own little queue and worker, so a slow device (a task
waiting on a MongoDB read) never holds up another's session.

Memory stays bounded whatever the backlog. A session in progress holds its provisioning run, the
device document and what it learnt from the CPE, so at most ``SCHEDULER_MAX_ACTIVE_SESSIONS`` run
at a time: at the cap the session-events partitions are *paused* and new sessions wait in Kafka;
a batch that brings more Informs than there is room for puts its partition back (``seek``) at
the first one not taken. Session messages are never paused for the cap: sessions in progress
need their CPEs' answers. Only writes waiting for the database (``SCHEDULER_MAX_PENDING_WRITES``,
``SCHEDULER_MAX_PENDING_FIELDS``) stop the consumer altogether.

A message read before its session's Inform has been taken waits for it (``inform_gate``); no
offset is committed past a record not yet handled (``offsets``), so a crash replays it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import NamedTuple, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord

from acs_contracts.kafka_client import kafka_common_kwargs
from acs_contracts.kafka_topics import SESSION_EVENTS, SESSION_MESSAGES, SchemaError, SessionEvent, SessionMessage

from . import metrics
from .assignor import CoPartitionedAssignor
from .config import Settings
from .device_session import SessionDriver
from .inform_gate import InformGate
from .offsets import OffsetTracker

log = logging.getLogger(__name__)

E = TypeVar("E", bound=SessionEvent)


class Taken(NamedTuple):
    """A record decoded and on its way to its device's worker."""

    tp: TopicPartition
    offset: int
    event: SessionEvent
    consumed_at: float


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: SessionConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked) -> None:
        await self.owner.release_sessions()
        await self.owner.commit()
        self.owner.forget(revoked)
        self.owner.driver.store.digests.clear()  # another scheduler may write those devices now
        log.info("partitions revoked: %s", sorted((tp.topic, tp.partition) for tp in revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        self.owner.assigned_once = True  # joined the group: ready, even with no partition to own
        # Devices of the partitions taken over may have a BOOTSTRAP another instance left
        # unfinished (their owner wrote its held updates before giving them up).
        self.owner.driver.store.look_up_bootstraps_soon()
        log.info("partitions assigned: %s", sorted((tp.topic, tp.partition) for tp in assigned))


class SessionConsumer:
    def __init__(self, settings: Settings, driver: SessionDriver, writer=None) -> None:
        self.s = settings
        self.driver = driver
        self.writer = writer  # back-pressure: stop taking events while the database lags behind
        self.consumer: AIOKafkaConsumer = None  # made in start(): needs the loop
        self.tracker = OffsetTracker()
        """Offsets of both topics taken and not yet durable: the commit point of each partition."""
        self.queues: dict[str, deque[Taken]] = {}
        """Device id -> its records not yet handled, in order; each queue has one worker task,
        which removes the queue when it has drained it."""
        self.gate: InformGate[Taken] = InformGate()
        """Session messages read before their Inform was taken, until it is."""
        self.paused: set[TopicPartition] = set()
        """Session-events partitions paused: no room for a new session (or the database behind)."""
        self.informs: dict[str, int] = {}
        """Device id -> offset of its latest Inform taken, while it has a queue or a session. A
        message of an earlier session read after it is *late* (a backlog read again after a
        rebalance reads the Informs ahead of the messages): that session was superseded, so the
        message is dropped, as the driver would have ended its session at the later Inform."""
        self._starting = 0  # workers begun for a device with no session yet (its first record in hand)
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
            # Partition N of both topics to one member, moving only what a member joining or
            # leaving must (aiokafka has no cooperative protocol: a rebalance still pauses every
            # member). Range too, for members of the previous release: it pairs them as well.
            partition_assignment_strategy=(CoPartitionedAssignor, RangePartitionAssignor),
        )
        await self.consumer.start()
        self.consumer.subscribe([SESSION_EVENTS, SESSION_MESSAGES], listener=_Rebalance(self))

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
                # The database behind: take nothing (Kafka keeps the records, not this process).
                # A poll, not an Event: the backlog shrinks in write futures' callbacks.
                while self._running and self._writes_behind():  # noqa: ASYNC110
                    self.admit()
                    await asyncio.sleep(0.01)
                self.admit()
                try:
                    batches = await self.consumer.getmany(timeout_ms=200)
                except KafkaError as e:
                    log.warning("fetch failed: %s", e)
                    await asyncio.sleep(0.5)
                    continue
                await self._learn_positions()
                self.take(batches, time.perf_counter())
        finally:
            housekeeping.cancel()

    # ------------------------------------------------------------------ admission
    def _writes_behind(self) -> bool:
        return self.writer is not None and (self.writer.pending > self.s.max_pending_writes
                                            or self.writer.pending_fields > self.s.max_pending_fields)

    def active(self) -> int:
        """Sessions in memory, plus devices whose first record is being handled (their session is
        about to be)."""
        return len(self.driver.sessions) + self._starting

    def _has_room(self) -> bool:
        return self._room() > 0

    def _room(self) -> int:
        """New sessions that may start now (none while the database is behind)."""
        return 0 if self._writes_behind() else self.s.max_active_sessions - self.active()

    def _resume_room(self) -> int:
        """Room a paused session-events partition waits for before it is read again: a quarter of
        the cap (at most a poll's worth). Resuming at every session's end would fetch the backlog
        again for each new session, and put back all but one Inform: in a boot storm the
        scheduler spent its time refetching and decoding records (3x slower, 3x the memory)."""
        return max(1, min(self.s.max_active_sessions // 4, self.s.max_poll_records))

    def admit(self) -> None:
        """Pause the session-events partitions while there is no room for a new session; resume
        them once there is room for a batch of them (``_resume_room``)."""
        room = self._room()
        if room <= 0:
            more = {tp for tp in self.consumer.assignment() if tp.topic == SESSION_EVENTS} - self.paused
            if more:
                self.consumer.pause(*more)
                self.paused |= more
        elif self.paused and room >= self._resume_room():
            self.consumer.resume(*self.paused)
            self.paused.clear()
        metrics.PAUSED_PARTITIONS.set(len(self.paused))

    def _needs_slot(self, key: bytes | None) -> bool:
        """A record of a device with no session nor queue starts one (records without a key, not
        from a gateway, are handled at once, as always)."""
        if not key:
            return False
        device_id = key.decode("utf-8", "replace")
        return device_id not in self.queues and device_id not in self.driver.sessions

    # ------------------------------------------------------------------ taking records
    def take(self, batches: dict[TopicPartition, list[ConsumerRecord]], consumed_at: float) -> None:
        """One getmany's records: Informs first (a message in the same batch may wait for one).
        Records of partitions given up meanwhile are left to their new owner."""
        assigned = self.consumer.assignment()
        for tp in sorted(batches, key=lambda tp: tp.topic != SESSION_EVENTS):
            if tp not in assigned:
                continue
            if tp.topic == SESSION_EVENTS:
                self._take_informs(tp, batches[tp], consumed_at)
            else:
                self._take_messages(tp, batches[tp], consumed_at)

    def _take_informs(self, tp: TopicPartition, records: Sequence[ConsumerRecord], consumed_at: float) -> None:
        for r in records:
            if self._needs_slot(r.key) and not self._has_room():
                self.consumer.seek(tp, r.offset)  # the first not taken: read again once resumed
                self.consumer.pause(tp)
                self.paused.add(tp)
                metrics.PAUSED_PARTITIONS.set(len(self.paused))
                return
            self.tracker.add(tp, r.offset)
            ev = self._decode(SessionEvent, tp, r.offset, r.value)
            if ev is not None:
                if ev.kind == "inform":
                    self.informs[ev.device_id] = r.offset
                self._dispatch(Taken(tp, r.offset, ev, consumed_at))
            for early in self.gate.took(tp, r.offset):
                self._dispatch(early)
        metrics.AWAITING_INFORM.set(len(self.gate))

    def _take_messages(self, tp: TopicPartition, records: Sequence[ConsumerRecord], consumed_at: float) -> None:
        for r in records:
            self.tracker.add(tp, r.offset)
            msg = self._decode(SessionMessage, tp, r.offset, r.value)
            if msg is None:
                continue
            if 0 <= msg.inform_offset < self.informs.get(msg.device_id, -1):
                log.debug("late message of %s (session %s) at %s:%d dropped", msg.device_id, msg.session_id, tp, r.offset)
                metrics.LATE_MESSAGES.inc()
                self.tracker.done(tp, r.offset)
                continue
            taken = Taken(tp, r.offset, msg, consumed_at)
            if self._in_session_here(msg) or not self.gate.hold(
                    TopicPartition(SESSION_EVENTS, msg.inform_partition), msg.inform_offset, msg.device_id, taken):
                self._dispatch(taken)
        metrics.AWAITING_INFORM.set(len(self.gate))

    def _in_session_here(self, msg: SessionMessage) -> bool:
        """The message's session lives here: its Inform was taken by this member, whatever the
        gate's position says. After this member rejoins its group (expired while stopped, say),
        the gate starts again at the committed offset, before the Informs of the sessions still
        in progress; holding their messages until those Informs are read again would wait for
        ever with the partitions paused at the cap, which those very sessions fill."""
        live = self.driver.sessions.get(msg.device_id)
        return live is not None and getattr(live, "session_id", None) == msg.session_id

    def _decode(self, schema: type[E], tp: TopicPartition, offset: int, value: bytes) -> E | None:
        try:
            return schema.decode(value)
        except SchemaError as e:
            log.error("skipping undecodable record at %s:%d: %s", tp, offset, e)
            self.tracker.done(tp, offset)
            return None

    async def _learn_positions(self) -> None:
        """Session-events partitions new to this member: every Inform before their committed
        offset was taken (here or by their previous owner), so messages of those sessions go on."""
        for tp in self.consumer.assignment():
            if tp.topic != SESSION_EVENTS or self.gate.knows(tp):
                continue
            try:
                committed = await self.consumer.committed(tp)
                if committed is None:
                    committed = (await self.consumer.beginning_offsets([tp]))[tp]
            except KafkaError as e:
                log.warning("no committed offset for %s yet: %s", tp, e)
                continue
            self.gate.start(tp, committed)

    def forget(self, revoked) -> None:
        """Partitions given up: what was read from them and not handled is read again by their new
        owner (nothing of it was committed)."""
        self.gate.forget(revoked, lambda taken: taken.tp)
        self.tracker.forget(revoked)
        self._forget_informs()
        self.paused.difference_update(revoked)
        for tp in revoked:
            label = str(tp.partition)
            if label in self._lag_labels:
                metrics.CONSUMER_LAG.remove(label)
                self._lag_labels.discard(label)
        metrics.AWAITING_INFORM.set(len(self.gate))
        metrics.PAUSED_PARTITIONS.set(len(self.paused))

    def drop_stale_waiting(self, now: float) -> None:
        """Messages that waited for their Inform longer than their gateway waits for the reply: the
        CPE's session is over (an Inform that never comes must not hold a commit point forever)."""
        for taken in self.gate.drop(lambda taken: taken.event.is_stale(now)):
            log.warning("%s:%d of %s waited for its Inform in vain; dropped", taken.tp, taken.offset, taken.event.device_id)
            self.tracker.done(taken.tp, taken.offset)
        metrics.AWAITING_INFORM.set(len(self.gate))

    def _forget_informs(self) -> None:
        """Keep the latest Informs of devices with a queue or a session only."""
        self.informs = {d: o for d, o in self.informs.items() if d in self.queues or d in self.driver.sessions}

    # ------------------------------------------------------------------ device workers
    def _dispatch(self, taken: Taken) -> None:
        """To the device's worker."""
        device_id = taken.event.device_id
        q = self.queues.get(device_id)
        if q is None:
            q = self.queues[device_id] = deque()
            starting = device_id not in self.driver.sessions
            self._starting += starting
            t = asyncio.create_task(self._device_worker(device_id, q, starting))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
        q.append(taken)

    async def _device_worker(self, device_id: str, q: deque[Taken], starting: bool = False) -> None:
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
        finally:
            if starting:
                self._starting -= 1
            del self.queues[device_id]
            if self.paused and self.consumer is not None:
                self.admit()  # a session may have ended: room for the next

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

    # ------------------------------------------------------------------ offsets, housekeeping
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
            if tick % 20 == 0:
                self.driver.expire_idle()
                self._forget_informs()
                self.drop_stale_waiting(time.time())
                await self._update_lag()

    async def _update_lag(self) -> None:
        """Records behind the end, per partition number (its session events and messages)."""
        lag: dict[str, int] = {}
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
                lag[label] = lag.get(label, 0) + max(0, high - pos)
        for label, behind in lag.items():
            self._lag_labels.add(label)
            metrics.CONSUMER_LAG.labels(label).set(behind)
