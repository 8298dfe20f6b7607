"""GenieACS scripts end to end: provisions and presets PUT unchanged through the NBI configure
simulated CPEs through the real stack (broker, database, gateway, scheduler), and a script that
overruns its CPU limit or throws faults its own device's channel while another device's
session, running at the same time, completes."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from provision_scripts import ScriptRunner

from acs_devstack.stack import Stack
from cpe_simulator import SimulatedCpe

from .conftest import cpe_device_id, eventually, full_stack, igd_model, inventory_db, nbi_client

pytestmark = pytest.mark.timeout(900)  # a stack start and several sessions on a loaded machine

IGD_MODEL = igd_model()
STOCK = Path(__file__).resolve().parents[2] / "services" / "task-scheduler" / "tests" / "genieacs_scripts"
MS = "InternetGatewayDevice.ManagementServer."
SSID1 = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"

# GenieACS's stock presets as its NBI takes them (1.2 document shape)
PRESETS = {
    "bootstrap": {"weight": 0, "channel": "bootstrap", "events": {"0 BOOTSTRAP": True}, "precondition": "",
                  "configurations": [{"type": "provision", "name": "bootstrap"}]},
    "default": {"weight": 0, "channel": "default", "events": {}, "precondition": "",
                "configurations": [{"type": "provision", "name": "default"}]},
    "inform": {"weight": 0, "channel": "inform", "events": {"1 BOOT": True}, "precondition": "",
               "configurations": [{"type": "provision", "name": "inform"}]},
    "guest-wifi": {"weight": 10, "channel": "wifi", "events": {"1 BOOT": True}, "precondition": "",
                   "configurations": [{"type": "provision", "name": "ssid", "args": ["guest-"]}]},
    "bad": {"weight": 0, "channel": "broken", "events": {"1 BOOT": True},
            "precondition": '{"_deviceId._SerialNumber": "BADSCRIPT1"}',
            "configurations": [{"type": "provision", "name": "spin"}]},
}
SSID_SCRIPT = f"""// the SSID from the serial number, a prefix passed by the preset
const serial = declare("DeviceID.SerialNumber", {{value: 1}}).value[0];
declare("{SSID1}", {{value: Date.now()}}, {{value: args[0] + serial}});
"""


@pytest.fixture(scope="module")
def st():
    with full_stack(SCHEDULER_BOOTSTRAP_DEFAULTS="off", SCHEDULER_PRESETS_POLL_S="0.2",
                    SCHEDULER_SCRIPT_CPU_MS="300") as stack:
        yield stack


@pytest.fixture
async def nbi(st):
    async with nbi_client(st) as c:
        yield c


def crossed_hour(device_id: str, since: float) -> bool:
    """Did this device's hourly refresh boundary (offset per device) pass since ``since``?"""
    offset = ScriptRunner(device_id, 0).offset % 3_600_000
    boundary = lambda t: int(t * 1000) - ((int(t * 1000) - offset) % 3_600_000)  # noqa: E731
    return boundary(time.time()) != boundary(since)


async def presets_health(st: Stack) -> dict:
    async with httpx.AsyncClient() as c:
        return (await c.get(f"http://127.0.0.1:{st.schedulers[0].admin_port}/healthz")).json()["presets"]


async def generation(st: Stack) -> int:
    return (await presets_health(st))["generation"]


async def reloaded_since(st: Stack, before: int) -> None:
    """Until the scheduler reloaded its presets or scripts (SCHEDULER_PRESETS_POLL_S) after ``before``."""

    async def newer() -> bool:
        return await generation(st) > before

    await eventually(newer, what="the scheduler reloading its presets and scripts")


async def read_all_stored(st: Stack, nbi) -> None:
    """Until the scheduler holds every stored preset (loaded or rejected). Each reload reads the
    presets and then the scripts, so the scripts stored before the last preset are read too."""
    stored = len((await nbi.get("/presets/")).json())

    async def all_read() -> bool:
        health = await presets_health(st)
        return health["loaded"] + len(health["rejected"]) == stored

    await eventually(all_read, what=f"the scheduler holding the {stored} stored presets and the scripts before them")


async def store_scripts_and_presets(st: Stack, nbi) -> None:
    """GenieACS's stock scripts, ours (one spinning forever), one that does not compile (refused),
    then PRESETS, through the NBI as GenieACS's UI would; until the scheduler has read them all."""
    for name in ("bootstrap", "default", "inform"):
        r = await nbi.put(f"/provisions/{name}", content=(STOCK / f"{name}.js").read_text())
        assert r.status_code == 200, r.text
    assert (await nbi.put("/provisions/ssid", content=SSID_SCRIPT)).status_code == 200
    assert (await nbi.put("/provisions/spin", content="let n = 0;\nfor (;;) n++;\n")).status_code == 200
    r = await nbi.put("/provisions/typo", content="declare(\"A\", {value: 1}\n")
    assert r.status_code == 400 and r.json()["detail"]["line"] == 1
    for name, preset in PRESETS.items():
        assert (await nbi.put(f"/presets/{name}", json=preset)).status_code == 200
    await read_all_stored(st, nbi)  # the scripts were stored before the presets


async def test_provisions_and_presets_put_unchanged_configure_a_cpe(st, nbi):
    await store_scripts_and_presets(st, nbi)
    started = time.time()
    good = SimulatedCpe(IGD_MODEL, acs_url=st.cwmp_url(0), serial="GOODSCRIPT1")
    bad = SimulatedCpe(IGD_MODEL, acs_url=st.cwmp_url(0), serial="BADSCRIPT1")
    good_report, bad_report = await asyncio.gather(good.run_session(events=["0 BOOTSTRAP", "1 BOOT"]),
                                                   bad.run_session(events=["0 BOOTSTRAP", "1 BOOT"]))
    assert good_report.ok, good_report.error
    assert good_report.rpcs == ["GetParameterValues", "SetParameterValues"]
    good_id = cpe_device_id(IGD_MODEL, "GOODSCRIPT1")
    assert good.get(MS + "ConnectionRequestUsername") == good_id  # inform: DeviceID.ID
    assert good.get(MS + "PeriodicInformEnable") is True
    assert good.get(MS + "PeriodicInformInterval") == 300
    assert good.get(SSID1) == "guest-GOODSCRIPT1"

    # the spinning script stopped at its CPU limit: a fault on its channel, its session ended
    assert bad_report.ok, bad_report.error
    bad_id = cpe_device_id(IGD_MODEL, "BADSCRIPT1")
    assert bad.get(SSID1) == "guest-BADSCRIPT1"  # the device's other presets still applied
    with inventory_db(st) as db:
        fault = await eventually(lambda: db.faults.find_one({"_id": f"{bad_id}:broken"}), timeout=20)
        assert fault["code"] == "script.Timeout" and fault["detail"]["provision"] == "spin"
        assert db.faults.find_one({"device": good_id}) is None
    r = await nbi.get("/faults/", params={"query": f'{{"device": "{bad_id}"}}'})
    assert [f["code"] for f in r.json()] == ["script.Timeout"]

    # the next periodic session: everything is right and fresh, no RPC (GenieACS sends none either),
    # unless the device's own hour boundary (Date.now(3600000) in "default") passed in between
    report = await good.run_session(events=["2 PERIODIC"])
    assert report.ok
    assert report.rpcs == [] or (crossed_hour(good_id, started) and report.rpcs == ["GetParameterValues"]), report.rpcs

    # fixing the script clears the fault at the device's next session
    before = await generation(st)
    assert (await nbi.put("/provisions/spin", content="log('fixed');")).status_code == 200
    await reloaded_since(st, before)
    assert (await bad.run_session(events=["1 BOOT"])).ok
    with inventory_db(st) as db:
        await eventually(lambda: db.faults.find_one({"_id": f"{bad_id}:broken"}) is None, timeout=20)


async def test_a_genieacs_export_imports_and_its_device_is_configured_on_its_next_inform(st, nbi, tmp_path):
    from typer.testing import CliRunner

    from acs_cli.main import app
    from acs_devstack.servers import mongo_uri

    serial = "MIGRATED01"
    device_id = cpe_device_id(IGD_MODEL, serial)
    ident = IGD_MODEL.identity
    device = {"_id": device_id, "_tags": ["migrated", "vip"],
              "_deviceId": {"_Manufacturer": ident.manufacturer, "_OUI": ident.oui, "_ProductClass": ident.product_class,
                            "_SerialNumber": serial},
              "_registered": {"$date": "2023-01-01T00:00:00Z"}, "_lastInform": {"$date": "2024-06-01T08:00:00Z"},
              "InternetGatewayDevice": {"_object": True, "DeviceInfo": {"_object": True, "X_Imported": {
                  "_value": "from-genieacs", "_type": "xsd:string", "_timestamp": {"$date": "2024-06-01T08:00:00Z"},
                  "_object": False, "_writable": False}}}}
    preset = {"_id": "migrated-wifi", "weight": 20, "channel": "migrated", "events": {"1 BOOT": True},
              "precondition": "Tags.migrated IS NOT NULL", "configurations": [{"type": "provision", "name": "migrated-wifi"}]}
    script = {"_id": "migrated-wifi", "script": f'declare("{SSID1}", null, {{value: "kept-" + declare("DeviceID.SerialNumber", {{value: 1}}).value[0]}});'}
    for name, docs in (("devices", [device]), ("presets", [preset]), ("provisions", [script])):
        (tmp_path / f"{name}.json").write_text("".join(json.dumps(d) + "\n" for d in docs))
    result = await asyncio.to_thread(CliRunner().invoke, app, ["import-genieacs", str(tmp_path), "--mongodb-uri",
                                                               mongo_uri(st.mongo.port), "--database", "acs", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["devices"]["imported"] == 1
    await read_all_stored(st, nbi)  # the import writes the scripts before the presets

    r = await nbi.get("/devices/", params={"query": json.dumps({"_id": device_id})})
    [doc] = r.json()
    assert doc["_tags"] == ["migrated", "vip"]
    assert doc["InternetGatewayDevice"]["DeviceInfo"]["X_Imported"]["_value"] == "from-genieacs"

    cpe = SimulatedCpe(IGD_MODEL, acs_url=st.cwmp_url(0), serial=serial)
    report = await cpe.run_session(events=["1 BOOT"])
    assert report.ok, report.error
    assert cpe.get(SSID1) == f"kept-{serial}"  # the imported preset (expression precondition) and provision
    r = await nbi.get("/devices/", params={"query": json.dumps({"_id": device_id})})
    assert r.json()[0]["_tags"][:2] == ["migrated", "vip"]
