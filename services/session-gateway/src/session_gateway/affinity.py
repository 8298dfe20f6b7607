"""Gateway end of the session-affinity channel: a TCP listener that resolves waiting requests.

A request that published a session event parks a Future under its request id; scheduler
connections deliver ``Reply`` frames (acs_contracts.affinity) that complete it. Replies for
requests no longer waiting (timed out, CPE gone) are dropped. With a secret, a connection whose
first frame is not a valid Hello is closed before any of its replies is read.
"""

from __future__ import annotations

import asyncio
import logging

from acs_contracts.affinity import FrameDecoder, Hello, HelloVerifier, Reply

from . import metrics

log = logging.getLogger(__name__)


class ReplyListener:
    def __init__(self, secret: bytes | None = None) -> None:
        self._verifier = HelloVerifier(secret) if secret else None
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._hints: dict[str, asyncio.Future[Reply]] = {}
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

    def expect_hint(self, session_id: str, ttl_s: float) -> asyncio.Future[Reply]:
        """Park the scheduler's answer to an Inform event (request id = session id) for the
        session's next POST, should it reach this gateway; forgotten after ``ttl_s``."""
        fut = self.expect(session_id)
        self._hints[session_id] = fut
        asyncio.get_running_loop().call_later(ttl_s, self._expire_hint, session_id, fut)
        return fut

    def take_hint(self, session_id: str) -> asyncio.Future[Reply] | None:
        """The parked answer for this session (done or still coming), now the caller's."""
        return self._hints.pop(session_id, None)

    def drop_hint(self, session_id: str) -> None:
        """Forget the session's parked answer, whether it came or not."""
        self._hints.pop(session_id, None)
        self.forget(session_id)

    def _expire_hint(self, session_id: str, fut: asyncio.Future[Reply]) -> None:
        if self._hints.get(session_id) is fut:
            del self._hints[session_id]
        if self._waiting.get(session_id) is fut:
            del self._waiting[session_id]
        if not fut.done():
            fut.cancel()

    def deliver(self, reply: Reply) -> bool:
        fut = self._waiting.pop(reply.request_id, None)
        if fut is None or fut.done():
            return False
        fut.set_result(reply)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder()
        trusted = self._verifier is None
        try:
            while data := await reader.read(65536):
                for frame in decoder.feed(data):
                    if isinstance(frame, Hello):
                        why = self._verifier.verify(frame) if self._verifier is not None and not trusted else None
                        if why is not None:
                            raise PermissionError(why)
                        trusted = True
                    elif trusted:
                        self.deliver(frame)
                    else:
                        raise PermissionError("a reply before the Hello")
        except PermissionError as e:
            metrics.REJECTED.labels("affinity_auth").inc()
            log.warning("reply channel connection from %s refused: %s", writer.get_extra_info("peername"), e)
        except (ConnectionError, ValueError) as e:
            log.warning("reply channel connection dropped: %s", e)
        finally:
            writer.close()
