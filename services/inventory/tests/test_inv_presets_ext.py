"""The extended preset shape: declarations, event lists, schedules, conflicts, re-apply now; and
diagnostics tasks accepted with their arguments checked."""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

import pytest
from inv_support import ADMIN, OPERATOR, READONLY, free_port, igd_device

from acs_devstack.polling import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

DECLARATIVE = {
    "weight": 5,
    "channel": "wifi",
    "events": ["0 BOOTSTRAP", "2 PERIODIC"],
    "schedule": "3600 0 2 * * *",
    "precondition": {"VirtualParameters.SoftwareVersion": {"$regex": "^V1"}},
    "declarations": [
        {"path": "InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.SSID", "value": "acs"},
        {"path": "InternetGatewayDevice.DeviceInfo.UpTime", "refresh": 600},
        {"path": "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.[AddressingType:Static]",
         "instances": {"min": 1, "max": 1}},
        {"path": "InternetGatewayDevice.X_Vendor.[Name:a.b.c,Port:80]", "instances": 0},
        {"path": "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword", "value": "s3cret", "secret": True,
         "type": "xsd:string"},
    ],
}


async def test_declarations_are_stored(nbi, runtime):
    r = await nbi.put("/presets/decl", json=DECLARATIVE, headers=ADMIN)
    assert r.status_code == 200, r.text
    stored = await runtime.db.presets.find_one({"_id": "decl"})
    assert stored["declarations"] == DECLARATIVE["declarations"] and stored["events"] == DECLARATIVE["events"]
    assert stored["schedule"] == "3600 0 2 * * *"
    got = (await nbi.get("/presets/decl", headers=READONLY)).json()
    assert got["declarations"][2]["instances"] == {"min": 1, "max": 1}
    assert (await nbi.delete("/presets/decl", headers=ADMIN)).status_code == 200


@pytest.mark.parametrize("change, error", [
    ({"declarations": [{"path": "A..B", "value": 1}]}, "segment"),
    ({"declarations": [{"path": "A.[B].C", "value": 1}]}, "alias"),
    ({"declarations": [{"path": "A.[B:1.C", "value": 1}]}, "unbalanced"),
    ({"declarations": [{"path": "*.A", "value": 1}]}, "segment"),
    ({"declarations": [{"path": "A.B", "instances": 1}]}, "ending with"),
    ({"declarations": [{"path": "A.*", "instances": 1, "value": 2}]}, "not both"),
    ({"declarations": [{"path": "A.*", "instances": {"min": 3, "max": 1}}]}, "min <= max"),
    ({"declarations": [{"path": "A.B"}]}, "needs value"),
    ({"declarations": [{"path": "A.B", "value": [1]}]}, "string, number"),
    ({"declarations": [{"path": "A.B", "refresh": -1}]}, "refresh"),
    ({"declarations": [{"path": "A.B", "value": 1, "type": "xsd:float128"}]}, "unknown type"),
    ({"declarations": [{"path": "A.B", "value": 1, "colour": "red"}]}, "unknown fields"),
    ({"declarations": {"path": "A.B"}}, "array"),
    ({"schedule": "daily"}, "cron"),
    ({"schedule": "0 25 * * *"}, "outside"),
    ({"schedule": "10 0 2 * * *"}, "window"),
    ({"events": ["2 PERIODIC", 3]}, "events"),
    ({"precondition": {"x": {"$where": "1"}}}, "not allowed"),
])
async def test_invalid_presets_are_refused(nbi, runtime, change, error):
    r = await nbi.put("/presets/bad", json={**DECLARATIVE, **change}, headers=ADMIN)
    assert r.status_code == 400, r.text
    assert error in r.json()["error"] + json.dumps(r.json()["detail"]), r.json()
    assert await runtime.db.presets.find_one({"_id": "bad"}) is None


async def test_genieacs_seed_events_string_is_accepted(nbi, runtime):
    body = {"weight": 0, "channel": "bootstrap", "events": "0 BOOTSTRAP", "configurations": [{"type": "provision", "name": "bootstrap"}]}
    assert (await nbi.put("/presets/seed", json=body, headers=ADMIN)).status_code == 200
    assert (await runtime.db.presets.find_one({"_id": "seed"}))["events"] == {"0 BOOTSTRAP": True}
    await nbi.delete("/presets/seed", headers=ADMIN)


async def test_presets_that_would_fight_are_refused(nbi):
    a = {"weight": 1, "declarations": [{"path": "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "value": 300}]}
    b = {"weight": 1, "configurations": [
        {"type": "value", "name": "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "value": 600}]}
    assert (await nbi.put("/presets/inform-a", json=a, headers=ADMIN)).status_code == 200
    r = await nbi.put("/presets/inform-b", json=b, headers=ADMIN)
    assert r.status_code == 409 and r.json()["detail"]["paths"] == ["InternetGatewayDevice.ManagementServer.PeriodicInformInterval"]
    assert (await nbi.put("/presets/inform-b", json={**b, "weight": 2}, headers=ADMIN)).status_code == 200  # ordered: fine
    assert (await nbi.put("/presets/inform-a", json=a, headers=ADMIN)).status_code == 200  # replacing itself is no clash
    for name in ("inform-a", "inform-b"):
        await nbi.delete(f"/presets/{name}", headers=ADMIN)


class _CrCounter(asyncio.Protocol):
    hits: ClassVar[list[float]] = []  # shared by every connection: the test reads the class's

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        _CrCounter.hits.append(asyncio.get_running_loop().time())
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.transport.close()


async def test_reapply_now_wakes_matching_devices_at_a_bounded_rate(nbi, runtime):
    port = free_port()
    server = await asyncio.get_running_loop().create_server(_CrCounter, "127.0.0.1", port)
    try:
        docs = [igd_device(f"BEEF01-Apply-{i}", tags=["apply"], cr_url=f"http://127.0.0.1:{port}/cr{i}") for i in range(6)]
        await runtime.db.devices.insert_many(docs + [igd_device("BEEF01-Apply-other", cr_url=f"http://127.0.0.1:{port}/x")])
        preset = {"precondition": {"_tags": "apply"}, "declarations": [{"path": "InternetGatewayDevice.DeviceInfo.UpTime", "refresh": 0}]}
        assert (await nbi.put("/presets/apply", json=preset, headers=ADMIN)).status_code == 200
        assert (await nbi.post("/presets/apply/apply?rate=0", headers=OPERATOR)).status_code == 400
        assert (await nbi.post("/presets/nope/apply", headers=OPERATOR)).status_code == 404
        _CrCounter.hits = []
        r = await nbi.post("/presets/apply/apply?rate=10", headers=OPERATOR)
        assert r.status_code == 202 and r.json() == {"preset": "apply", "devices": 6}
        await eventually(lambda: len(_CrCounter.hits) >= 6, what="six connection requests")
        assert len(_CrCounter.hits) == 6
        assert _CrCounter.hits[-1] - _CrCounter.hits[0] >= 0.45  # 6 at 10/s: at least 0.5 s apart end to end
    finally:
        server.close()
        await nbi.delete("/presets/apply", headers=ADMIN)


async def test_diagnostics_tasks_are_accepted_and_checked(nbi, runtime):
    await runtime.db.devices.insert_one(igd_device("BEEF01-Diag-1"))
    r = await nbi.post("/devices/BEEF01-Diag-1/tasks", json={"name": "ipPing", "host": "192.0.2.1", "numberOfRepetitions": 4},
                       headers=OPERATOR)
    assert r.status_code == 202, r.text
    t = r.json()
    assert (t["host"], t["numberOfRepetitions"], t["dataModel"]) == ("192.0.2.1", 4, "InternetGatewayDevice")
    for body in ({"name": "ipPing"}, {"name": "ipPing", "host": "h", "timeout": -1},
                 {"name": "downloadDiagnostics", "downloadURL": "file:///etc/passwd"},
                 {"name": "uploadDiagnostics", "uploadURL": "http://x/u"}, {"name": "traceRoute", "host": "h", "hops": 3}):
        r = await nbi.post("/devices/BEEF01-Diag-1/tasks", json=body, headers=OPERATOR)
        assert r.status_code == 400, body
    r = await nbi.post("/devices/BEEF01-Diag-1/tasks", json={"name": "traceRoute", "host": "h", "maxHopCount": 5}, headers=OPERATOR)
    assert r.status_code == 202 and r.json()["maxHopCount"] == 5
