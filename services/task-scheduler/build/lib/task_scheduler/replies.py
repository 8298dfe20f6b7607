"""Scheduler end of the session-affinity channel: persistent connections to gateways.

One TCP connection per gateway address (``SessionEvent.reply_to``), opened on first use and
reused; a broken one is reopened once per reply. A reply that cannot be written is dropped:
the gateway's timeout ends that CPE session cleanly and its tasks stay pending.
"""

from __future__ import annotations

import asyncio
import logging

from acs_contracts.affinity import Reply

log = logging.getLogger(__name__)


class ReplySender:
    def __init__(self, connect_timeout_s: float = 2.0) -> None:
        self._conns: dict[str, asyncio.StreamWriter] = {}
        self._locks: dict[str, asyncio.Lock] = {}
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
            _, w = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), self._timeout)
            sock = w.get_extra_info("socket")
            if sock is not None:
                import socket

                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conns[addr] = w
            return w

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
