"""Two tenants end to end: real broker, database, gateway, scheduler and inventory processes, and
simulated CPEs. The scheduler gives each CPE its tenant at first contact (ACS_TENANT_RULES); each
tenant has its own admin, created by the static admin and signed in with a password; neither
sees nor touches the other's devices, users or audit records through the NBI, and every write,
with its user and tenant, is in the audit log and on acs.audit.v1."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from acs_contracts.device_id import make_device_id
from acs_contracts.kafka_topics import AUDIT, AuditRecord
from acs_devstack.servers import mongo_uri
from acs_devstack.stack import Stack
from cpe_simulator import DataModel, SimulatedCpe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from topics import TopicReader  # noqa: E402

pytestmark = pytest.mark.e2e

RULES = [{"tenant": "red", "serialNumber": "RED*"}, {"tenant": "blue", "serialNumber": "BLU*"}]
PASSWORD = "tenant-admin-password"
MODEL = DataModel.default()  # the built-in gateway: the tenants come from the serial numbers


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    st = Stack(partitions=2, scheduler_env={"ACS_TENANT_RULES": json.dumps(RULES)}).start_servers()
    try:
        st.add_inventory()
        st.add_scheduler()
        st.add_gateway()
        yield st
    finally:
        st.stop()


async def _eventually(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"not within {timeout}s"
        await asyncio.sleep(0.1)
    return result


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_two_tenants_do_not_see_each_other(stack: Stack):
    red_dev = make_device_id(MODEL.identity.oui, MODEL.identity.product_class, "RED0001")
    blue_dev = make_device_id(MODEL.identity.oui, MODEL.identity.product_class, "BLU0001")
    cpes = [SimulatedCpe(MODEL, acs_url=stack.cwmp_url(0), serial=s) for s in ("RED0001", "BLU0001")]
    client = MongoClient(mongo_uri(stack.mongo.port))
    try:
        for cpe in cpes:
            await cpe.start()
        db = client.acs
        await _eventually(lambda: db.devices.count_documents({"_id": {"$in": [red_dev, blue_dev]}, "_tenant": {"$exists": True}}) == 2)
        assert db.devices.find_one({"_id": red_dev})["_tenant"] == "red"
        assert db.devices.find_one({"_id": blue_dev})["_tenant"] == "blue"

        async with httpx.AsyncClient(base_url=stack.nbi_url, timeout=60) as nbi, \
                TopicReader(stack.common_env(), {AUDIT: AuditRecord}, default_timeout=60) as topic:
            root = _bearer(stack.nbi_token)
            for tenant in ("red", "blue"):
                r = await nbi.put(f"/users/{tenant}-admin", json={"role": "admin", "tenant": tenant, "password": PASSWORD},
                                  headers=root)
                assert r.status_code == 201, r.text
            red = _bearer((await nbi.post("/login", json={"username": "red-admin", "password": PASSWORD})).json()["token"])
            blue = _bearer((await nbi.post("/login", json={"username": "blue-admin", "password": PASSWORD})).json()["token"])

            # devices: each admin sees its own, and the other's is "not found" whatever the route
            assert [d["_id"] for d in (await nbi.get("/devices/", headers=red)).json()] == [red_dev]
            assert [d["_id"] for d in (await nbi.get("/devices/", headers=blue)).json()] == [blue_dev]
            assert (await nbi.get("/devices/", params={"query": json.dumps({"_id": blue_dev})}, headers=red)).json() == []
            assert (await nbi.post(f"/devices/{blue_dev}/tasks", json={"name": "reboot"}, headers=red)).status_code == 404
            assert (await nbi.post(f"/devices/{blue_dev}/tags/mine", headers=red)).status_code == 404
            assert (await nbi.delete(f"/devices/{blue_dev}", headers=red)).status_code == 404
            assert (await nbi.get("/overview", headers=red)).json()["devices"]["total"] == 1
            assert (await nbi.get("/overview", headers=root)).json()["devices"]["total"] >= 2

            # a write in scope goes through, and names its user and tenant in the log and on the topic
            assert (await nbi.post(f"/devices/{red_dev}/tags/red-tag", headers=red)).status_code == 200
            [rec] = await topic.wait(AUDIT, lambda a: a.path == f"/devices/{red_dev}/tags/red-tag")
            assert rec.actor["user"] == "red-admin" and rec.actor["tenant"] == "red" and rec.status == 200
            [refused] = await topic.wait(AUDIT, lambda a: a.path == f"/devices/{blue_dev}/tags/mine")
            assert refused.status == 404 and refused.actor["tenant"] == "red"

            # users: each tenant's admin manages its own
            assert (await nbi.put("/users/red-viewer", json={"role": "readonly", "password": PASSWORD},
                                  headers=red)).json()["tenant"] == "red"
            assert (await nbi.get("/users/red-viewer", headers=blue)).status_code == 404
            assert {u["name"] for u in (await nbi.get("/users", headers=blue)).json()} == {"blue-admin"}
            assert (await nbi.put("/users/sneaky", json={"role": "admin", "tenant": "red", "password": PASSWORD},
                                  headers=blue)).status_code == 403

            # presets: a tenant's own, applied to its devices only
            preset = {"weight": 0, "precondition": "{}", "configurations": []}
            assert (await nbi.put("/presets/red-preset", json=preset, headers=red)).status_code == 200
            stored = (await nbi.get("/presets/red-preset", headers=red)).json()
            assert json.loads(stored["precondition"]) == {"_tenant": "red"}
            assert (await nbi.get("/presets/red-preset", headers=blue)).status_code == 404
            assert (await nbi.put("/presets/red-preset", json=preset, headers=blue)).status_code == 404

            # the audit log: each tenant's admin reads its tenant's records only
            blue_log = (await nbi.get("/audit", headers=blue)).json()
            assert blue_log and all(r["actor"].get("tenant") == "blue" for r in blue_log)
            red_log = (await nbi.get("/audit", headers=red)).json()
            assert any(r["path"] == "/presets/red-preset" for r in red_log)
    finally:
        for cpe in cpes:
            await cpe.stop()
        client.close()
