"""The pending-task index: which devices have a pending task, so a periodic session of a device
with nothing queued reads nothing; and which devices may have a BOOTSTRAP not finished.

Kept by polling, not by a change stream, because ``benchmarks/storage.py`` (``change_stream``)
shows polling pays on SecantusDB: one open change stream on the tasks collection adds 2.5 ms of
the database's CPU to every first-contact session (it decodes every oplog entry for every open
stream, whole data models included), while a poll costs it 0.375 ms, four a second by default
(1.5 ms/s): the stream costs more from one session every 0.6 s on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from acs_contracts.mongo_collections import DEVICES, TASKS

from . import metrics
from .device_record import BOOTSTRAP_PENDING

log = logging.getLogger(__name__)
_TASKS_OVERLAP = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PendingTaskIndex:
    """Devices with pending tasks (``pending_devices``) and devices whose BOOTSTRAP may not be
    finished (``bootstraps``), kept current by polling the database."""

    def __init__(self, db, tasks_poll_s: float = 0.25, tasks_refresh_s: float = 60.0) -> None:
        self.db = db
        self.pending_devices: set[str] = set()
        self._poll_s = tasks_poll_s
        self._refresh_s = tasks_refresh_s
        self._poll_task: asyncio.Task | None = None
        self.tasks_poll_ok = False  # the last look at the tasks collection worked
        # Devices whose BOOTSTRAP may not be finished (``BOOTSTRAP_PENDING`` in their document):
        # those this instance began, and those found in the database at start, every
        # ``tasks_refresh_s`` and when partitions move. A session checks the document before
        # finishing a bootstrap, so an entry left behind costs one small read at most.
        self.bootstraps: set[str] = set()
        self._bootstraps_look: asyncio.Task | None = None

    async def start(self) -> None:
        await self._refresh()
        await self._look_up_bootstraps()
        self._poll_task = asyncio.create_task(self._poll_tasks(), name="tasks-poll")

    async def stop(self) -> None:
        for task in (self._poll_task, self._bootstraps_look):
            if task:
                task.cancel()

    async def _refresh(self) -> datetime:
        """Every device with a pending task; returns when the look began."""
        t0 = time.perf_counter()
        began = datetime.now(UTC)
        self.pending_devices |= set(await self.db[TASKS].distinct("device", {"status": "pending"}))
        metrics.MONGO_OP.labels("distinct_pending").observe(time.perf_counter() - t0)
        return began

    async def _poll_tasks(self) -> None:
        """Keep ``pending_devices`` current by looking for newly queued tasks every
        ``tasks_poll_s`` (an indexed range query on status and timestamp that finds nothing
        most of the time), and at every device with a pending task every ``tasks_refresh_s``
        (tasks set pending again, or queued out of timestamp order).

        A change stream would do this too, at a higher cost (see the module docstring).
        Connection requests and BOOTSTRAP sessions always look tasks up, so a task hurried by a
        connection request never waits for the index.
        """
        since = datetime.now(UTC) - _TASKS_OVERLAP
        last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                if time.monotonic() - last_refresh >= self._refresh_s:
                    since = min(since, await self._refresh() - _TASKS_OVERLAP)
                    await self._look_up_bootstraps()
                    last_refresh = time.monotonic()
                t0 = time.perf_counter()
                found = await self.db[TASKS].find({"status": "pending", "timestamp": {"$gte": since}},
                                                  {"device": 1, "timestamp": 1}).to_list(None)
                metrics.MONGO_OP.labels("find_new_tasks").observe(time.perf_counter() - t0)
                newest = since + _TASKS_OVERLAP
                for t in found:
                    if t.get("device"):
                        self.pending_devices.add(t["device"])
                    ts = t.get("timestamp")
                    if isinstance(ts, datetime):
                        newest = max(newest, ts if ts.tzinfo else ts.replace(tzinfo=UTC))
                since = newest - _TASKS_OVERLAP  # inserts landing a little out of timestamp order are found too
                self.tasks_poll_ok = True
            except asyncio.CancelledError:
                raise
            except Exception as e:  # database restarting or overloaded: keep the set we have
                if self.tasks_poll_ok:
                    log.warning("looking for new tasks failed: %s", e)
                self.tasks_poll_ok = False

    def may_have_tasks(self, device_id: str) -> bool:
        return device_id in self.pending_devices

    async def _look_up_bootstraps(self) -> None:
        """Add the devices whose document says a BOOTSTRAP is pending to ``bootstraps``: an
        indexed query that finds only those (a sparse index, in
        ``acs_contracts.mongo_collections.INDEXES``: other documents have no entry)."""
        try:
            t0 = time.perf_counter()
            found = await self.db[DEVICES].find({BOOTSTRAP_PENDING: {"$gte": _EPOCH}}, {"_id": 1}).to_list(None)
            self.bootstraps.update(d["_id"] for d in found)
            metrics.MONGO_OP.labels("find_bootstraps").observe(time.perf_counter() - t0)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the next look (tasks_refresh_s) tries again
            log.warning("looking for unfinished bootstraps failed: %s", e)

    def look_up_bootstraps_soon(self) -> None:
        """Partitions move: devices another instance began a bootstrap of may be this one's now."""
        if self.db is not None and (self._bootstraps_look is None or self._bootstraps_look.done()):
            self._bootstraps_look = asyncio.ensure_future(self._look_up_bootstraps())

    def may_have_bootstrap(self, device_id: str) -> bool:
        return device_id in self.bootstraps

    def bootstrap_begun(self, device_id: str) -> None:
        self.bootstraps.add(device_id)
