"""The gateway's end of the affinity channel: schedulers announce the session-events partitions
they own, and ``ReplyListener.forward`` copies each event being published to its partition's
owner, over the same connection that brings that scheduler's replies."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import orjson
import pytest
from prometheus_client import REGISTRY

from acs_contracts.affinity import VERSION, Assignment, EventCopy, FrameDecoder, Reply
from acs_contracts.kafka_topics import SESSION_EVENTS
from session_gateway import affinity
from session_gateway.affinity import ReplyListener

METRIC = "acs_gateway_event_copies_total"


def _count(outcome: str) -> float:
    return REGISTRY.get_sample_value(METRIC, {"outcome": outcome}) or 0.0


def _counts() -> dict[str, float]:
    return {o: _count(o) for o in ("sent", "no_owner", "backlog")}


def _delta(before: dict[str, float]) -> dict[str, float]:
    return {o: v - before[o] for o, v in _counts().items() if v != before[o]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Scheduler:
    """A scheduler's end of one connection: writes frames, reads and decodes the gateway's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = FrameDecoder()
        self.frames: list = []

    @classmethod
    async def connect(cls, port: int) -> "Scheduler":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    def send(self, *frames) -> None:
        self.writer.write(b"".join(f.encode_frame() for f in frames))

    async def next_frame(self, timeout: float = 2.0):
        async def read():
            while not self.frames:
                data = await self.reader.read(65536)
                if not data:
                    raise EOFError("gateway closed the connection")
                self.frames += self.decoder.feed(data)
            return self.frames.pop(0)

        return await asyncio.wait_for(read(), timeout)

    async def nothing_within(self, timeout: float = 0.1) -> bool:
        try:
            await self.next_frame(timeout)
        except asyncio.TimeoutError:
            return True
        return False

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


async def _until(cond, timeout: float = 2.0) -> None:
    """Wait for the listener to process what the scheduler sent."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.005)


@pytest.fixture
async def listener() -> AsyncIterator[tuple[ReplyListener, int]]:
    lst = ReplyListener()
    port = _free_port()
    await lst.start("127.0.0.1", port)
    yield lst, port
    await lst.stop()


async def _announced(lst: ReplyListener, port: int, *partitions: int) -> Scheduler:
    s = await Scheduler.connect(port)
    s.send(Assignment(SESSION_EVENTS, partitions))
    await _until(lambda: all(p in lst._owners for p in partitions))
    return s


async def test_forward_copies_the_event_to_the_partitions_owner(listener):
    lst, port = listener
    s = await _announced(lst, port, 0, 2)
    before = _counts()
    value = b'{"schema":"acs.session-events.v1","body":"\xc3\xa9"}'
    assert lst.forward(2, b"dev-1", value) is True
    assert lst.forward(0, b"dev-2", b"") is True
    assert await s.next_frame() == EventCopy(2, b"dev-1", value)
    assert await s.next_frame() == EventCopy(0, b"dev-2", b"")
    assert _delta(before) == {"sent": 2}
    await s.close()


async def test_forward_for_a_partition_nobody_announced(listener):
    lst, port = listener
    before = _counts()
    assert lst.forward(0, b"dev", b"v") is False  # no scheduler at all
    s = await _announced(lst, port, 1)
    assert lst.forward(0, b"dev", b"v") is False  # one, but not for this partition
    assert await s.nothing_within()
    assert _delta(before) == {"no_owner": 2}
    await s.close()


@pytest.mark.parametrize("assignment", [
    Assignment(SESSION_EVENTS, (0,), version=VERSION + 1),
    Assignment(SESSION_EVENTS, (0,), version=VERSION - 1),
    Assignment("acs.session-events.v2", (0,)),
], ids=["newer-version", "older-version", "other-topic"])
async def test_an_announcement_of_another_version_or_topic_gives_no_owner(listener, assignment):
    lst, port = listener
    s = await Scheduler.connect(port)
    s.send(assignment, Reply("r-mark", 200, b"x"))  # the reply marks the assignment as read
    fut = lst.expect("r-mark")
    await asyncio.wait_for(fut, 2)
    assert lst.forward(0, b"dev", b"v") is False
    assert await s.nothing_within()
    await s.close()


async def test_another_version_announced_later_withdraws_the_partitions(listener):
    lst, port = listener
    s = await _announced(lst, port, 0)
    s.send(Assignment(SESSION_EVENTS, (0,), version=VERSION + 1))
    await _until(lambda: 0 not in lst._owners)
    assert lst.forward(0, b"dev", b"v") is False
    await s.close()


async def test_a_new_assignment_replaces_the_old_one(listener):
    """Each Assignment is the scheduler's whole ownership, not a change (after a rebalance, and
    () when its partitions are revoked)."""
    lst, port = listener
    s = await _announced(lst, port, 0, 1)
    s.send(Assignment(SESSION_EVENTS, (1, 4)))
    await _until(lambda: 4 in lst._owners)
    assert lst.forward(0, b"d", b"v") is False
    assert lst.forward(1, b"d", b"v") is True and lst.forward(4, b"d", b"v") is True
    assert [f.partition for f in (await s.next_frame(), await s.next_frame())] == [1, 4]
    s.send(Assignment(SESSION_EVENTS, ()))
    await _until(lambda: not lst._owners)
    assert lst.forward(1, b"d", b"v") is False
    await s.close()


async def test_after_the_schedulers_connection_closes_forward_returns_false(listener):
    lst, port = listener
    s = await _announced(lst, port, 3)
    assert lst.forward(3, b"d", b"v") is True
    await s.close()
    await _until(lambda: 3 not in lst._owners)
    before = _counts()
    assert lst.forward(3, b"d", b"v") is False
    assert _delta(before) == {"no_owner": 1}


async def test_replies_still_resolve_on_the_same_connection(listener):
    lst, port = listener
    s = await _announced(lst, port, 0)
    fut = lst.expect("req-9")
    s.send(Reply("req-9", 200, b"<Envelope/>", end_session=False, outcome="ok"))
    reply = await asyncio.wait_for(fut, 2)
    assert reply == Reply("req-9", 200, b"<Envelope/>", end_session=False, outcome="ok")
    # a reply does not disturb the ownership announced before it
    assert lst.forward(0, b"d", b"v") is True
    assert await s.next_frame() == EventCopy(0, b"d", b"v")
    # a reply for a request nobody waits for is dropped, the connection stays up
    s.send(Reply("nobody", 200, b""))
    fut2 = lst.expect("req-10")
    s.send(Reply("req-10", 204, b"", end_session=True))
    assert (await asyncio.wait_for(fut2, 2)).end_session is True
    await s.close()


async def test_version_1_replies_still_resolve(listener):
    """A scheduler not yet upgraded writes bare JSON replies and never announces anything."""
    lst, port = listener
    r, w = await asyncio.open_connection("127.0.0.1", port)
    fut = lst.expect("old-1")
    payload = orjson.dumps({"rid": "old-1", "status": 200, "body": "<E/>", "end": False, "outcome": "ok"})
    w.write(len(payload).to_bytes(4, "big") + payload)
    assert (await asyncio.wait_for(fut, 2)) == Reply("old-1", 200, b"<E/>")
    assert lst.forward(0, b"d", b"v") is False
    w.close()


async def test_a_later_assignment_from_another_connection_takes_over(listener):
    lst, port = listener
    old = await _announced(lst, port, 0, 1)
    new = await Scheduler.connect(port)
    new.send(Assignment(SESSION_EVENTS, (1,)))
    await _until(lambda: lst._owners.get(1) is not None and lst._owners[1] is not lst._owners[0])
    assert lst.forward(1, b"d1", b"v1") is True
    assert lst.forward(0, b"d0", b"v0") is True  # partition 0 stays with the old one
    assert await new.next_frame() == EventCopy(1, b"d1", b"v1")
    assert await old.next_frame() == EventCopy(0, b"d0", b"v0")
    assert await old.nothing_within() and await new.nothing_within()
    # the old connection going away takes only what it still owns
    await old.close()
    await _until(lambda: 0 not in lst._owners)
    assert lst.forward(0, b"d0", b"v0") is False
    assert lst.forward(1, b"d1", b"v2") is True
    assert await new.next_frame() == EventCopy(1, b"d1", b"v2")
    await new.close()


async def test_a_backed_up_connection_gets_no_copies(listener, monkeypatch):
    lst, port = listener
    s = await _announced(lst, port, 0)
    monkeypatch.setattr(affinity, "_COPY_BACKLOG_BYTES", -1)  # any write buffer is too much
    before = _counts()
    assert lst.forward(0, b"d", b"v") is False
    assert _delta(before) == {"backlog": 1}
    assert await s.nothing_within()
    await s.close()


async def test_a_scheduler_sending_an_event_copy_is_disconnected(listener):
    lst, port = listener
    s = await _announced(lst, port, 0)
    s.send(EventCopy(0, b"d", b"v"))  # only gateways send copies
    with pytest.raises(EOFError):
        await s.next_frame()
    await _until(lambda: 0 not in lst._owners)
    assert lst.forward(0, b"d", b"v") is False
    await s.close()


async def test_a_malformed_frame_drops_the_connection_and_its_ownership(listener):
    lst, port = listener
    s = await _announced(lst, port, 5)
    s.writer.write((3).to_bytes(4, "big") + b"Z{}")  # unknown kind
    with pytest.raises(EOFError):
        await s.next_frame()
    await _until(lambda: 5 not in lst._owners)
    assert lst.forward(5, b"d", b"v") is False
    await s.close()
