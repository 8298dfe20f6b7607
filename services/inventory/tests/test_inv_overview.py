"""GET /overview: contact states from last_informs, distributions, faults, tasks, campaigns, and
its short cache. Runs on its own database so other modules' devices do not change the counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from inv_support import ADMIN, READONLY, igd_device

from acs_contracts.mongo_collections import CAMPAIGNS, INFORM_HASH
from inventory.overview import OverviewCache, compute, parse_interval, top_rows

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet(own):
    """Four online devices (two informed within the minute), three stale, two never seen."""
    rt, _ = own
    now = datetime.now(UTC)
    docs = []
    for i, ago in enumerate([timedelta(seconds=5), timedelta(seconds=20), timedelta(minutes=2), timedelta(minutes=4),
                             timedelta(hours=2), timedelta(days=3), timedelta(days=40)]):
        d = igd_device(f"0A0B0C-Ovw-{i:02d}", version="V1" if i < 4 else "V2", last_inform_ago=timedelta(days=50))
        d["_acs"] = {INFORM_HASH.split(".")[1]: f"h{i}"}  # written by the scheduler: has a last_informs twin
        docs.append(d)
        await rt.db.last_informs.insert_one({"_id": d["_id"], "_lastInform": now - ago, "_acs": {"lastEvents": ["2 PERIODIC"]}})
    # an imported device whose own _lastInform is recent (no last_informs twin), another model
    imported = igd_device("0A0B0C-Other-01", version="V3", last_inform_ago=timedelta(seconds=30))
    imported["_deviceId"]["_Manufacturer"] = "Zeta"
    docs.append(imported)
    for i in range(2):
        never = igd_device(f"0A0B0C-Ovw-N{i}", version="V1")
        del never["_lastInform"]
        docs.append(never)
    await rt.db.devices.insert_many(docs)
    await rt.db.faults.insert_many([
        {"_id": "0A0B0C-Ovw-00:task_1", "device": "0A0B0C-Ovw-00", "channel": "task_1", "code": "cwmp.9002",
         "message": "x", "timestamp": now, "retries": 0},
        {"_id": "0A0B0C-Ovw-01:default", "device": "0A0B0C-Ovw-01", "channel": "default", "code": "cwmp.9002",
         "message": "x", "timestamp": now, "retries": 0},
        {"_id": "0A0B0C-Ovw-02:default", "device": "0A0B0C-Ovw-02", "channel": "default", "code": "timeout",
         "message": "x", "timestamp": now, "retries": 1},
    ])
    await rt.db.tasks.insert_many([{"device": "0A0B0C-Ovw-00", "name": "reboot", "status": s, "timestamp": now}
                                   for s in ("pending", "pending", "done")])
    await rt.db.db[CAMPAIGNS].insert_many([{"_id": "c1", "status": "running"}, {"_id": "c2", "status": "paused"},
                                           {"_id": "c3", "status": "running"}])
    return docs


async def test_counts_and_distributions(own, fleet):
    rt, nbi = own
    r = await nbi.get("/overview", params={"interval": "300"}, headers=READONLY)
    assert r.status_code == 200, r.text
    o = r.json()
    assert o["interval"] == 300
    # online: 4 twins within 5 min + the imported device; stale: 3; never: 2
    assert o["devices"] == {"total": 10, "online": 5, "stale": 3, "never": 2}
    assert o["informsLastMinute"] == 3  # two twins and the imported device
    assert o["faults"]["open"] == 3
    assert o["faults"]["codes"] == [{"value": "cwmp.9002", "count": 2}, {"value": "timeout", "count": 1}]
    assert o["tasksPending"] == 2
    assert o["firmware"] == [{"value": "V1", "count": 6}, {"value": "V2", "count": 3}, {"value": "V3", "count": 1}]
    assert o["models"] == [{"value": "Acme Ovw", "productClass": "Ovw", "count": 9},
                           {"value": "Zeta Other", "productClass": "Other", "count": 1}]
    assert o["campaigns"] == {"running": 2, "paused": 1}
    assert datetime.fromisoformat(o["at"].replace("Z", "+00:00")) <= datetime.now(UTC)


async def test_interval_widens_online(own, fleet):
    rt, _ = own
    o = await compute(rt, 3 * 3600)
    assert o["devices"] == {"total": 10, "online": 6, "stale": 2, "never": 2}


async def test_device_protocol_roots_counted(own, fleet):
    rt, _ = own
    doc = {"_id": "0A0B0C-Tr181-01", "_deviceId": {"_Manufacturer": "Acme", "_ProductClass": "Tr181"},
           "Device": {"DeviceInfo": {"SoftwareVersion": {"_value": "V2", "_type": "xsd:string"}}}}
    await rt.db.devices.insert_one(doc)
    try:
        o = await compute(rt, 300)
        assert {"value": "V2", "count": 4} in o["firmware"]
        assert o["devices"]["never"] == 3
    finally:
        await rt.db.devices.delete_one({"_id": doc["_id"]})


async def test_auth_and_bad_interval(own, fleet):
    _, nbi = own
    assert (await nbi.get("/overview")).status_code == 401
    for bad in ("5", "abc", "-1", "9999999"):
        r = await nbi.get("/overview", params={"interval": bad}, headers=ADMIN)
        assert r.status_code == 400 and "interval" in r.json()["error"], bad
    assert parse_interval(None) == 300


async def test_cache_reuses_within_ttl_and_refreshes_after(own, fleet):
    rt, _ = own
    cache = OverviewCache(ttl_s=3600)
    first = await cache.get(rt, 300)
    await rt.db.faults.insert_one({"_id": "0A0B0C-Ovw-03:default", "device": "0A0B0C-Ovw-03", "code": "late"})
    try:
        assert (await cache.get(rt, 300))["faults"]["open"] == first["faults"]["open"]
        cache.ttl_s = 0
        assert (await cache.get(rt, 300))["faults"]["open"] == first["faults"]["open"] + 1
    finally:
        await rt.db.faults.delete_one({"_id": "0A0B0C-Ovw-03:default"})


async def test_distributions_served_while_refreshed_in_the_background(own, fleet):
    rt, _ = own
    cache = OverviewCache(ttl_s=0, dist_ttl_s=3600)
    first = await cache.get(rt, 300)
    assert first["distributionsAt"] and {"value": "V1", "count": 6} in first["firmware"]
    await rt.db.devices.insert_one(igd_device("0A0B0C-Late-01", version="V9"))
    try:
        assert {"value": "V9", "count": 1} not in (await cache.get(rt, 300))["firmware"]  # within dist_ttl_s
        assert (await cache.get(rt, 300))["devices"]["total"] == 11  # the counts are not held as long
        cache.dist_ttl_s = 0
        stale = await cache.get(rt, 300)  # the refresh starts; the last distributions are served meanwhile
        assert stale["distributionsAt"] == first["distributionsAt"]
        assert cache._dist is not None
        await cache._dist[1]
        fresh = await cache.get(rt, 300)
        assert {"value": "V9", "count": 1} in fresh["firmware"] and fresh["distributionsAt"] > first["distributionsAt"]
    finally:
        await rt.db.devices.delete_one({"_id": "0A0B0C-Late-01"})


async def test_top_rows_sums_the_tail():
    rows = [{"value": f"v{i:02d}", "count": i} for i in range(1, 14)]
    out = top_rows(rows, top=10)
    assert [r["count"] for r in out[:10]] == list(range(13, 3, -1))
    assert out[10] == {"value": None, "other": True, "count": 1 + 2 + 3}
    assert sum(r["count"] for r in out) == sum(r["count"] for r in rows)
