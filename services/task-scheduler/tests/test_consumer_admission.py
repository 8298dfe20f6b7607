"""The consumer bounds the sessions in progress: at SCHEDULER_MAX_ACTIVE_SESSIONS the session-events
partitions are paused and new sessions wait in Kafka, starting in order as sessions end; session
messages (a session's CPE answers) never wait for the cap; a message read before its Inform waits
for it; nothing is committed past a record not yet handled."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from acs_contracts.kafka_topics import REPLY_WAIT, SESSION_EVENTS, SESSION_MESSAGES, SessionEvent, SessionMessage
from task_scheduler.config import Settings
from task_scheduler.consumer import SessionConsumer

EVENTS = TopicPartition(SESSION_EVENTS, 0)
MESSAGES = TopicPartition(SESSION_MESSAGES, 0)


class FakeDriver:
    """An "inform" starts a session, an "empty" ends it; records what it handled, in order."""

    def __init__(self) -> None:
        self.sessions: dict[str, object] = {}
        self.handled: list[tuple[str, str]] = []

    async def handle(self, ev: SessionEvent, consumed_at: float) -> list:
        await asyncio.sleep(0)
        self.handled.append((ev.device_id, ev.kind))
        if ev.kind == "inform":
            self.sessions[ev.device_id] = SimpleNamespace(session_id=ev.session_id)
        elif ev.kind == "empty":
            self.sessions.pop(ev.device_id, None)
        return []


class FakeWriter:
    pending = 0
    pending_fields = 0


class Partitions:
    """The consumer's side of Kafka for one partition of each topic: the logs, the read positions,
    pause/resume/seek, and a poll that returns what a getmany would."""

    def __init__(self) -> None:
        self.logs: dict[TopicPartition, list[ConsumerRecord]] = {EVENTS: [], MESSAGES: []}
        self.position = dict.fromkeys(self.logs, 0)
        self.paused: set[TopicPartition] = set()
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.position[tp] = offset

    def inform(self, device: str) -> int:
        return self._append(EVENTS, SessionEvent(device_id=device, session_id=f"s-{device}", kind="inform", request_id="r",
                                                 reply_to=None, received_at=0.0, cwmp_ns="urn:dslforum-org:cwmp-1-0",
                                                 cwmp_version="1.0"))

    def message(self, device: str, kind: str, inform_offset: int, received_at: float = 0.0) -> int:
        return self._append(MESSAGES, SessionMessage(device_id=device, session_id=f"s-{device}", kind=kind, request_id="r",
                                                     reply_to="gw:1", received_at=received_at, cwmp_ns="urn:dslforum-org:cwmp-1-0",
                                                     cwmp_version="1.0", headers={REPLY_WAIT: 20.0}, inform_partition=0,
                                                     inform_offset=inform_offset))

    def _append(self, tp: TopicPartition, msg: SessionEvent) -> int:
        log = self.logs[tp]
        log.append(ConsumerRecord(tp.topic, tp.partition, len(log), 0, 0, msg.device_id.encode(), msg.encode(), None, 0, 0, ()))
        return len(log) - 1

    def poll(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        out = {}
        for tp, log in self.logs.items():
            if tp not in self.paused and self.position[tp] < len(log):
                out[tp] = log[self.position[tp]:]
                self.position[tp] = len(log)
        return out


def _consumer(cap: int, writer=None, committed: int = 0) -> tuple[SessionConsumer, FakeDriver, Partitions]:
    driver = FakeDriver()
    c = SessionConsumer(Settings().model_copy(update={"max_active_sessions": cap}), driver, writer)
    c.consumer = kafka = Partitions()  # type: ignore[assignment]
    c.gate.start(EVENTS, committed)  # as _learn_positions does once the partition is assigned
    return c, driver, kafka


async def _poll(c: SessionConsumer, kafka: Partitions) -> None:
    """One pass of the consumer's loop (admission, then what getmany brings), then let the workers run."""
    c.admit()
    c.take(kafka.poll(), 0.0)
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_new_sessions_wait_in_kafka_beyond_the_cap_and_start_in_order():
    c, driver, kafka = _consumer(cap=2)
    for d in "abcd":
        kafka.inform(d)
    kafka.message("c", "empty", inform_offset=2)  # c's CPE answered before its Inform was taken
    await _poll(c, kafka)
    assert set(driver.sessions) == {"a", "b"}
    assert kafka.seeks == [(EVENTS, 2)] and EVENTS in kafka.paused and c.paused == {EVENTS}  # c, d: in Kafka
    assert len(c.gate) == 1 and ("c", "empty") not in driver.handled  # waits for c's Inform
    assert c.tracker.commit_points() == {EVENTS: 2, MESSAGES: 0}  # nothing past what was handled (c's message pending)

    # a's CPE answers: on the messages topic, never paused; the session ends, and c starts with
    # its own message right behind its Inform
    kafka.message("a", "empty", inform_offset=0)
    await _poll(c, kafka)
    await _poll(c, kafka)
    assert driver.handled.index(("c", "inform")) < driver.handled.index(("c", "empty"))
    assert kafka.seeks[-1] == (EVENTS, 3)  # no room for d beside b and c, yet
    await _poll(c, kafka)
    assert set(driver.sessions) == {"b", "d"} and not c.gate  # c's session ended at once: d got its slot
    kafka.message("b", "empty", inform_offset=1)
    kafka.message("d", "empty", inform_offset=3)
    await _poll(c, kafka)
    assert driver.sessions == {} and not c.paused and not kafka.paused
    assert [d for d, k in driver.handled if k == "inform"] == ["a", "b", "c", "d"]  # each once, in order
    assert len(driver.handled) == 8
    assert c.tracker.commit_points() == {EVENTS: 4, MESSAGES: 4}


@pytest.mark.asyncio
async def test_messages_of_sessions_in_progress_never_wait_for_the_cap():
    c, driver, kafka = _consumer(cap=1)
    kafka.inform("a")
    kafka.inform("b")
    await _poll(c, kafka)
    assert set(driver.sessions) == {"a"} and c.paused == {EVENTS}
    kafka.message("a", "message", inform_offset=0)
    kafka.message("a", "message", inform_offset=0)
    await _poll(c, kafka)
    assert driver.handled == [("a", "inform"), ("a", "message"), ("a", "message")]
    assert c.paused == {EVENTS} and "b" not in driver.sessions  # b still waits in Kafka


@pytest.mark.asyncio
async def test_a_message_read_before_its_inform_waits_and_is_handled_after_it():
    c, driver, kafka = _consumer(cap=5)
    at = kafka.inform("a")
    kafka.position[EVENTS] = 1  # the Inform is not in this poll (the topics are read side by side)
    kafka.message("a", "empty", inform_offset=at)
    c.take({MESSAGES: kafka.poll()[MESSAGES]}, 0.0)
    await _poll(c, kafka)
    assert driver.handled == [] and len(c.gate) == 1
    assert c.tracker.commit_points() == {MESSAGES: 0}  # the waiting message holds its partition's commit point
    kafka.position[EVENTS] = 0
    await _poll(c, kafka)
    assert driver.handled == [("a", "inform"), ("a", "empty")] and not c.gate
    assert c.tracker.commit_points() == {EVENTS: 1, MESSAGES: 1}


@pytest.mark.asyncio
async def test_messages_of_informs_taken_by_the_previous_owner_go_straight_on():
    c, driver, kafka = _consumer(cap=5, committed=3)  # offsets 0-2 were handled before the rebalance
    for d in "xyz":
        kafka.inform(d)
    kafka.position[EVENTS] = 3
    kafka.message("y", "message", inform_offset=1)
    await _poll(c, kafka)
    assert driver.handled == [("y", "message")] and not c.gate  # the driver recovers y's session


@pytest.mark.asyncio
async def test_a_message_of_a_session_superseded_by_a_later_inform_already_taken_is_dropped():
    """A backlog read again (after a rebalance) may bring a device's later Informs ahead of its
    earlier sessions' messages: those sessions are over, and their messages must not displace the
    session of the latest Inform."""
    c, driver, kafka = _consumer(cap=5)
    first = kafka.inform("a")
    second = kafka.inform("a")
    kafka.message("a", "empty", inform_offset=first)  # read after the second Inform: late
    kafka.message("a", "message", inform_offset=second)
    batch = kafka.poll()
    c.take({EVENTS: batch[EVENTS]}, 0.0)  # the Informs first, the messages in a later fetch
    c.take({MESSAGES: batch[MESSAGES]}, 0.0)
    await _poll(c, kafka)
    assert driver.handled == [("a", "inform"), ("a", "inform"), ("a", "message")]
    assert c.tracker.commit_points() == {EVENTS: 2, MESSAGES: 2}  # the late message counts as handled
    kafka.message("a", "empty", inform_offset=second)  # the session goes on, and ends
    await _poll(c, kafka)
    assert driver.handled[-1] == ("a", "empty") and driver.sessions == {}
    await asyncio.sleep(0)
    c._forget_informs()  # noqa: SLF001 - housekeeping: no queue, no session, nothing kept
    assert c.informs == {}


@pytest.mark.asyncio
async def test_a_message_whose_inform_never_comes_is_dropped_once_its_gateway_stopped_waiting():
    c, driver, kafka = _consumer(cap=5)
    kafka.message("a", "empty", inform_offset=7, received_at=1000.0)  # e.g. the topic was recreated
    await _poll(c, kafka)
    assert len(c.gate) == 1 and c.tracker.commit_points() == {MESSAGES: 0}
    c.drop_stale_waiting(1000.0 + 19)  # the gateway still waits (REPLY_WAIT 20 s)
    assert len(c.gate) == 1
    c.drop_stale_waiting(1000.0 + 21)
    assert not c.gate and driver.handled == [] and c.tracker.commit_points() == {MESSAGES: 1}


@pytest.mark.asyncio
async def test_one_batch_beyond_the_room_is_read_again_from_the_first_inform_not_taken():
    c, driver, kafka = _consumer(cap=1)
    for d in "abc":
        kafka.inform(d)
    await _poll(c, kafka)
    assert driver.handled == [("a", "inform")] and kafka.seeks == [(EVENTS, 1)]
    await _poll(c, kafka)  # paused: nothing more comes
    assert driver.handled == [("a", "inform")] and c.tracker.commit_points() == {EVENTS: 1}
    kafka.message("a", "empty", inform_offset=0)
    await _poll(c, kafka)
    await _poll(c, kafka)
    assert driver.handled[-1] == ("b", "inform") and kafka.seeks[-1] == (EVENTS, 2)
    kafka.message("b", "empty", inform_offset=1)
    await _poll(c, kafka)
    await _poll(c, kafka)
    assert [d for d, k in driver.handled if k == "inform"] == ["a", "b", "c"]  # none twice, none lost
    assert c.tracker.commit_points() == {EVENTS: 3, MESSAGES: 2}


@pytest.mark.asyncio
async def test_pending_writes_hold_back_new_sessions():
    writer = FakeWriter()
    c, driver, kafka = _consumer(cap=5, writer=writer)
    kafka.inform("a")
    writer.pending = c.s.max_pending_writes + 1
    await _poll(c, kafka)
    assert driver.handled == [] and c.paused == {EVENTS} and kafka.position[EVENTS] == 0  # left in Kafka
    writer.pending = 0
    await _poll(c, kafka)
    assert driver.handled == [("a", "inform")] and not c.paused
    kafka.inform("b")
    kafka.inform("c")
    batch = kafka.poll()  # fetched before the writes fell behind, taken after: put back
    writer.pending_fields = c.s.max_pending_fields + 1
    c.take(batch, 0.0)
    await _poll(c, kafka)
    assert driver.handled == [("a", "inform")] and kafka.seeks == [(EVENTS, 1)] and c.paused == {EVENTS}
    writer.pending_fields = 0
    await _poll(c, kafka)
    assert driver.handled == [("a", "inform"), ("b", "inform"), ("c", "inform")] and not c.paused
    assert c.tracker.commit_points() == {EVENTS: 3}


@pytest.mark.asyncio
async def test_revoked_partitions_forget_their_waiting_messages_and_pauses():
    c, driver, kafka = _consumer(cap=1)
    kafka.inform("a")
    kafka.inform("b")
    kafka.message("b", "empty", inform_offset=1)
    await _poll(c, kafka)
    assert len(c.gate) == 1 and c.paused == {EVENTS}
    c.forget({EVENTS, MESSAGES})
    assert not c.gate and not c.paused and not c.gate.knows(EVENTS)
    assert c.tracker.commit_points() == {}  # the new owner reads b's Inform and message again
    assert ("b", "empty") not in driver.handled


def test_settings_from_env():
    assert Settings.from_env({"SCHEDULER_MAX_ACTIVE_SESSIONS": "300"}).max_active_sessions == 300


@pytest.mark.asyncio
async def test_a_paused_partition_waits_for_room_for_a_batch_not_each_session_end():
    """Resuming at every session's end would read the backlog again for one Inform each time (and
    put the rest back): a paused partition is read again once a quarter of the cap is free."""
    c, driver, kafka = _consumer(cap=8)
    informs = {f"d{i}": kafka.inform(f"d{i}") for i in range(12)}
    await _poll(c, kafka)
    assert len(driver.sessions) == 8 and kafka.seeks == [(EVENTS, 8)] and c.paused == {EVENTS}

    kafka.message("d0", "empty", inform_offset=informs["d0"])  # one session ends: room for one
    await _poll(c, kafka)
    assert "d0" not in driver.sessions and len(driver.sessions) == 7
    assert c.paused == {EVENTS} and kafka.seeks == [(EVENTS, 8)]  # not read again for a single Inform

    kafka.message("d1", "empty", inform_offset=informs["d1"])  # a second: a quarter of the cap is free
    await _poll(c, kafka)  # this pass ends d1's session; the next resumes and takes two Informs
    await _poll(c, kafka)
    assert {"d8", "d9"} <= set(driver.sessions) and len(driver.sessions) == 8
    assert kafka.seeks == [(EVENTS, 8), (EVENTS, 10)] and c.paused == {EVENTS}  # d10, d11 still in Kafka


@pytest.mark.asyncio
async def test_after_rejoining_its_group_the_messages_of_its_own_sessions_go_on_at_the_cap():
    """Expired from its group (stopped past the session timeout) and back with the same partitions,
    the consumer starts again from the committed offset, before the Informs of the sessions it
    still holds. Their messages must not wait for those Informs to be read again: the partition
    stays paused at the cap those sessions fill, and they would wait for ever."""
    c, driver, kafka = _consumer(cap=2)
    a, b = kafka.inform("a"), kafka.inform("b")
    kafka.inform("c")
    await _poll(c, kafka)
    assert set(driver.sessions) == {"a", "b"} and c.paused == {EVENTS}

    c.forget({EVENTS, MESSAGES})  # revoked, then assigned again: nothing was committed
    kafka.paused.clear()
    kafka.position = dict.fromkeys(kafka.position, 0)
    c.gate.start(EVENTS, 0)
    kafka.message("a", "empty", inform_offset=a)
    kafka.message("b", "message", inform_offset=b)
    await _poll(c, kafka)
    assert ("a", "empty") in driver.handled and ("b", "message") in driver.handled
    assert "a" not in driver.sessions and len(c.gate) == 0
