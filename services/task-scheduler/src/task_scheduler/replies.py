"""Scheduler end of the session-affinity channel: persistent connections to gateways.

One TCP connection per gateway address (``SessionEvent.reply_to``), opened on first use and
reused; a broken one is reopened once per reply. A reply that cannot be written is dropped:
the gateway's timeout ends that CPE session cleanly and its tasks stay pending. With the
channel's secret, each connection opens with a signed Hello (acs_contracts.affinity).
"""

from __future__ import annotations

import asyncio
import logging
import socket

from acs_contracts.affinity import Hello, Reply

log = logging.getLogger(__name__)


class ReplySender:
    def __init__(self, connect_timeout_s: float = 2.0, secret: bytes | None = None) -> None:
        self._secret = secret
        self._conns: dict[str, asyncio.StreamWriter] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._readers: set[asyncio.Task] = set()
        self._timeout = connect_timeout_s

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
            r, new = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), self._timeout)
            sock = new.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._secret:
                new.write(Hello.sign(self._secret).encode_frame())
            self._conns[addr] = new
            t = asyncio.create_task(self._read(addr, r, new), name=f"affinity-{addr}")
            self._readers.add(t)
            t.add_done_callback(self._readers.discard)
            return new

    async def _read(self, addr: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Notices the gateway going away (it sends nothing), so the next reply reconnects."""
        try:
            while await reader.read(1 << 16):
                pass
        except ConnectionError as e:
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
            except (TimeoutError, OSError, ConnectionError) as e:
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
