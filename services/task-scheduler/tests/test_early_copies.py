"""Early event copies: the consumer handles a gateway's copy of an event before its fetch only when
that cannot reorder the device's events (the partition read to its end, the device idle), never
handles the fetched record again, and commits past it only once the early handling's writes are
done. Driven without Kafka: a fake driver, a fake consumer giving the high watermark, and fetched
batches fed as ``SessionConsumer.run`` does."""

from __future__ import annotations

import asyncio
import time
import types
from dataclasses import dataclass, field, replace

import pytest
from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from acs_contracts.affinity import Assignment, EventCopy, FrameDecoder
from acs_contracts.kafka_topics import REQUEST_ID_HEADER, SESSION_EVENTS, SessionEvent
from task_scheduler import consumer as consumer_mod
from task_scheduler.config import Settings
from task_scheduler.consumer import SessionConsumer
from task_scheduler.replies import ReplySender

TP = TopicPartition(SESSION_EVENTS, 0)
TP1 = TopicPartition(SESSION_EVENTS, 1)


# ---------------------------------------------------------------------------------- helpers
def _event(device: str, kind: str, rid: str) -> bytes:
    return SessionEvent(device_id=device, session_id=f"s-{device}", kind=kind, request_id=rid, reply_to=None,
                        received_at=0.0, cwmp_ns="urn:dslforum-org:cwmp-1-0", cwmp_version="1.0").encode()


def _copy(tp: TopicPartition, device: str, kind: str, rid: str) -> EventCopy:
    return EventCopy(tp.partition, device.encode(), _event(device, kind, rid))


@dataclass
class Rec:
    """What aiokafka's ConsumerRecord gives the run loop."""

    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def _rec(offset: int, device: str, kind: str, rid: str) -> Rec:
    return Rec(offset, device.encode(), _event(device, kind, rid), [(REQUEST_ID_HEADER, rid.encode())])


def _fetch(c: SessionConsumer, tp: TopicPartition, records: list[Rec]) -> None:
    """One fetched batch of one partition, exactly as SessionConsumer.run hands it over."""
    c._take_batch(tp, records, time.perf_counter())


class FakeDriver:
    """An "inform" starts a session, an "empty" ends it. Records each event as it is handed over
    (device, kind, request id); ``gates[rid]`` holds that event's handling until set; ``futs[rid]``
    are the writes its handling leaves pending."""

    def __init__(self) -> None:
        self.sessions: dict[str, object] = {}
        self.handled: list[tuple[str, str, str]] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.futs: dict[str, list[asyncio.Future]] = {}

    async def handle(self, ev: SessionEvent, consumed_at: float) -> list:
        self.handled.append((ev.device_id, ev.kind, ev.request_id))
        gate = self.gates.get(ev.request_id)
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(0)
        if ev.kind == "inform":
            self.sessions[ev.device_id] = object()
        elif ev.kind == "empty":
            self.sessions.pop(ev.device_id, None)
        return self.futs.get(ev.request_id, [])

    def rids(self) -> list[str]:
        return [rid for _, _, rid in self.handled]


class FakeKafka:
    """The consumer's view of the broker: the high watermark of the last fetch, per partition."""

    def __init__(self) -> None:
        self.high: dict[TopicPartition, int] = {}

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.high.get(tp)

    def assignment(self) -> set[TopicPartition]:
        return set(self.high)


def _consumer(cap: int = 10) -> tuple[SessionConsumer, FakeDriver, FakeKafka]:
    driver = FakeDriver()
    c = SessionConsumer(replace(Settings(), max_active_sessions=cap), driver)
    c.consumer = kafka = FakeKafka()  # type: ignore[assignment]
    return c, driver, kafka


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _read_to_end(c: SessionConsumer, kafka: FakeKafka, tp: TopicPartition, records: list[Rec]) -> None:
    """A fetch that reads the partition to its end (high watermark = the offset after the batch)."""
    _fetch(c, tp, records)
    kafka.high[tp] = c._next[tp]
    await _settle()


def _copies(outcome: str) -> float:
    return REGISTRY.get_sample_value("acs_scheduler_event_copies_total", {"outcome": outcome}) or 0.0


def _counts() -> dict[str, float]:
    return {o: _copies(o) for o in ("taken", "behind", "busy", "invalid")}


def _delta(before: dict[str, float]) -> dict[str, float]:
    return {o: v - before[o] for o, v in _counts().items() if v != before[o]}


def _pending(n: int = 1) -> list[asyncio.Future]:
    loop = asyncio.get_running_loop()
    return [loop.create_future() for _ in range(n)]


# ---------------------------------------------------------------------------------- taken early
async def test_copy_taken_early_then_its_record_is_not_handled_again_fetched_after_the_handling():
    c, driver, kafka = _consumer()
    await _read_to_end(c, kafka, TP, [_rec(0, "a", "inform", "a0"), _rec(1, "a", "empty", "a1")])
    assert driver.rids() == ["a0", "a1"] and c.tracker.commit_points() == {TP: 2}

    writes = driver.futs["d0"] = _pending(2)
    before = _counts()
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is True
    await _settle()
    assert driver.rids() == ["a0", "a1", "d0"]  # handled with no fetch at all
    assert _delta(before) == {"taken": 1}
    assert c.tracker.commit_points() == {TP: 2}  # its record is not even fetched yet

    # its record comes: recognised by its request id, not handled again, tracked with the writes
    await _read_to_end(c, kafka, TP, [_rec(2, "d", "inform", "d0")])
    assert driver.rids() == ["a0", "a1", "d0"]
    assert c.tracker.commit_points() == {TP: 2}  # writes pending: never committed past
    writes[0].set_result(None)
    await _settle()
    assert c.tracker.commit_points() == {TP: 2}  # one write still pending
    writes[1].set_result(None)
    await _settle()
    assert c.tracker.commit_points() == {TP: 3}
    assert not c._early.get(TP)  # nothing left to recognise

    # the device's next event, fetched as usual, is handled as usual
    await _read_to_end(c, kafka, TP, [_rec(3, "d", "empty", "d1")])
    assert driver.rids() == ["a0", "a1", "d0", "d1"] and c.tracker.commit_points() == {TP: 4}
    assert driver.sessions == {}


async def test_copy_taken_early_then_its_record_is_not_handled_again_fetched_before_the_handling_ends():
    c, driver, kafka = _consumer()
    await _read_to_end(c, kafka, TP, [_rec(0, "a", "inform", "a0")])
    gate = driver.gates["d0"] = asyncio.Event()
    writes = driver.futs["d0"] = _pending()
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is True
    await _settle()
    assert driver.rids() == ["a0", "d0"]  # being handled

    await _read_to_end(c, kafka, TP, [_rec(1, "d", "inform", "d0")])
    assert driver.rids() == ["a0", "d0"]
    assert c._early[TP]["d0"].offset == 1  # fetched, its handling not over
    assert c.tracker.commit_points() == {TP: 1}

    gate.set()  # the handling ends, leaving a write pending
    await _settle()
    assert c.tracker.commit_points() == {TP: 1}
    writes[0].set_result(None)
    await _settle()
    assert c.tracker.commit_points() == {TP: 2}
    assert not c._early.get(TP) and driver.rids() == ["a0", "d0"]


@pytest.mark.parametrize("fetched_first", [False, True], ids=["handled-first", "fetched-first"])
async def test_early_event_without_writes_commits_once_both_handled_and_fetched(fetched_first):
    c, driver, kafka = _consumer()
    await _read_to_end(c, kafka, TP, [_rec(0, "a", "inform", "a0")])
    gate = driver.gates["d0"] = asyncio.Event()
    driver.futs["d0"] = [asyncio.get_running_loop().create_future()]
    driver.futs["d0"][0].set_result(None)  # a write already done
    assert c.take_copy(_copy(TP, "d", "inform", "d0"))
    await _settle()
    if fetched_first:
        await _read_to_end(c, kafka, TP, [_rec(1, "d", "inform", "d0")])
        assert c.tracker.commit_points() == {TP: 1}
        gate.set()
    else:
        gate.set()
        await _settle()
        assert c.tracker.commit_points() == {TP: 1}
        await _read_to_end(c, kafka, TP, [_rec(1, "d", "inform", "d0")])
    await _settle()
    assert c.tracker.commit_points() == {TP: 2}
    assert driver.rids() == ["a0", "d0"]


async def test_copy_for_a_device_in_session_is_taken_even_with_sessions_parked():
    """Events of devices in session never wait, early ones included."""
    c, driver, kafka = _consumer(cap=1)
    await _read_to_end(c, kafka, TP, [_rec(0, "x", "inform", "x0"), _rec(1, "b", "inform", "b0")])
    assert set(driver.sessions) == {"x"} and list(c._parked) == ["b"]
    assert c.take_copy(_copy(TP, "x", "message", "x1")) is True
    await _settle()
    assert driver.rids() == ["x0", "x1"]
    await _read_to_end(c, kafka, TP, [_rec(2, "x", "message", "x1")])
    assert driver.rids() == ["x0", "x1"]
    assert c.tracker.commit_points() == {TP: 1}  # b's parked Inform holds the commit point


# ---------------------------------------------------------------------------------- not taken
async def test_copy_for_a_partition_never_fetched_is_left_to_the_fetch():
    c, driver, kafka = _consumer()
    await _read_to_end(c, kafka, TP1, [_rec(0, "a", "inform", "a0")])  # another partition read to its end
    before = _counts()
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is False
    await _settle()
    assert driver.rids() == ["a0"] and _delta(before) == {"behind": 1}
    assert not c._early.get(TP) and not c._deferred.get(TP)

    await _read_to_end(c, kafka, TP, [_rec(0, "d", "inform", "d0")])
    assert driver.rids() == ["a0", "d0"]
    assert c.tracker.commit_points() == {TP: 1, TP1: 1}


@pytest.mark.parametrize("why", ["spilled", "no-room"])
async def test_copy_not_taken_while_the_partition_is_read_again_or_sessions_are_at_the_cap(why):
    c, driver, kafka = _consumer(cap=1)
    await _read_to_end(c, kafka, TP, [_rec(0, "x", "inform", "x0")])
    if why == "spilled":
        c._spill_from[TP] = 1
        c._spilled_devices["z"] = TP
        c.s = replace(c.s, max_active_sessions=10)
    before = _counts()
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is False
    await _settle()
    assert driver.rids() == ["x0"] and not c._early.get(TP) and not c._deferred.get(TP)
    assert _delta(before) == {"behind" if why == "spilled" else "busy": 1}


async def test_invalid_or_duplicate_copies_are_not_taken():
    c, driver, kafka = _consumer()
    await _read_to_end(c, kafka, TP, [_rec(0, "a", "inform", "a0")])
    before = _counts()
    assert c.take_copy(EventCopy(0, b"d", b"not json")) is False
    assert c.take_copy(EventCopy(0, b"other", _event("d", "inform", "d0"))) is False  # key is not its device
    assert _delta(before) == {"invalid": 2}
    driver.gates["d0"] = asyncio.Event()  # the first copy is still being handled...
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is True
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is False  # ...when the same one comes again
    driver.gates["d0"].set()
    await _settle()
    assert driver.rids() == ["a0", "d0"]


# ---------------------------------------------------------------------------------- deferred
async def test_copy_deferred_while_records_are_unfetched_then_taken_once_caught_up():
    c, driver, kafka = _consumer()
    _fetch(c, TP, [_rec(0, "a", "inform", "a0")])
    kafka.high[TP] = 2  # b's Inform at 1 is stored, not fetched yet
    await _settle()
    before = _counts()
    copy = _copy(TP, "d", "inform", "d0")
    assert c.take_copy(copy) is False
    assert c._deferred[TP] == [copy] and driver.rids() == ["a0"]

    _fetch(c, TP, [_rec(1, "b", "inform", "b0")])  # catches up: the copy is taken now
    await _settle()
    assert sorted(driver.rids()) == ["a0", "b0", "d0"]
    assert driver.rids().index("b0") < driver.rids().index("d0")
    assert _delta(before) == {"taken": 1} and not c._deferred

    await _read_to_end(c, kafka, TP, [_rec(2, "d", "inform", "d0")])
    assert driver.rids().count("d0") == 1
    assert c.tracker.commit_points() == {TP: 3}


async def test_deferred_copy_whose_own_record_comes_in_the_batch_is_handled_once():
    c, driver, kafka = _consumer()
    _fetch(c, TP, [_rec(0, "a", "inform", "a0")])
    kafka.high[TP] = 3
    await _settle()
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is False
    before = _counts()
    _fetch(c, TP, [_rec(1, "b", "inform", "b0"), _rec(2, "d", "inform", "d0")])
    await _settle()
    assert sorted(driver.rids()) == ["a0", "b0", "d0"]  # d0 exactly once, from its record
    assert not c._early.get(TP) and not c._deferred
    assert _delta(before).get("taken", 0) == 0
    assert c.tracker.commit_points() == {TP: 3}


async def test_deferred_copy_dropped_when_the_batch_does_not_catch_up():
    c, driver, kafka = _consumer()
    _fetch(c, TP, [_rec(0, "a", "inform", "a0")])
    kafka.high[TP] = 4
    await _settle()
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is False
    before = _counts()
    _fetch(c, TP, [_rec(1, "b", "inform", "b0")])  # still behind: 2 and 3 unfetched
    await _settle()
    assert driver.rids() == ["a0", "b0"] and not c._deferred and _delta(before) == {"behind": 1}
    await _read_to_end(c, kafka, TP, [_rec(2, "e", "inform", "e0"), _rec(3, "d", "inform", "d0")])
    assert sorted(driver.rids()) == ["a0", "b0", "d0", "e0"]
    assert c.tracker.commit_points() == {TP: 4}


async def test_deferred_copies_are_bounded_per_partition():
    c, driver, kafka = _consumer()
    _fetch(c, TP, [_rec(0, "a", "inform", "a0")])
    kafka.high[TP] = 2
    for i in range(consumer_mod._MAX_DEFERRED + 5):
        assert c.take_copy(_copy(TP, f"d{i}", "inform", f"r{i}")) is False
    assert len(c._deferred[TP]) == consumer_mod._MAX_DEFERRED
    await _settle()
    assert driver.rids() == ["a0"]


# ---------------------------------------------------------------------------------- busy devices
async def test_copy_for_a_device_with_an_event_being_handled_is_left_to_the_fetch():
    c, driver, kafka = _consumer()
    gate = driver.gates["a0"] = asyncio.Event()
    await _read_to_end(c, kafka, TP, [_rec(0, "a", "inform", "a0")])
    assert "a" in c._queues
    before = _counts()
    assert c.take_copy(_copy(TP, "a", "message", "a1")) is False
    assert _delta(before) == {"busy": 1}
    await _read_to_end(c, kafka, TP, [_rec(1, "a", "message", "a1")])  # queued behind a0
    gate.set()
    await _settle()
    assert driver.rids() == ["a0", "a1"]
    assert c.tracker.commit_points() == {TP: 2}


async def test_copy_for_a_parked_device_is_left_to_the_fetch_and_events_stay_in_order():
    c, driver, kafka = _consumer(cap=1)
    await _read_to_end(c, kafka, TP, [_rec(0, "x", "inform", "x0"), _rec(1, "b", "inform", "b0")])
    assert list(c._parked) == ["b"]
    before = _counts()
    assert c.take_copy(_copy(TP, "b", "message", "b1")) is False  # parked
    assert c.take_copy(_copy(TP, "c", "inform", "c0")) is False  # no session, no room
    assert _delta(before) == {"busy": 2} and not c._early.get(TP)

    await _read_to_end(c, kafka, TP, [_rec(2, "b", "message", "b1"), _rec(3, "c", "inform", "c0")])
    assert driver.rids() == ["x0"] and list(c._parked) == ["b", "c"]
    await _read_to_end(c, kafka, TP, [_rec(4, "x", "empty", "x1")])  # x's session ends: b starts
    assert driver.rids() == ["x0", "x1", "b0", "b1"]
    await _read_to_end(c, kafka, TP, [_rec(5, "b", "empty", "b2")])
    assert driver.rids() == ["x0", "x1", "b0", "b1", "b2", "c0"]
    assert not c._parked and c.tracker.commit_points() == {TP: 6}


# ---------------------------------------------------------------------------------- forgetting
async def test_early_event_whose_record_never_comes_is_forgotten(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(consumer_mod, "time", types.SimpleNamespace(monotonic=lambda: clock[0],
                                                                    perf_counter=time.perf_counter))
    c, driver, kafka = _consumer()
    await _read_to_end(c, kafka, TP, [_rec(0, "a", "inform", "a0")])
    gate = driver.gates["e0"] = asyncio.Event()
    assert c.take_copy(_copy(TP, "d", "inform", "d0"))  # its record never comes (publish failed)
    assert c.take_copy(_copy(TP, "e", "inform", "e0"))  # its record comes, its handling lasts
    await _settle()
    await _read_to_end(c, kafka, TP, [_rec(1, "e", "inform", "e0")])
    assert set(c._early[TP]) == {"d0", "e0"}

    clock[0] += consumer_mod._EARLY_TTL_S - 1
    c._forget_early()
    assert set(c._early[TP]) == {"d0", "e0"}  # not yet
    clock[0] += 2
    c._forget_early()
    assert set(c._early[TP]) == {"e0"}  # e0's record came: kept until its handling ends
    gate.set()
    await _settle()
    assert TP not in c._early or not c._early[TP]
    c._forget_early()
    assert TP not in c._early
    assert c.tracker.commit_points() == {TP: 2}
    assert driver.rids() == ["a0", "d0", "e0"]


# ---------------------------------------------------------------------------------- revocation
async def test_drop_parked_forgets_early_state_of_the_partitions_given_up():
    c, driver, kafka = _consumer()
    await _read_to_end(c, kafka, TP, [_rec(0, "a", "inform", "a0")])
    _fetch(c, TP1, [_rec(0, "b", "inform", "b0")])
    kafka.high[TP1] = 5
    gate = driver.gates["d0"] = asyncio.Event()
    assert c.take_copy(_copy(TP, "d", "inform", "d0")) is True
    deferred = _copy(TP1, "e", "inform", "e0")
    assert c.take_copy(deferred) is False
    await _settle()
    assert TP in c._next and c._early[TP] and c._deferred[TP1] == [deferred]

    c.drop_parked([TP])
    c.tracker.forget([TP])  # as on_partitions_revoked does
    assert TP not in c._next and TP not in c._early and TP not in c._deferred
    assert c._next[TP1] == 1 and c._deferred[TP1] == [deferred]  # the partition kept is untouched
    gate.set()  # the early handling ends after the partition is gone: nothing to track
    await _settle()
    assert TP not in c._early and c.tracker.commit_points() == {TP1: 1}
    assert c.take_copy(_copy(TP, "f", "inform", "f0")) is False  # not fetched since
    c.drop_parked([TP1])
    assert not c._next and not c._early and not c._deferred


async def test_revocation_announces_nothing_and_assignment_announces_the_partitions():
    announced: list[list[int]] = []
    c, _, _ = _consumer()
    c.replies = types.SimpleNamespace(announce=announced.append)
    c.announce([TP1, TP, TopicPartition("acs.other", 7)])
    c.announce(())
    assert announced == [[0, 1], []]


# ---------------------------------------------------------------------------------- the real run loop
class LoopKafka(FakeKafka):
    """Enough of AIOKafkaConsumer for SessionConsumer.run: scripted batches, commits recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: asyncio.Queue = asyncio.Queue()
        self.commits: list[dict] = []

    async def getmany(self, timeout_ms: int = 0) -> dict:
        try:
            return await asyncio.wait_for(self.batches.get(), timeout_ms / 1000)
        except asyncio.TimeoutError:
            return {}

    async def commit(self, points) -> None:
        self.commits.append(dict(points))


async def _until(cond, timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.002)
    await _settle()


async def test_the_run_loop_skips_records_of_early_events_and_takes_deferred_copies():
    c, driver, _ = _consumer()
    c.consumer = kafka = LoopKafka()  # type: ignore[assignment]
    task = asyncio.create_task(c.run())
    try:
        kafka.high[TP] = 1
        kafka.batches.put_nowait({TP: [_rec(0, "a", "inform", "a0")]})
        await _until(lambda: c._next.get(TP) == 1)
        assert c.take_copy(_copy(TP, "d", "inform", "d0")) is True
        await _settle()
        assert driver.rids() == ["a0", "d0"]

        kafka.high[TP] = 4  # d0's record and two more stored; a copy now waits for them
        copy = _copy(TP, "e", "inform", "e0")
        assert c.take_copy(copy) is False and c._deferred[TP] == [copy]
        kafka.batches.put_nowait({TP: [_rec(1, "d", "inform", "d0"), _rec(2, "b", "inform", "b0"),
                                       Rec(3, b"x", _event("x", "inform", "x0"))]})  # (no rid header)
        await _until(lambda: c._next.get(TP) == 4)
        assert sorted(driver.rids()) == ["a0", "b0", "d0", "e0", "x0"]  # d0 once; e0 taken early
        assert not c._deferred

        kafka.high[TP] = 5
        kafka.batches.put_nowait({TP: [_rec(4, "e", "inform", "e0")]})
        await _until(lambda: c._next.get(TP) == 5)
        assert driver.rids().count("e0") == 1 and len(driver.handled) == 5
        assert not c._early.get(TP)
    finally:
        c._running = False
        await asyncio.wait_for(task, 2)
    await c.commit()
    assert kafka.commits[-1] == {TP: 5}


# ---------------------------------------------------------------------------------- known gaps
async def test_a_copy_arriving_after_its_record_was_handled_is_not_handled_again():
    c, driver, kafka = _consumer()
    await _read_to_end(c, kafka, TP, [_rec(0, "a", "inform", "a0"), _rec(1, "a", "message", "a1")])
    assert driver.rids() == ["a0", "a1"]
    c.take_copy(_copy(TP, "a", "message", "a1"))  # the late copy of the record at offset 1
    await _settle()
    assert driver.rids() == ["a0", "a1"]


# ---------------------------------------------------------------------------------- the channel
async def _gateway() -> tuple[asyncio.Server, int, asyncio.Queue]:
    """A gateway's listener: hands the test each connection's (reader, writer)."""
    conns: asyncio.Queue = asyncio.Queue()

    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await conns.put((r, w))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], conns


async def _frames(reader: asyncio.StreamReader, decoder: FrameDecoder, n: int) -> list:
    out: list = []
    while len(out) < n:
        data = await asyncio.wait_for(reader.read(65536), 2)
        assert data, "connection closed"
        out += decoder.feed(data)
    return out


async def test_reply_sender_announces_and_hands_copies_over():
    from acs_contracts.affinity import Reply

    got: list[EventCopy] = []
    server, port, conns = await _gateway()
    sender = ReplySender(on_copy=got.append)
    sender.announce([2])  # before any connection: sent on connecting
    try:
        assert await sender.send(f"127.0.0.1:{port}", Reply("r1", 200, b"x"))
        r, w = await asyncio.wait_for(conns.get(), 2)
        dec = FrameDecoder()
        assert await _frames(r, dec, 2) == [Assignment(SESSION_EVENTS, (2,)), Reply("r1", 200, b"x")]
        sender.announce([0, 3])
        assert await _frames(r, dec, 1) == [Assignment(SESSION_EVENTS, (0, 3))]
        w.write(EventCopy(3, b"dev", b"value").encode_frame() + EventCopy(0, b"d2", b"v2").encode_frame())
        for _ in range(200):
            if len(got) == 2:
                break
            await asyncio.sleep(0.005)
        assert got == [EventCopy(3, b"dev", b"value"), EventCopy(0, b"d2", b"v2")]
        w.close()
    finally:
        await sender.close()
        server.close()


async def test_a_copy_that_on_copy_rejects_does_not_close_the_channel():
    got: list[EventCopy] = []

    def on_copy(copy: EventCopy) -> None:
        if copy.key == b"bad":
            raise RuntimeError("cannot take it")
        got.append(copy)

    from acs_contracts.affinity import Reply

    server, port, conns = await _gateway()
    sender = ReplySender(on_copy=on_copy)
    try:
        assert await sender.send(f"127.0.0.1:{port}", Reply("r1", 200, b""))
        r, w = await asyncio.wait_for(conns.get(), 2)
        w.write(EventCopy(0, b"bad", b"v").encode_frame())
        await asyncio.sleep(0.05)
        w.write(EventCopy(0, b"good", b"v").encode_frame())
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.005)
        assert got == [EventCopy(0, b"good", b"v")]
        assert f"127.0.0.1:{port}" in sender._conns
        w.close()
    finally:
        await sender.close()
        server.close()
