"""The scheduler's MongoDB access, as the sessions see it: the device repository
(``device_repository``), the pending-task index (``pending_tasks``) and the task and fault
writes, all through one batch writer (``batch_writer``).

A facade: the modules above own the ideas; the sessions import ``Store`` (and ``BatchWriter``,
``DeviceWrites``, ``Unacknowledged``) from here.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bson import ObjectId
from pymongo import DeleteOne, UpdateOne

from acs_contracts import cpe_secrets
from acs_contracts.mongo_collections import DEVICES, FAULTS, TASKS

from . import metrics
from .batch_writer import BatchWriter, DocUpdate, Unacknowledged
from .device_record import BOOTSTRAP_DISCOVERED, BOOTSTRAP_PENDING, lookup
from .device_repository import DeviceRepository, DeviceWrites, InformDigests
from .pending_tasks import PendingTaskIndex

__all__ = ["BatchWriter", "DeviceWrites", "DocUpdate", "InformDigests", "Store", "Unacknowledged"]


class Store(DeviceRepository):
    """Reads and writes of one scheduler instance."""

    def __init__(self, db, writer: BatchWriter, digest_cache: int = 200_000, tasks_poll_s: float = 0.25,
                 tasks_refresh_s: float = 60.0) -> None:
        super().__init__(db, writer, digest_cache)
        self.index = PendingTaskIndex(db, tasks_poll_s, tasks_refresh_s)
        # Task writes of each device submitted and not yet acknowledged: its pending tasks are
        # read only once they are stored (a task just completed is not read back as pending).
        self._task_writes = Unacknowledged()

    async def start(self) -> None:
        self.secrets = cpe_secrets.from_env("task-scheduler")  # says so once when credentials stay plaintext
        await self.index.start()

    async def stop(self) -> None:
        await self.index.stop()

    @property
    def pending_devices(self) -> set[str]:
        return self.index.pending_devices

    @property
    def bootstraps(self) -> set[str]:
        return self.index.bootstraps

    @property
    def tasks_poll_ok(self) -> bool:
        return self.index.tasks_poll_ok

    def may_have_tasks(self, device_id: str) -> bool:
        return self.index.may_have_tasks(device_id)

    def may_have_bootstrap(self, device_id: str) -> bool:
        return self.index.may_have_bootstrap(device_id)

    def bootstrap_begun(self, device_id: str) -> None:
        self.index.bootstrap_begun(device_id)

    def look_up_bootstraps_soon(self) -> None:
        self.index.look_up_bootstraps_soon()

    async def pending_bootstrap(self, device_id: str) -> dict | None:
        """What the device document says of an unfinished BOOTSTRAP: ``{"since": <date>,
        "discovered": bool}``, or None (then the device is forgotten here)."""
        await self._settled(device_id)
        t0 = time.perf_counter()
        doc = await self.db[DEVICES].find_one({"_id": device_id}, {BOOTSTRAP_PENDING: 1, BOOTSTRAP_DISCOVERED: 1})
        metrics.MONGO_OP.labels("find_bootstrap").observe(time.perf_counter() - t0)
        since = lookup(doc, BOOTSTRAP_PENDING)
        if since is None:
            self.index.bootstraps.discard(device_id)
            return None
        return {"since": since, "discovered": bool(lookup(doc, BOOTSTRAP_DISCOVERED))}

    def bootstrap_done(self, device_id: str, held: DeviceWrites) -> list[asyncio.Future]:
        """The session finished the device's BOOTSTRAP: the mark goes with its held updates."""
        self.index.bootstraps.discard(device_id)
        return [held.unset([BOOTSTRAP_PENDING, BOOTSTRAP_DISCOVERED])]

    async def pending_tasks(self, device_id: str) -> list[dict]:
        """The device's pending tasks, in order, once this instance's writes of its tasks are
        stored: a session that follows at once the one that completed a task (events read in a
        backlog, a session taken over after a move) does not find that task still pending."""
        await self._task_writes.settled(device_id)
        t0 = time.perf_counter()
        cursor = self.db[TASKS].find({"device": device_id, "status": "pending", "transfer": {"$exists": False},
                                      "waitingFor": {"$exists": False}}).sort("timestamp", 1)
        tasks = await cursor.to_list(None)
        metrics.MONGO_OP.labels("find_tasks").observe(time.perf_counter() - t0)
        if tasks:  # (a task queued since the last poll, found by a connection request's session)
            self.index.pending_devices.add(device_id)
        else:
            self.index.pending_devices.discard(device_id)
        return tasks

    async def wake_tasks(self, device_id: str, event_code: str) -> int:
        """Tasks that waited for ``event_code`` (e.g. diagnostics results) become pending again, in phase 2."""
        t0 = time.perf_counter()
        r = await self.db[TASKS].update_many({"device": device_id, "status": "pending", "waitingFor": event_code},
                                             {"$unset": {"waitingFor": ""}, "$set": {"phase": 2}})
        metrics.MONGO_OP.labels("wake_tasks").observe(time.perf_counter() - t0)
        return r.modified_count

    async def task_by_id(self, task_id: str) -> dict | None:
        try:
            oid = ObjectId(task_id)
        except Exception:
            return None
        return await self.db[TASKS].find_one({"_id": oid})

    async def file_length(self, name: str) -> int:
        doc = await self.db["fs.files"].find_one({"filename": name}, {"length": 1}, sort=[("uploadDate", -1)])
        return int((doc or {}).get("length", 0))

    def update_task(self, task_id: Any, update: dict, device_id: str | None = None) -> asyncio.Future:
        """Update a task; with ``device_id``, the device's next ``pending_tasks`` waits for it."""
        fut = self.writer.submit(TASKS, UpdateOne({"_id": task_id}, update))
        if device_id is not None and not fut.done():
            self._task_writes.add(device_id, [fut])
        return fut

    def finish_task(self, task_id: Any, update: dict, device_id: str) -> asyncio.Future:
        """Write a task's final status, only over a pending one: when two schedulers both finish
        the same task (one rebuilt the session after a rebalance), the first outcome stays and a
        task an operator deleted meanwhile is not brought back."""
        fut = self.writer.submit(TASKS, UpdateOne({"_id": task_id, "status": "pending"}, update))
        if not fut.done():
            self._task_writes.add(device_id, [fut])
        return fut

    def upsert_fault(self, fault_id: str, doc: dict) -> asyncio.Future:
        return self.writer.submit(FAULTS, UpdateOne({"_id": fault_id}, {"$set": doc}, upsert=True))

    def clear_fault(self, fault_id: str) -> asyncio.Future:
        return self.writer.submit(FAULTS, DeleteOne({"_id": fault_id}))
