"""The consumer bounds the sessions in progress: beyond SCHEDULER_MAX_ACTIVE_SESSIONS, events of
devices with no session wait as raw records, in order, and start as sessions end; events of
devices in session never wait (their CPE's answer lies behind the backlog)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition

from acs_contracts.kafka_topics import SessionEvent
from task_scheduler.config import Settings
from task_scheduler.consumer import SessionConsumer

TP = TopicPartition("acs.session-events.v1", 0)


def _event(device: str, kind: str) -> bytes:
    return SessionEvent(device_id=device, session_id=f"s-{device}", kind=kind, request_id="r", reply_to=None,
                        received_at=0.0, cwmp_ns="urn:dslforum-org:cwmp-1-0", cwmp_version="1.0").encode()


class FakeDriver:
    """An "inform" starts a session, an "empty" ends it; records what it handled, in order."""

    def __init__(self) -> None:
        self.sessions: dict[str, object] = {}
        self.handled: list[tuple[str, str]] = []

    async def handle(self, ev: SessionEvent, consumed_at: float) -> list:
        await asyncio.sleep(0)
        self.handled.append((ev.device_id, ev.kind))
        if ev.kind == "inform":
            self.sessions[ev.device_id] = object()
        elif ev.kind == "empty":
            self.sessions.pop(ev.device_id, None)
        return []


class FakeWriter:
    pending = 0
    pending_fields = 0


def _consumer(cap: int, parked_mb: int = 64, writer=None) -> tuple[SessionConsumer, FakeDriver]:
    driver = FakeDriver()
    c = SessionConsumer(Settings().model_copy(update={"max_active_sessions": cap, "max_parked_bytes": parked_mb << 20}), driver, writer)
    return c, driver


def _feed(c: SessionConsumer, records: list[tuple[str, str]], start: int = 0) -> None:
    for i, (device, kind) in enumerate(records, start):
        c._take(TP, i, device.encode(), _event(device, kind), 0.0)


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_new_sessions_wait_beyond_the_cap_and_start_in_order():
    c, driver = _consumer(cap=2)
    _feed(c, [("a", "inform"), ("b", "inform"), ("c", "inform"), ("d", "inform"), ("c", "empty")])
    await _settle()
    assert set(driver.sessions) == {"a", "b"}
    assert list(c._parked) == ["c", "d"] and c._parked_events == 3
    assert c.tracker.commit_points() == {TP: 2}  # parked events are not done: never committed early

    # a's CPE answers (its event lies behind the backlog): handled at once, the session ends,
    # and c starts with its own later events right behind its Inform
    _feed(c, [("a", "empty")], start=5)
    await _settle()
    assert ("c", "inform") in driver.handled and ("c", "empty") in driver.handled
    assert driver.handled.index(("c", "inform")) < driver.handled.index(("c", "empty"))
    assert not c._parked and set(driver.sessions) == {"b", "d"}  # c's session ended at once: d got its slot
    _feed(c, [("b", "empty"), ("d", "empty")], start=6)
    await _settle()
    assert not c._parked and c._parked_events == 0 and c._parked_bytes == 0
    assert driver.sessions == {}
    assert [d for d, k in driver.handled if k == "inform"] == ["a", "b", "c", "d"]
    assert c.tracker.commit_points() == {TP: 8}


@pytest.mark.asyncio
async def test_events_of_devices_in_session_never_wait():
    c, driver = _consumer(cap=1)
    _feed(c, [("a", "inform"), ("b", "inform")])
    await _settle()
    assert set(driver.sessions) == {"a"} and list(c._parked) == ["b"]
    _feed(c, [("a", "message"), ("a", "message")], start=2)
    await _settle()
    assert driver.handled[-2:] == [("a", "message"), ("a", "message")]
    assert list(c._parked) == ["b"]


class FakeKafka:
    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, int]] = []

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


@pytest.mark.asyncio
async def test_beyond_the_parked_bytes_events_are_read_again_later_and_sessions_go_on():
    """At the parked-bytes cap the consumer keeps consuming (sessions in progress need their CPEs'
    answers, which lie behind the backlog) but leaves other devices' events in Kafka, then reads
    the partition again from the first one left, skipping what it handled meanwhile."""
    driver = FakeDriver()
    room = len(_event("b", "inform")) + 200  # one parked Inform fits
    c = SessionConsumer(Settings().model_copy(update={"max_active_sessions": 1, "max_parked_bytes": room}), driver)
    c.consumer = kafka = FakeKafka()  # type: ignore[assignment]
    # a: in session; b: parked; c: spilled, and so is its next event (even were there room
    # again, it stays behind its first); a's answer is handled at once
    _feed(c, [("a", "inform"), ("b", "inform"), ("c", "inform"), ("a", "message"), ("c", "empty")])
    await _settle()
    assert driver.handled == [("a", "inform"), ("a", "message")]
    assert list(c._parked) == ["b"] and c._spill_from == {TP: 2} and set(c._spilled_devices) == {"c"}
    assert not c._must_wait()  # consuming goes on
    assert kafka.seeks == [] and c.tracker.commit_points() == {TP: 1}  # never past b nor the spilled c

    _feed(c, [("a", "empty")], start=5)  # a's session ends: b starts, the parked bytes are gone
    await _settle()
    assert ("b", "inform") in driver.handled and not c._parked
    assert not c._must_wait() and kafka.seeks == [(TP, 2)] and not c._spill_from
    # read again from offset 2: a's events at 3 and 5 are not handled twice; b's end (new, at 6)
    # makes room for c, parked meanwhile
    _feed(c, [("c", "inform"), ("a", "message"), ("c", "empty"), ("a", "empty"), ("b", "empty")], start=2)
    await _settle()
    assert driver.handled.count(("a", "message")) == 1 and driver.handled.count(("a", "empty")) == 1
    assert driver.handled.index(("c", "inform")) < driver.handled.index(("c", "empty"))
    assert not c._taken and c.tracker.commit_points() == {TP: 7}


@pytest.mark.asyncio
async def test_pending_writes_hold_back_parked_sessions():
    writer = FakeWriter()
    c, driver = _consumer(cap=5, writer=writer)
    writer.pending = c.s.max_pending_writes + 1
    _feed(c, [("a", "inform")])
    await _settle()
    assert driver.handled == [] and list(c._parked) == ["a"]
    writer.pending = 0
    c._unpark()
    await _settle()
    assert driver.handled == [("a", "inform")]


@pytest.mark.asyncio
async def test_revoked_partitions_forget_their_parked_events():
    c, _ = _consumer(cap=1)
    other = TopicPartition(TP.topic, 1)
    _feed(c, [("a", "inform"), ("b", "inform")])
    c._take(other, 0, b"c", _event("c", "inform"), 0.0)
    await _settle()
    assert list(c._parked) == ["b", "c"]
    c._spill(TP, 2, "d")
    c.drop_parked([TP])
    assert list(c._parked) == ["c"] and c._parked_events == 1
    assert not c._spill_from and not c._spilled_devices


def test_settings_from_env():
    s = Settings.from_env({"SCHEDULER_MAX_ACTIVE_SESSIONS": "300", "SCHEDULER_MAX_PARKED_MB": "16"})
    assert (s.max_active_sessions, s.max_parked_bytes) == (300, 16 << 20)
