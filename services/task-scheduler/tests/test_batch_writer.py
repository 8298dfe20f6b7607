"""BatchWriter._bulk against a real SecantusDB: what each future of a bulk write learns. A server
that is away is waited out (the writes are kept and sent again); an op the server rejects fails
alone, the ops before it are stored and the ops after it are written again; whether an upsert
inserted reaches its future."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pymongo import AsyncMongoClient, UpdateOne

from acs_devstack.servers import Server, mongo_uri
from task_scheduler.batch_writer import BatchWriter


def _items(ids: list[str], bad: int | None = None) -> list:
    loop = asyncio.get_running_loop()
    return [(UpdateOne({"_id": d}, {"$set": {"x": i}, **({"$unset": {"x": ""}} if i == bad else {})}, upsert=True),
             loop.create_future()) for i, d in enumerate(ids)]


def _bulks(commands) -> list[tuple[int, bool]]:
    """(ops, ordered) of each bulk update the server received."""
    return [(len(c["updates"]), c.get("ordered", True)) for name, c in commands.sent if name == "update"]


async def _until(cond, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "not within the deadline"
        await asyncio.sleep(0.02)


async def test_a_server_away_is_waited_out_and_nothing_is_lost(storage_server: Server, db, commands, caplog):
    await db.devices.insert_many([{"_id": "A0"}, {"_id": "A2"}])
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri(storage_server.port), serverSelectionTimeoutMS=300,
                                                event_listeners=[commands])
    try:
        writer = BatchWriter(client[db.name], 500, 0.001)
        items = _items(["A0", "A1", "A2"])
        commands.clear()
        storage_server.stop()  # away: each try fails to find a server
        with caplog.at_level(logging.WARNING, logger="task_scheduler.mongo_retry"):
            bulk = asyncio.create_task(writer._bulk("devices", items))
            try:
                await _until(lambda: "bulk write to devices failed (attempt 1)" in caplog.text)
                assert not any(f.done() for _, f in items)  # kept, not failed
            finally:
                storage_server.start()  # back, its data intact
            await asyncio.wait_for(bulk, 120)
        assert [f.result() for _, f in items] == [False, True, False]  # the second one inserted
        assert _bulks(commands) == [(3, True)]  # sent whole once the server answered
        assert await db.devices.count_documents({"_id": {"$in": ["A0", "A1", "A2"]}, "x": {"$exists": True}}) == 3
    finally:
        await client.close()


async def test_ordered_a_rejected_op_fails_alone_and_the_rest_is_written_again(db, commands):
    items = _items(["O0", "O1", "O2"], bad=1)
    await BatchWriter(db, 500, 0.001)._bulk("devices", items, ordered=True)
    assert _bulks(commands) == [(3, True), (1, True)]  # the second call carries only the op after the bad one
    assert items[0][1].result() is None
    with pytest.raises(RuntimeError, match="conflict"):
        items[1][1].result()
    assert items[2][1].result() is True
    assert {d["_id"] for d in await db.devices.find({"_id": {"$in": ["O0", "O1", "O2"]}}).to_list(None)} == {"O0", "O2"}


async def test_unordered_every_op_was_tried_once(db, commands):
    await db.devices.insert_one({"_id": "U0"})
    commands.clear()
    items = _items(["U0", "U1", "U2"], bad=1)
    await BatchWriter(db, 500, 0.001)._bulk("devices", items, ordered=False)
    assert _bulks(commands) == [(3, False)]
    assert items[0][1].result() is False and items[2][1].result() is True
    with pytest.raises(RuntimeError, match="conflict"):
        items[1][1].result()
