"""The console's Overview with a large inventory: ``GET /overview`` (inventory.overview) over
devices bulk-inserted into SecantusDB (100k; ``--short`` 2k), half of them with a last_informs
twin, a few hundred faults and pending tasks. Measured in this process against a real database:
the uncached computation, its counts (recomputed every CACHE_S seconds) and its distributions
(a pass over every device, refreshed in the background every DIST_CACHE_S seconds), and a
cached answer through the NBI app (what every other console polling within those seconds costs).
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import MongoClient

from acs_devstack.servers import mongo_server, mongo_uri, new_workdir

from .console import device_doc


def _fill(uri: str, devices: int, batch: int = 5000) -> float:
    now = datetime.now(UTC)
    t0 = time.monotonic()
    client: MongoClient[dict[str, Any]]
    with MongoClient(uri) as client:
        db: Any = client.acs
        for start in range(0, devices, batch):
            docs = [device_doc(i, now) for i in range(start, min(devices, start + batch))]
            for i, d in enumerate(docs, start):
                if i % 2 == 0:  # written by the scheduler: the exact last contact is in last_informs
                    d["_acs"] = {"informHash": f"h{i}"}
            db.devices.insert_many(docs, ordered=False)
            db.last_informs.insert_many([{"_id": d["_id"], "_lastInform": now - timedelta(seconds=(i * 7) % 7200)}
                                         for i, d in enumerate(docs, start) if i % 2 == 0], ordered=False)
        db.faults.insert_many([{"_id": f"f{i}", "device": f"d{i}", "channel": "default", "code": f"cwmp.90{i % 10:02d}",
                                "timestamp": now} for i in range(300)])
        db.tasks.insert_many([{"device": f"d{i}", "name": "reboot", "status": "pending", "timestamp": now}
                              for i in range(300)])
    return time.monotonic() - t0


async def _measure(uri: str, runs: int) -> dict[str, Any]:
    from inventory.app import create_app
    from inventory.config import Settings
    from inventory.overview import compute, counts, distributions
    from inventory.runtime import Runtime

    settings = Settings(mongodb_uri=uri, mongodb_database="acs", tokens={"bench": "readonly"})
    rt = Runtime(settings)
    await rt.start()
    try:
        await compute(rt, 300)  # warm the indexes' pages and the client's pool
        uncached, count_ms, dist_ms = [], [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            doc = await compute(rt, 300)
            uncached.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            await counts(rt, 300)
            count_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            await distributions(rt)
            dist_ms.append((time.perf_counter() - t0) * 1000)
        app = create_app(settings, rt)
        cached = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nbi",
                                     headers={"Authorization": "Bearer bench"}) as c:
            (await c.get("/overview")).raise_for_status()
            for _ in range(runs * 5):
                t0 = time.perf_counter()
                (await c.get("/overview")).raise_for_status()
                cached.append((time.perf_counter() - t0) * 1000)
        return {"uncached_median_ms": round(statistics.median(uncached), 1), "uncached_max_ms": round(max(uncached), 1),
                "counts_median_ms": round(statistics.median(count_ms), 1),
                "distributions_median_ms": round(statistics.median(dist_ms), 1),
                "cached_median_ms": round(statistics.median(cached), 2), "devices_counted": doc["devices"]["total"]}
    finally:
        await rt.stop()


def figures(short: bool) -> dict[str, Any]:
    devices, runs = (2000, 3) if short else (100_000, 5)
    workdir = new_workdir("acs-bench-overview-")
    db = mongo_server(workdir).start()
    try:
        uri = mongo_uri(db.port)
        fill_s = _fill(uri, devices)
        out = {"devices": devices, "fill_s": round(fill_s, 1)}
        out.update(asyncio.run(_measure(uri, runs)))
        return out
    finally:
        db.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    import sys

    print(figures("--short" in sys.argv))
