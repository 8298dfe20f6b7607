"""GenieACS's /provisions and /virtual_parameters: raw JavaScript in, the same text out, 400 with
the syntax error's position for a script that does not compile (and nothing stored)."""

from __future__ import annotations

import json

import pytest
from inv_support import ADMIN, OPERATOR, READONLY

pytestmark = pytest.mark.asyncio(loop_scope="session")

INFORM = """const now = Date.now();
declare("InternetGatewayDevice.ManagementServer.PeriodicInformInterval", {value: now}, {value: 300});
"""
VP = """let v = declare("Device.DeviceInfo.UpTime", {value: Date.now()});
return {writable: false, value: [v.size ? v.value[0] : 0, "xsd:unsignedInt"]};
"""


async def test_provision_put_get_list_delete(nbi, runtime):
    r = await nbi.put("/provisions/inform-x", content=INFORM, headers={**ADMIN, "Content-Type": "application/javascript"})
    assert r.status_code == 200
    assert await runtime.db.db.provisions.find_one({"_id": "inform-x"}) == {"_id": "inform-x", "script": INFORM}
    r = await nbi.get("/provisions/inform-x", headers=READONLY)
    assert r.status_code == 200 and r.text == INFORM and r.headers["content-type"].startswith("application/javascript")
    r = await nbi.get("/provisions/inform-x", headers={**READONLY, "Accept": "application/json"})
    assert r.json() == {"_id": "inform-x", "script": INFORM}
    r = await nbi.get("/provisions/", params={"query": json.dumps({"_id": "inform-x"})}, headers=READONLY)
    assert r.json() == [{"_id": "inform-x", "script": INFORM}]
    assert (await nbi.delete("/provisions/inform-x", headers=ADMIN)).status_code == 200
    assert (await nbi.get("/provisions/inform-x", headers=READONLY)).status_code == 404
    assert (await nbi.delete("/provisions/inform-x", headers=ADMIN)).status_code == 404


async def test_a_script_that_does_not_compile_is_refused_with_its_position(nbi, runtime):
    r = await nbi.put("/provisions/broken", content="const a = 1;\nconst b = ;\n", headers=ADMIN)
    assert r.status_code == 400
    body = r.json()
    assert "does not compile" in body["error"]
    assert (body["detail"]["line"], body["detail"]["column"]) == (2, 11)
    assert await runtime.db.db.provisions.count_documents({"_id": "broken"}) == 0
    r = await nbi.put("/provisions/latin1", content=b"\xff\xfe", headers=ADMIN)
    assert r.status_code == 400


async def test_a_script_is_compiled_never_run_by_the_nbi(nbi, runtime):
    assert (await nbi.put("/provisions/loop", content="for (;;) {}", headers=ADMIN)).status_code == 200
    await nbi.delete("/provisions/loop", headers=ADMIN)


async def test_roles_and_names(nbi):
    assert (await nbi.put("/provisions/x", content="log(1)", headers=OPERATOR)).status_code == 403
    assert (await nbi.put("/provisions/x", content="log(1)", headers=READONLY)).status_code == 403
    assert (await nbi.put("/provisions/..", content="log(1)", headers=ADMIN)).status_code in (400, 404)
    assert (await nbi.put("/virtual_parameters/1bad", content="return {}", headers=ADMIN)).status_code == 400


async def test_virtual_parameter_put_get_delete(nbi, runtime):
    assert (await nbi.put("/virtual_parameters/UpTimeVP", content=VP, headers=ADMIN)).status_code == 200
    assert (await runtime.db.db.virtualParameters.find_one({"_id": "UpTimeVP"}))["script"] == VP
    assert (await nbi.get("/virtual_parameters/UpTimeVP", headers=READONLY)).text == VP
    r = await nbi.get("/virtual_parameters/", headers=READONLY)
    assert {"_id": "UpTimeVP", "script": VP} in r.json()
    r = await nbi.put("/virtual_parameters/UpTimeVP", content="return {", headers=ADMIN)
    assert r.status_code == 400 and r.json()["detail"]["line"] == 1
    assert (await runtime.db.db.virtualParameters.find_one({"_id": "UpTimeVP"}))["script"] == VP  # the old one stays
    assert (await nbi.delete("/virtual_parameters/UpTimeVP", headers=ADMIN)).status_code == 200


async def test_a_genieacs_preset_with_provision_configurations(nbi, runtime):
    preset = {"weight": 0, "channel": "inform", "events": {"1 BOOT": True}, "precondition": "",
              "configurations": [{"type": "provision", "name": "inform", "args": None},
                                 {"type": "provision", "name": "set-ssid", "args": ["guest", 2]}]}
    assert (await nbi.put("/presets/gx-inform", json=preset, headers=ADMIN)).status_code == 200
    stored = await runtime.db.presets.find_one({"_id": "gx-inform"})
    assert stored["configurations"] == preset["configurations"]
    await nbi.delete("/presets/gx-inform", headers=ADMIN)


async def test_genieacs_expression_preconditions_are_kept_as_written(nbi, runtime):
    expr = 'DeviceID.ProductClass = "BM632w" AND Tags.lab IS NOT NULL'
    preset = {"weight": 0, "channel": "c", "events": {"2 PERIODIC": True}, "precondition": expr,
              "configurations": [{"type": "provision", "name": "inform"}]}
    assert (await nbi.put("/presets/gx-expr", json=preset, headers=ADMIN)).status_code == 200
    assert (await runtime.db.presets.find_one({"_id": "gx-expr"}))["precondition"] == expr
    r = await nbi.put("/presets/gx-expr", json={**preset, "precondition": "Tags.lab IS NOT"}, headers=ADMIN)
    assert r.status_code == 400 and "precondition" in r.json()["error"]
    assert (await runtime.db.presets.find_one({"_id": "gx-expr"}))["precondition"] == expr  # unchanged
    await nbi.delete("/presets/gx-expr", headers=ADMIN)
