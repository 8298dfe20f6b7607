"""Paced fleet connection requests through the MongoDB queue (cr_pacing), against a real HTTP
endpoint standing in for many CPEs, with two senders sharing the queue as two replicas would."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from inv_support import igd_device

from acs_devstack.polling import eventually
from inventory.cr_pacing import CHUNK_MAX, QUEUE, Pacer, chunk_size, chunks, due_times


def test_due_times_are_spaced_by_the_rate():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert due_times(3, 4.0, start) == [start, start + timedelta(seconds=0.25), start + timedelta(seconds=0.5)]


def test_a_submission_is_queued_in_chunks_of_about_a_second_in_order():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"d{i}" for i in range(45)]
    docs = chunks(ids, 20.0, start, "b1")
    assert [len(d["devices"]) for d in docs] == [20, 20, 5]
    assert [d["due"] for d in docs] == [start, start + timedelta(seconds=1), start + timedelta(seconds=2)]
    assert [i for d in docs for i in d["devices"]] == ids
    assert chunk_size(0.1) == 1 and chunk_size(1e6) == CHUNK_MAX


@contextlib.asynccontextmanager
async def _cpes(runtime, ids: list[str], handle) -> AsyncIterator[None]:
    """One HTTP endpoint standing in for the CPEs ``ids`` (``handle`` answers
    ``/cr/<device id>``), and their device documents pointing at it."""
    app = web.Application()
    app.router.add_get("/cr/{key}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        for d in ids:
            await runtime.db.devices.replace_one({"_id": d}, igd_device(d, cr_url=f"http://127.0.0.1:{port}/cr/{d}"), upsert=True)
        yield
    finally:
        await runner.cleanup()


_until = functools.partial(eventually, timeout=60.0)  # a loaded machine paces slowly


@pytest.mark.asyncio(loop_scope="session")
async def test_queued_devices_are_each_reached_once_at_the_rate(runtime):
    hits: Counter[str] = Counter()
    times: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        hits[request.match_info["key"]] += 1
        times.append(asyncio.get_running_loop().time())
        return web.Response(status=200)

    ids = [f"A1B2C3-Pace-{i:04d}" for i in range(40)]
    async with _cpes(runtime, ids, handle):
        replica = Pacer(runtime)  # a second inventory process on the same queue
        replica.start()
        first = Pacer.for_runtime(runtime)
        before = first.sent
        try:
            first.submit(ids, rate=20)
            await _until(lambda: sum(hits.values()) >= len(ids))
            await _until(lambda: first.sent - before + replica.sent >= len(ids))
            await _until(lambda: _queue_empty(runtime, ids))  # sent entries are deleted
        finally:
            await replica.stop()
    assert set(hits) == set(ids) and set(hits.values()) == {1}  # each device once, whichever replica sent it
    # paced: unpaced, 40 requests go out in a few tens of milliseconds; at 20/s they span ~2 s
    # (each replica spaces its own; two replicas late at once may come a little closer)
    assert max(times) - min(times) >= 39 / 20 * 0.7


async def _queue_empty(runtime, ids) -> bool:
    return await runtime.db.db[QUEUE].count_documents({"devices": {"$in": ids}}) == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_a_chunk_whose_lease_lapsed_is_taken_over_and_a_live_lease_is_left_alone(runtime):
    """A replica that died holding a chunk loses nothing: once its lease lapses another sends it;
    a chunk another replica still holds is not sent twice."""
    hits: Counter[str] = Counter()

    async def handle(request: web.Request) -> web.Response:
        hits[request.match_info["key"]] += 1
        return web.Response(status=200)

    lapsed = [f"A1B2C3-Lapsed-{i:03d}" for i in range(5)]
    held = [f"A1B2C3-Held-{i:03d}" for i in range(3)]
    queue = runtime.db.db[QUEUE]
    try:
        async with _cpes(runtime, lapsed + held, handle):
            now = datetime.now(UTC)
            dead, live = chunks(lapsed, 50.0, now - timedelta(seconds=60), "gone"), chunks(held, 50.0, now - timedelta(seconds=60), "live")
            for c in dead:
                c.update(owner="replica-that-died", lease=now - timedelta(seconds=1))
            for c in live:
                c.update(owner="replica-still-sending", lease=now + timedelta(hours=1))
            await queue.insert_many(dead + live)
            pacer = Pacer(runtime)
            pacer.start()
            try:
                await _until(lambda: sum(hits[d] for d in lapsed) >= len(lapsed))
                await _until(lambda: _queue_empty(runtime, lapsed))
            finally:
                await pacer.stop()
    finally:
        await queue.delete_many({"devices": {"$in": held}})
    assert {d: hits[d] for d in lapsed} == dict.fromkeys(lapsed, 1)
    assert not any(hits[d] for d in held)


@pytest.mark.asyncio(loop_scope="session")
async def test_requests_in_flight_when_a_replica_stops_are_sent_by_another(runtime):
    """A replica stopped with requests unanswered leaves their chunk queued; another replica sends
    it once the lease lapses, so nothing is lost."""
    answered: Counter[str] = Counter()
    answering = asyncio.Event()  # not set: answer nothing (the first replica's requests hang)
    reached: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        reached.append(request.match_info["key"])
        await answering.wait()
        answered[request.match_info["key"]] += 1
        return web.Response(status=200)

    ids = [f"A1B2C3-Stopped-{i:03d}" for i in range(4)]
    async with _cpes(runtime, ids, handle):
        shared = Pacer.for_runtime(runtime)
        await shared.stop()  # the runtime's own sender sits this one out: the two replicas are these
        first = Pacer(runtime, lease_s=1.0)
        second = Pacer(runtime, lease_s=1.0)
        try:
            await first.enqueue(ids, 100.0)
            first.start()
            await _until(lambda: len(reached) >= len(ids))  # all in flight, none answered
            await first.stop()
            assert not answered and not await _queue_empty(runtime, ids)
            answering.set()
            second.start()
            await _until(lambda: all(answered[d] >= 1 for d in ids))
            await _until(lambda: _queue_empty(runtime, ids))
        finally:
            answering.set()
            await second.stop()
            shared.start()
