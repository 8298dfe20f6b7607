"""BatchWriter._bulk: what each future of a bulk write learns. A server that is away is waited out
(the writes are kept and retried); an op the server rejects fails alone, the ops before it are
stored and the ops after it are written again; whether an upsert inserted reaches its future."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from pymongo import UpdateOne
from pymongo.errors import AutoReconnect, BulkWriteError

from task_scheduler.store import BatchWriter


class ScriptedCollection:
    """Answers bulk_write calls in turn from ``answers`` (an exception to raise, or the result)."""

    def __init__(self, answers: list) -> None:
        self.answers = answers
        self.calls: list[tuple[list, bool]] = []

    async def bulk_write(self, ops: list, ordered: bool = True):
        self.calls.append((list(ops), ordered))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _items(n: int) -> list:
    loop = asyncio.get_running_loop()
    return [(UpdateOne({"_id": i}, {"$set": {"x": i}}, upsert=True), loop.create_future()) for i in range(n)]


def _writer(coll: ScriptedCollection) -> BatchWriter:
    return BatchWriter({"devices": coll}, 500, 0.001)


def _rejected(index: int, upserted: list | None = None) -> BulkWriteError:
    return BulkWriteError({"writeErrors": [{"index": index, "code": 121, "errmsg": "Document failed validation"}],
                           "upserted": upserted or []})


async def test_a_server_away_is_waited_out_and_nothing_is_lost():
    coll = ScriptedCollection([AutoReconnect("primary stepped down"), AutoReconnect("still electing"),
                               SimpleNamespace(upserted_ids={1: "id1"})])
    items = _items(3)
    await _writer(coll)._bulk("devices", items)
    assert len(coll.calls) == 3 and all(len(ops) == 3 for ops, _ in coll.calls)
    assert [f.result() for _, f in items] == [False, True, False]


async def test_ordered_a_rejected_op_fails_alone_and_the_rest_is_written_again():
    coll = ScriptedCollection([_rejected(1), SimpleNamespace(upserted_ids={0: "id2"})])
    items = _items(3)
    await _writer(coll)._bulk("devices", items, ordered=True)
    assert [len(ops) for ops, _ in coll.calls] == [3, 1]  # the second call carries only the op after the bad one
    assert items[0][1].result() is None
    with pytest.raises(RuntimeError, match="failed validation"):
        items[1][1].result()
    assert items[2][1].result() is True


async def test_unordered_every_op_was_tried_once():
    coll = ScriptedCollection([_rejected(1, upserted=[{"index": 2, "_id": "id2"}])])
    items = _items(3)
    await _writer(coll)._bulk("devices", items, ordered=False)
    assert len(coll.calls) == 1 and coll.calls[0][1] is False
    assert items[0][1].result() is False and items[2][1].result() is True
    with pytest.raises(RuntimeError, match="failed validation"):
        items[1][1].result()
