"""Presets stored in GenieACS shape, with the precondition checked as a device query."""

from __future__ import annotations

import json

import pytest
from inv_support import ADMIN, READONLY

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRESET = {
    "weight": 10,
    "channel": "firmware",
    "events": {"0 BOOTSTRAP": True, "1 BOOT": True},
    "precondition": json.dumps({"InternetGatewayDevice.DeviceInfo.SoftwareVersion": {"$ne": "V2"}, "_tags": "lab"}),
    "configurations": [
        {"type": "value", "name": "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "value": 300},
        {"type": "add_tag", "tag": "provisioned"},
        {"type": "provision", "name": "default", "args": None},
    ],
}


async def test_put_get_list_delete(nbi, runtime):
    assert (await nbi.put("/presets/fw", json=PRESET, headers=ADMIN)).status_code == 200
    stored = await runtime.db.presets.find_one({"_id": "fw"})
    assert stored["weight"] == 10 and stored["channel"] == "firmware" and stored["schedule"] == ""
    assert json.loads(stored["precondition"]) == json.loads(PRESET["precondition"])
    r = await nbi.get("/presets/fw", headers=READONLY)
    assert r.json()["configurations"] == PRESET["configurations"]
    r = await nbi.get("/presets/", params={"query": json.dumps({"channel": "firmware"})}, headers=READONLY)
    assert [p["_id"] for p in r.json()] == ["fw"]
    # an object precondition is accepted and stored as its JSON string
    assert (await nbi.put("/presets/fw", json={**PRESET, "precondition": {"_tags": "x"}}, headers=ADMIN)).status_code == 200
    assert (await runtime.db.presets.find_one({"_id": "fw"}))["precondition"] == '{"_tags":"x"}'
    assert (await nbi.delete("/presets/fw", headers=ADMIN)).status_code == 200
    assert (await nbi.get("/presets/fw", headers=READONLY)).status_code == 404


@pytest.mark.parametrize("change", [
    {"precondition": "{not json"},
    {"precondition": json.dumps({"$where": "1"})},
    {"precondition": 5},
    {"weight": "heavy"},
    {"events": {"1 BOOT": "yes"}},
    {"configurations": [{"type": "value", "name": "A..B", "value": 1}]},
    {"configurations": [{"type": "explode"}]},
    {"configurations": [{"type": "add_tag"}]},
    {"surprise": 1},
    {"declarations": [{"path": "InternetGatewayDevice.ManagementServer.URL", "notification": 9}]},
    {"declarations": [{"path": "InternetGatewayDevice.ManagementServer.URL", "accessList": "Subscriber"}]},
])
async def test_invalid_presets_are_refused(nbi, runtime, change):
    r = await nbi.put("/presets/bad", json={**PRESET, **change}, headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"]
    assert await runtime.db.presets.count_documents({"_id": "bad"}) == 0


async def test_attribute_declarations_are_accepted(nbi, runtime):
    body = {**PRESET, "declarations": [
        {"path": "InternetGatewayDevice.WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.ExternalIPAddress", "notification": 2},
        {"path": "InternetGatewayDevice.ManagementServer.ConnectionRequestURL", "notification": 1, "accessList": []}]}
    try:
        r = await nbi.put("/presets/attrs", json=body, headers=ADMIN)
        assert r.status_code == 200, r.text
        stored = await runtime.db.presets.find_one({"_id": "attrs"})
        assert stored["declarations"][1] == {"path": "InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
                                             "notification": 1, "accessList": []}
    finally:
        await nbi.delete("/presets/attrs", headers=ADMIN)

