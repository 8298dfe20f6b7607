"""The scheduler's end of the affinity channel: with ACS_AFFINITY_SECRET each connection opens
with a Hello the gateway can verify, once per connection; without it, replies only."""

from __future__ import annotations

import asyncio

from acs_contracts.affinity import FrameDecoder, Hello, HelloVerifier, Reply
from task_scheduler.replies import ReplySender


async def _frames_received(secret: bytes | None, replies: int) -> list:
    got: list = []
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder()
        while data := await reader.read(65536):
            got.extend(decoder.feed(data))
            if sum(isinstance(f, Reply) for f in got) == replies:
                done.set()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sender = ReplySender(secret=secret)
    try:
        for i in range(replies):
            assert await sender.send(f"127.0.0.1:{port}", Reply(f"r{i}", 200, b"x"))
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await sender.close()
        server.close()
    return got


async def test_with_a_secret_the_connection_opens_with_a_valid_hello():
    secret = b"k" * 32
    got = await _frames_received(secret, 3)
    assert isinstance(got[0], Hello) and HelloVerifier(secret).verify(got[0]) is None
    assert [type(f) for f in got[1:]] == [Reply, Reply, Reply]  # one Hello per connection


async def test_without_a_secret_only_replies_are_sent():
    assert [type(f) for f in await _frames_received(None, 2)] == [Reply, Reply]
