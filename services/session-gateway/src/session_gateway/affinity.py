"""Gateway end of the session-affinity channel: a TCP listener that resolves waiting requests.

A request that published a session event parks a Future under its request id; scheduler
connections deliver ``Reply`` frames (acs_contracts.affinity) that complete it. Replies for
requests no longer waiting (timed out, CPE gone) are dropped.
"""

from __future__ import annotations

import asyncio
import logging

from acs_contracts.affinity import FrameDecoder, Reply

log = logging.getLogger(__name__)


class ReplyListener:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._server: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for fut in self._waiting.values():
            if not fut.done():
                fut.cancel()

    def expect(self, request_id: str) -> asyncio.Future[Reply]:
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = fut
        return fut

    def forget(self, request_id: str) -> None:
        self._waiting.pop(request_id, None)

    def deliver(self, reply: Reply) -> bool:
        fut = self._waiting.pop(reply.request_id, None)
        if fut is None or fut.done():
            return False
        fut.set_result(reply)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder()
        try:
            while data := await reader.read(65536):
                for reply in decoder.feed(data):
                    self.deliver(reply)
        except (ConnectionError, ValueError) as e:
            log.warning("reply channel connection dropped: %s", e)
        finally:
            writer.close()
