"""The reply listener with ACS_AFFINITY_SECRET: only a scheduler that opens its connection with a
valid Hello can complete a CPE's waiting request; anything else is closed unread and counted."""

from __future__ import annotations

import asyncio
import socket

import pytest

from acs_contracts.affinity import Hello, Reply
from session_gateway import metrics
from session_gateway.affinity import ReplyListener

SECRET = b"s" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def listener():
    lst = ReplyListener(SECRET)
    port = _free_port()
    await lst.start("127.0.0.1", port)
    yield lst, f"127.0.0.1:{port}"
    await lst.stop()


def _refused() -> float:
    return metrics.REJECTED.labels("affinity_auth")._value.get()


async def _closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(1), 5) == b""


async def _connect(addr: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = addr.split(":")
    return await asyncio.open_connection(host, int(port))


async def test_a_scheduler_with_the_secret_delivers(listener):
    lst, addr = listener
    waiting = lst.expect("req-ok")
    _reader, writer = await _connect(addr)
    writer.write(Hello.sign(SECRET).encode_frame() + Reply("req-ok", 200, b"<Envelope/>").encode_frame())
    await writer.drain()
    assert (await asyncio.wait_for(waiting, 5)).body == b"<Envelope/>"
    writer.close()


async def test_a_reply_without_hello_is_refused_and_never_delivered(listener):
    lst, addr = listener
    before = _refused()
    waiting = lst.expect("req-forged")
    reader, writer = await _connect(addr)
    writer.write(Reply("req-forged", 200, b"<Download/>").encode_frame())
    await writer.drain()
    assert await _closed(reader)
    assert not waiting.done() and _refused() == before + 1
    writer.close()


async def test_a_scheduler_without_the_secret_cannot_deliver(listener):
    lst, addr = listener
    waiting = lst.expect("req-wrong")
    reader, writer = await _connect(addr)
    writer.write(Hello.sign(b"wrong" * 8).encode_frame() + Reply("req-wrong", 200, b"<Download/>").encode_frame())
    await writer.drain()
    assert await _closed(reader)
    assert not waiting.done()
    writer.close()


async def test_a_replayed_hello_does_not_open_a_second_connection(listener):
    lst, addr = listener
    hello = Hello.sign(SECRET).encode_frame()
    waiting_1, waiting_2 = lst.expect("req-1"), lst.expect("req-2")
    _first_reader, first = await _connect(addr)
    first.write(hello + Reply("req-1", 200, b"a").encode_frame())
    await first.drain()
    await asyncio.wait_for(waiting_1, 5)
    second_reader, second = await _connect(addr)
    second.write(hello + Reply("req-2", 200, b"b").encode_frame())  # the same Hello, copied
    await second.drain()
    assert await _closed(second_reader)
    assert not waiting_2.done()
    first.close()
    second.close()
