"""Scheduler end of the session-affinity channel: persistent connections to gateways.

One TCP connection per gateway address (``SessionEvent.reply_to``), opened on first use and
reused; a broken one is reopened once per reply. A reply that cannot be written is dropped:
the gateway's timeout ends that CPE session cleanly and its tasks stay pending.

Each connection also carries the other way the gateway's early copies of the events of the
partitions this scheduler owns: it announces them on connecting and after every rebalance, and
hands each copy to ``on_copy`` (the consumer decides whether to take it).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Callable

from acs_contracts.affinity import Assignment, EventCopy, FrameDecoder, Reply
from acs_contracts.kafka_topics import SESSION_EVENTS

log = logging.getLogger(__name__)


class ReplySender:
    def __init__(self, connect_timeout_s: float = 2.0, on_copy: Callable[[EventCopy], object] | None = None) -> None:
        self._conns: dict[str, asyncio.StreamWriter] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._readers: set[asyncio.Task] = set()
        self._timeout = connect_timeout_s
        self._assignment = Assignment(SESSION_EVENTS, ())
        self.on_copy = on_copy

    def announce(self, partitions: list[int]) -> None:
        """The partitions this scheduler owns now, told to every gateway connected (and to each
        one connected later)."""
        self._assignment = Assignment(SESSION_EVENTS, tuple(partitions))
        frame = self._assignment.encode_frame()
        for w in self._conns.values():
            if not w.is_closing():
                w.write(frame)

    async def _writer(self, addr: str) -> asyncio.StreamWriter:
        w = self._conns.get(addr)
        if w is not None and not w.is_closing():
            return w
        lock = self._locks.setdefault(addr, asyncio.Lock())
        async with lock:
            w = self._conns.get(addr)
            if w is not None and not w.is_closing():
                return w
            host, _, port = addr.rpartition(":")
            r, w = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), self._timeout)
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            w.write(self._assignment.encode_frame())
            self._conns[addr] = w
            t = asyncio.create_task(self._read(addr, r, w), name=f"affinity-{addr}")
            self._readers.add(t)
            t.add_done_callback(self._readers.discard)
            return w

    async def _read(self, addr: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The gateway's side of the connection: event copies, handed over as they come."""
        decoder = FrameDecoder()
        try:
            while data := await reader.read(1 << 18):
                for frame in decoder.feed(data):
                    if isinstance(frame, EventCopy):
                        if self.on_copy is not None:
                            try:
                                self.on_copy(frame)
                            except Exception:  # one copy's trouble must not close the channel
                                log.exception("event copy for partition %d not taken", frame.partition)
                    else:
                        raise ValueError(f"unexpected {type(frame).__name__} from a gateway")
        except (ConnectionError, ValueError) as e:
            log.warning("affinity connection to %s dropped: %s", addr, e)
        finally:
            writer.close()
            if self._conns.get(addr) is writer:
                del self._conns[addr]

    async def send(self, addr: str, reply: Reply) -> bool:
        frame = reply.encode_frame()
        for attempt in (1, 2):
            try:
                w = await self._writer(addr)
                w.write(frame)
                if w.transport.get_write_buffer_size() > 1 << 20:
                    await w.drain()
                return True
            except (OSError, asyncio.TimeoutError, ConnectionError) as e:
                self._conns.pop(addr, None)
                if attempt == 2:
                    log.warning("reply to gateway %s dropped: %s", addr, e)
        return False

    async def close(self) -> None:
        for w in self._conns.values():
            w.close()
        self._conns.clear()
        for t in list(self._readers):
            t.cancel()
