"""TaskWaiters: a change stream on tasks only while someone waits, and no change missed."""

from __future__ import annotations

import asyncio
import time

import pytest
from bson import ObjectId

from acs_devstack.polling import eventually
from inventory.tasks import TaskWaiters

pytestmark = pytest.mark.asyncio(loop_scope="session")


class _Metrics:
    def mongo(self, _op):
        class _Nop:
            async def __aenter__(self):
                return None

            async def __aexit__(self, *a):
                return False

        return _Nop()


async def test_waiter_sees_a_change_made_before_the_stream_opened_and_the_stream_closes_after(runtime):
    tasks = runtime.db.tasks
    waiters = TaskWaiters(tasks, _Metrics(), linger_s=0.3)
    runner = asyncio.create_task(waiters.run())
    try:
        assert not waiters.watching.is_set()  # nobody waits: no change stream
        tid = ObjectId()
        await tasks.insert_one({"_id": tid, "device": "X", "name": "reboot", "status": "pending"})
        ev = waiters.register(tid)
        await tasks.update_one({"_id": tid}, {"$set": {"status": "done"}})  # possibly before the stream is up
        t0 = time.monotonic()
        doc = await waiters.wait(tid, ev, 5.0)
        assert doc is not None and doc["status"] == "done" and time.monotonic() - t0 < 3.0
        waiters.unregister(tid, ev)
        await eventually(lambda: not waiters.watching.is_set(), what="the stream closed after the linger")
        tid2 = ObjectId()
        await tasks.insert_one({"_id": tid2, "device": "X", "name": "reboot", "status": "pending"})
        ev2 = waiters.register(tid2)
        await waiters.watching.wait()

        async def finish() -> None:
            await asyncio.sleep(0.2)  # the change comes while the waiter is waiting on the stream
            await tasks.update_one({"_id": tid2}, {"$set": {"status": "fault"}})

        finisher = asyncio.create_task(finish())
        doc = await waiters.wait(tid2, ev2, 5.0)
        await finisher
        assert doc is not None and doc["status"] == "fault"
        waiters.unregister(tid2, ev2)
    finally:
        runner.cancel()
