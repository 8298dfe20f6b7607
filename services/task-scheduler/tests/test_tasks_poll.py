"""The scheduler's index of devices with pending tasks, kept by polling (task_scheduler.pending_tasks,
through task_scheduler.store.Store), against a real SecantusDB."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pymongo import AsyncMongoClient

from acs_contracts.mongo_collections import TASKS
from acs_devstack.servers import Server, mongo_uri
from task_scheduler.store import Store


async def _until(cond, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "not within the deadline"
        await asyncio.sleep(0.01)


async def test_new_tasks_are_found_by_polling_and_old_ones_by_the_refresh(storage_server: Server, db, commands):
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri(storage_server.port), serverSelectionTimeoutMS=300,
                                                event_listeners=[commands])
    tasks = db[TASKS]
    now = datetime.now(UTC)
    await tasks.insert_one({"device": "A", "status": "pending", "timestamp": now - timedelta(days=1)})
    store = Store(client[db.name], writer=None, tasks_poll_s=0.02, tasks_refresh_s=3600)  # type: ignore[arg-type]
    await store.start()
    try:
        assert store.may_have_tasks("A") and not store.may_have_tasks("B")  # loaded at start
        b_ts = datetime.now(UTC).replace(microsecond=0)
        await tasks.insert_one({"device": "B", "status": "pending", "timestamp": b_ts})
        await _until(lambda: store.may_have_tasks("B"))
        assert store.tasks_poll_ok

        def polled_since() -> list[datetime]:
            return [c["filter"]["timestamp"]["$gte"] for name, c in commands.sent
                    if name == "find" and c.get("find") == TASKS and "timestamp" in c.get("filter", {})]

        # the window follows the newest task seen, one second back
        await _until(lambda: any(s.replace(tzinfo=UTC) >= b_ts - timedelta(seconds=1) for s in polled_since()))

        # set pending again long after it was queued: the polls do not see it, only the full refresh
        await tasks.insert_one({"device": "C", "status": "pending", "timestamp": now - timedelta(hours=1)})
        polls = len(polled_since())
        await _until(lambda: len(polled_since()) >= polls + 5)
        assert not store.may_have_tasks("C")
        await store.index._refresh()  # (every tasks_refresh_s; test_storage_mongo runs it on its timer)
        assert store.may_have_tasks("C")

        storage_server.stop()  # the database goes away: the set is kept
        try:
            await _until(lambda: not store.tasks_poll_ok)
            assert store.may_have_tasks("A") and store.may_have_tasks("B")
        finally:
            storage_server.start()
        await _until(lambda: store.tasks_poll_ok)
    finally:
        await store.stop()
        await client.close()
