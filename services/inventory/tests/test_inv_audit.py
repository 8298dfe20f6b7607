"""The audit log (inventory/audit.py): every write asked of the NBI is recorded with who, from
where, what, on which devices, the state before (presets, parameters) and the result; refused
writes too; secrets never appear; the log can be read by admins only and edited by nobody."""

from __future__ import annotations

import json

import pytest
from inv_support import ADMIN, OPERATOR, READONLY, igd_device

from inventory.audit import audit_filter, is_secret_path, mask, token_fingerprint

pytestmark = pytest.mark.asyncio(loop_scope="session")

DEV = "A1B2C3-Audit-0001"
PRESET = {"weight": 1, "precondition": json.dumps({"_tags": "audit"}),
          "configurations": [{"type": "value", "name": "InternetGatewayDevice.ManagementServer.PeriodicInformInterval",
                              "value": 300}]}


async def _records(nbi, **flt):
    r = await nbi.get("/audit", params={"query": json.dumps(flt)} if flt else None, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert int(r.headers["X-Total-Count"]) >= len(r.json())
    return r.json()


async def test_preset_writes_are_recorded_with_the_state_they_replaced(nbi):
    assert (await nbi.put("/presets/audit-p1", json=PRESET, headers={**ADMIN, "User-Agent": "acs-cli/1"})).status_code == 200
    changed = {**PRESET, "weight": 7}
    assert (await nbi.put("/presets/audit-p1", json=changed, headers=ADMIN)).status_code == 200
    assert (await nbi.delete("/presets/audit-p1", headers=ADMIN)).status_code == 200

    delete, replace, create = (await _records(nbi, path="/presets/audit-p1"))[:3]
    assert [create["method"], replace["method"], delete["method"]] == ["PUT", "PUT", "DELETE"]
    assert create["action"] == "PUT /presets/{name}" and create["status"] == 200
    assert create["actor"] == {"token": token_fingerprint("tok-admin"), "role": "admin", "client": "acs-cli/1"}
    assert create["before"] is None and create["after"]["weight"] == 1
    assert replace["before"]["weight"] == 1 and replace["after"]["weight"] == 7
    assert delete["before"]["weight"] == 7 and delete["after"] is None
    assert "tok-admin" not in json.dumps([create, replace, delete])  # the token itself never


async def test_set_parameter_values_keeps_the_values_before_and_masks_secrets(nbi, runtime):
    await runtime.db.devices.insert_one(igd_device(DEV, cr_user="u", cr_pass="old-secret"))
    ssid = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
    pw = "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword"
    body = {"name": "setParameterValues", "parameterValues": [[ssid, "guest", "xsd:string"], [pw, "new-secret"]]}
    try:
        r = await nbi.post(f"/devices/{DEV}/tasks", json=body, headers=OPERATOR)
        assert r.status_code in (200, 202), r.text
        rec = (await _records(nbi, devices=DEV))[0]
        assert rec["action"] == "POST /devices/{device_id}/tasks" and rec["devices"] == [DEV]
        assert rec["actor"]["role"] == "operator" and rec["status"] == r.status_code
        assert rec["before"] == {ssid: "home", pw: "***"}
        assert rec["after"]["parameterValues"] == [[ssid, "guest", "xsd:string"], [pw, "***"]]
        assert rec["result"]["_id"] == r.json()["_id"]  # the task it queued
        assert "secret" not in json.dumps(rec)
    finally:
        await runtime.db.devices.delete_one({"_id": DEV})
        await runtime.db.tasks.delete_many({"device": DEV})


async def test_refused_writes_are_recorded_too(nbi):
    assert (await nbi.delete("/presets/audit-none", headers=READONLY)).status_code == 403
    assert (await nbi.post(f"/devices/{DEV}/tags/x")).status_code == 401
    forbidden = (await _records(nbi, path="/presets/audit-none"))[0]
    assert forbidden["status"] == 403 and forbidden["actor"]["role"] == "readonly"
    anonymous = (await _records(nbi, path=f"/devices/{DEV}/tags/x"))[0]
    assert anonymous["status"] == 401 and anonymous["actor"]["token"] == "anonymous" and anonymous["devices"] == [DEV]


async def test_bulk_operations_record_their_device_query(nbi):
    query = json.dumps({"_tags": "nobody-has-this"})
    await nbi.post("/presets/audit-none/apply", params={"query": query}, headers=OPERATOR)
    rec = (await _records(nbi, path="/presets/audit-none/apply"))[0]
    assert rec["deviceQuery"] == query


async def test_only_admins_read_the_log_and_nobody_edits_it(nbi):
    assert (await nbi.get("/audit", headers=OPERATOR)).status_code == 403
    assert (await nbi.get("/audit")).status_code == 401
    rec = (await _records(nbi))[0]
    assert (await nbi.delete(f"/audit/{rec['_id']}", headers=ADMIN)).status_code in (404, 405)
    assert (await nbi.put("/audit", json={}, headers=ADMIN)).status_code == 405
    assert (await nbi.delete("/audit", headers=ADMIN)).status_code == 405


async def test_the_log_is_filtered_newest_first_and_paged(nbi):
    for i in range(3):
        await nbi.post(f"/devices/{DEV}/tags/t{i}", headers=OPERATOR)
    r = await nbi.get("/audit", params={"query": json.dumps({"devices": DEV, "method": "POST", "status": 404}),
                                        "limit": 2}, headers=ADMIN)
    docs = r.json()
    assert len(docs) == 2 and int(r.headers["X-Total-Count"]) >= 3
    assert docs[0]["path"].endswith("/tags/t2") and docs[1]["path"].endswith("/tags/t1")
    since = docs[1]["timestamp"]
    newer = await _records(nbi, devices=DEV, timestamp={"$gte": since}, method="POST")
    assert {d["path"].rsplit("/", 1)[1] for d in newer} >= {"t1", "t2"}


@pytest.mark.parametrize("query, error", [
    ("not json", "query is not JSON"), ("[1]", "query must be a JSON object"),
    ('{"$where": "1"}', "unknown field in query"), ('{"status": {"$where": 1}}', "operator not allowed in query"),
    ('{"devices": {"$eq": {"$ne": 1}}}', "nested objects are not allowed"),
    ('{"timestamp": {"$gt": "last tuesday"}}', "timestamp is not a date"),
])
async def test_bad_queries_get_a_clear_400(nbi, query, error):
    r = await nbi.get("/audit", params={"query": query}, headers=ADMIN)
    assert r.status_code == 400 and error in r.json()["error"]


async def test_filter_translation_and_masking():
    flt = audit_filter('{"devices": {"$in": ["a", "b"]}, "timestamp": {"$gte": "2026-12-01T00:00:00Z"}}')
    assert flt["devices"] == {"$in": ["a", "b"]} and flt["timestamp"]["$gte"].year == 2026
    assert is_secret_path("Device.WiFi.AccessPoint.1.Security.KeyPassphrase")
    assert is_secret_path("InternetGatewayDevice.ManagementServer.Password")
    assert not is_secret_path("InternetGatewayDevice.ManagementServer.Username")
    assert mask({"password": "x", "rows": [["A.Password", "y"], ["A.SSID", "z"]]}) == \
        {"password": "***", "rows": [["A.Password", "***"], ["A.SSID", "z"]]}
