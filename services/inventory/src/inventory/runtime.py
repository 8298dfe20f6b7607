"""What the routes share: settings, MongoDB, metrics, task waiters, connection requester.

One Runtime per process, shared by the NBI app and the file server app, started once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from pymongo.errors import OperationFailure

from .audit import AuditTrail
from .config import Settings
from .connection_request import ConnectionRequester
from .cr_pacing import Pacer
from .db import Database
from .errors import ApiError, bad_request
from .metrics import Metrics
from .shapes import dumps
from .tasks import TaskWaiters, refresh_gauges

log = logging.getLogger(__name__)

INDEX_WAIT_S = 30.0  # how long start() waits for the indexes before it serves without them


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.db = Database(settings)
        self.waiters = TaskWaiters(self.db.tasks, self.metrics, settings.task_watch_linger_s)
        self.cr = ConnectionRequester(settings, self.metrics, self.db.credentials)
        self.audit = AuditTrail(self.db, settings.kafka, settings.session_events_partitions, settings.audit_retention_days)
        self._background: list[asyncio.Task[Any]] = []
        self._starts = 0

    async def start(self) -> None:
        """Start background work once, however many apps share this runtime."""
        self._starts += 1
        if self._starts > 1:
            return
        if self.settings.xmpp_jid:
            from .xmpp_client import start_for

            self.cr.xmpp = start_for(self.settings, self.metrics)
        indexes = asyncio.create_task(self.db.ensure_indexes(), name="ensure-indexes")
        # Normally MongoDB answers: wait for the collections and indexes, so that no write of ours
        # races the creation of its collection (SecantusDB deadlocks when createIndexes creates
        # a collection that an insert is creating). When it does not answer, serve anyway
        # (/readyz says not ready) and let the indexes come when it does.
        await asyncio.wait({indexes}, timeout=INDEX_WAIT_S)
        Pacer.for_runtime(self).start()  # every replica sends its share of queued connection requests
        self._background = [
            indexes,
            asyncio.create_task(self.waiters.run(), name="tasks-change-stream"),
            asyncio.create_task(self._refresh_loop(), name="metrics-refresh"),
            asyncio.create_task(self.audit.run(), name="audit-publisher"),
        ]

    async def stop(self) -> None:
        self._starts -= 1
        if self._starts > 0:
            return
        for t in self._background:
            t.cancel()
        for t in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        pacer = getattr(self, "_cr_pacer", None)
        if pacer is not None:
            await pacer.stop()
        if self.cr.xmpp is not None:
            await self.cr.xmpp.stop()
        await self.cr.close()
        await self.audit.close()
        await self.db.close()

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await refresh_gauges(self.db.tasks, self.metrics)
            except Exception as e:  # noqa: BLE001 - metrics must not take the service down
                log.debug("refreshing task gauges failed: %s", e)
            await asyncio.sleep(self.settings.metrics_refresh_s)

    async def ready(self) -> bool:
        return await self.db.ping()

    async def read_body(self, request: Request) -> bytes:
        """The request body, refused with 413 past NBI_MAX_BODY_BYTES."""
        limit = self.settings.max_body_bytes
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "request body too large", {"limit": limit})
            chunks.append(chunk)
        return b"".join(chunks)

    async def file_meta(self, name: str) -> Mapping[str, Any] | None:
        async with self.metrics.mongo("find_file"):
            return await self.db.fs_files.find_one({"filename": name}, sort=[("uploadDate", -1)])

    async def stream(
        self, coll: Any, query: dict[str, Any], proj: dict[str, int] | None, sort: list[tuple[str, int]],
        skip: int, limit: int, op: str, transform: Callable[[Any], Any] | None = None,
        enrich: Callable[[list[Any]], Awaitable[None]] | None = None,
    ) -> Response:
        """A JSON array of the matching documents, streamed so a large result is never held whole.

        The first document is fetched before answering so a query MongoDB refuses gives a 400.
        ``enrich`` completes documents in place, a chunk of up to 500 at a time.
        """
        cursor = coll.find(query, proj, skip=skip, limit=limit, sort=sort or None, batch_size=500)
        try:
            async with self.metrics.mongo(op):
                first = await anext(cursor, None)
        except OperationFailure as e:
            await cursor.close()
            raise bad_request("query refused by the database", e.details.get("errmsg") if e.details else str(e)) from None
        if first is None:
            return Response(b"[]", media_type="application/json")
        fn = transform or (lambda d: d)

        async def chunks() -> AsyncIterator[list[Any]]:
            chunk = [first]
            async for doc in cursor:
                chunk.append(doc)
                if len(chunk) >= 500:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

        async def body() -> AsyncIterator[bytes]:
            sep = b"["
            try:
                async for chunk in chunks():
                    if enrich is not None:
                        await enrich(chunk)
                    for doc in chunk:
                        yield sep + dumps(fn(doc))
                        sep = b","
                yield b"]"
            finally:
                await cursor.close()

        return StreamingResponse(body(), media_type="application/json")
