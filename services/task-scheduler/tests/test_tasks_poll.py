"""The scheduler's index of devices with pending tasks, kept by polling (task_scheduler.store.Store)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from acs_contracts.mongo_collections import TASKS
from task_scheduler.store import Store


class _Cursor:
    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs

    async def to_list(self, _n=None) -> list[dict]:
        return self.docs


class FakeTasks:
    """Just the two queries the index makes, answered from a list of task documents."""

    def __init__(self) -> None:
        self.docs: list[dict] = []
        self.queries: list[dict] = []
        self.fail = False

    async def distinct(self, field: str, flt: dict) -> list:
        if self.fail:
            raise ConnectionError("database restarting")
        return sorted({d[field] for d in self.docs if d["status"] == flt["status"]})

    def find(self, flt: dict, _projection=None) -> _Cursor:
        if self.fail:
            raise ConnectionError("database restarting")
        self.queries.append(flt)
        since = flt["timestamp"]["$gte"]
        return _Cursor([d for d in self.docs if d["status"] == "pending" and d["timestamp"] >= since])


async def _until(cond, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_new_tasks_are_found_by_polling_and_old_ones_by_the_refresh():
    tasks = FakeTasks()
    now = datetime.now(UTC)
    tasks.docs.append({"device": "A", "status": "pending", "timestamp": now - timedelta(days=1)})
    store = Store({TASKS: tasks}, writer=None, tasks_poll_s=0.02, tasks_refresh_s=0.3)  # type: ignore[arg-type]
    await store.start()
    try:
        assert store.may_have_tasks("A") and not store.may_have_tasks("B")  # loaded at start
        tasks.docs.append({"device": "B", "status": "pending", "timestamp": datetime.now(UTC)})
        await _until(lambda: store.may_have_tasks("B"))
        assert store.tasks_poll_ok
        # the window follows the newest task seen, one second back
        await _until(lambda: tasks.queries[-1]["timestamp"]["$gte"] >= tasks.docs[-1]["timestamp"] - timedelta(seconds=1))

        # set pending again long after it was queued: only the full refresh sees it
        tasks.docs.append({"device": "C", "status": "pending", "timestamp": now - timedelta(hours=1)})
        await asyncio.sleep(0.1)
        assert not store.may_have_tasks("C")
        await _until(lambda: store.may_have_tasks("C"))

        tasks.fail = True  # the database goes away: the set is kept
        await _until(lambda: not store.tasks_poll_ok)
        assert store.may_have_tasks("A") and store.may_have_tasks("B")
        tasks.fail = False
        await _until(lambda: store.tasks_poll_ok)
    finally:
        await store.stop()
