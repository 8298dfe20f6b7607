"""GenieACS 1.2's documented NBI examples, run against any NBI, each checked for the answer
GenieACS gives (status code and document shape).

    python tools/genieacs-compat/nbi_examples.py --nbi http://127.0.0.1:7557 --token T \\
        --device 202BC1-BM632w-0000000 --device-with-dash 202BC1-BM632w-SR552NA084%2D0003269

The devices must be online (connection requests reach them) and have a TR-098
InternetGatewayDevice data model with the parameters the examples use (the BM632w dump the
GenieACS documentation uses, or the CPE simulator's built-in gateway model). The file's OUI and
product class come from the device id; the MAC address searched for is ``--mac``, by default the
device's own WANIPConnection MAC address as the NBI has it (the documentation's is 20:2B:C1:E0:06:65).
Exits non-zero when an example does not get GenieACS's answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from urllib.parse import quote, unquote

import httpx

IGD = "InternetGatewayDevice"


@dataclass
class Check:
    example: str
    ok: bool
    detail: str = ""


def q(obj: dict) -> str:
    return json.dumps(obj)


async def _value(c: httpx.AsyncClient, device: str, path: str) -> object:
    """A parameter's value in the device document, or None."""
    r = await c.get("/devices/", params={"query": q({"_id": device}), "projection": path})
    node: object = r.json()[0] if r.status_code == 200 and r.json() else {}
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node.get("_value") if isinstance(node, dict) else None


async def run(nbi: str, token: str, device: str, device_with_dash: str | None = None,
              mac: str | None = None) -> list[Check]:
    """``mac``: the WANIPConnection.1.MACAddress of ``device`` (default: read from its document)."""
    out: list[Check] = []
    enc = quote(device, safe="")
    parts = [unquote(part) for part in device.split("-")]  # OUI-ProductClass-Serial (or OUI-Serial)
    oui, product_class = parts[0], parts[1] if len(parts) == 3 else ""

    def check(example: str, cond: bool, detail: object = "") -> None:
        out.append(Check(example, bool(cond), str(detail)[:300]))

    async with httpx.AsyncClient(base_url=nbi, timeout=60, auth=httpx.BasicAuth("genieacs-client", token)) as c:
        # POST /devices/<id>/tasks?connection_request: refresh all device parameters now
        r = await c.post(f"/devices/{enc}/tasks?connection_request", content=q({"name": "refreshObject", "objectName": ""}))
        check("refreshObject '' with connection_request -> 200 + task with _id", r.status_code == 200 and "_id" in r.json(), r.text)

        # GET /devices/?query=... find by id, by MAC address, by last inform
        r = await c.get("/devices/", params={"query": q({"_id": device})})
        check("find a device by its ID", r.status_code == 200 and [d["_id"] for d in r.json()] == [device], r.text[:200])
        mac_path = f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.MACAddress"
        if mac is None:
            mac = await _value(c, device, mac_path) or "20:2B:C1:E0:06:65"
        r = await c.get("/devices/", params={"query": q({mac_path: mac})})
        check("find a device by its MAC address", r.status_code == 200 and device in [d["_id"] for d in r.json()], r.text[:200])
        r = await c.get("/devices/", params={"query": q({"_lastInform": {"$lt": "2017-12-11 13:16:23 +0000"}})})
        check("devices with no inform since 2017-12-11 (none: it informed now)", r.status_code == 200 and device not in [d["_id"] for d in r.json()], r.text[:200])
        r = await c.get("/devices/", params={"query": q({"_lastInform": {"$gt": "2017-12-11 13:16:23 +0000"}})})
        check("devices that informed since 2017-12-11", r.status_code == 200 and device in [d["_id"] for d in r.json()], r.text[:200])
        proj = f"{IGD}.DeviceInfo.ModelName,{IGD}.DeviceInfo.Manufacturer"
        r = await c.get("/devices", params={"query": q({"_id": device}), "projection": proj})
        doc = r.json()[0] if r.status_code == 200 and r.json() else {}
        check("projection returns only the listed parameters (and _id)",
              set(doc) == {"_id", IGD} and set(doc.get(IGD, {})) == {"DeviceInfo"}
              and set(doc[IGD]["DeviceInfo"]) <= {"ModelName", "Manufacturer"}, doc)

        # setParameterValues, getParameterValues with timeout
        ssid = f"{IGD}.LANDevice.1.WLANConfiguration.1.SSID"
        psk = f"{IGD}.LANDevice.1.WLANConfiguration.1.PreSharedKey.1.PreSharedKey"
        r = await c.post(f"/devices/{enc}/tasks?connection_request",
                         content=q({"name": "setParameterValues", "parameterValues": [[ssid, "GenieACS", "xsd:string"], [psk, "hello world", "xsd:string"]]}))
        check("change WiFi SSID and password -> 200", r.status_code == 200, r.text)
        names = [f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANIPConnectionNumberOfEntries", f"{IGD}.Time.NTPServer1"]
        r = await c.post(f"/devices/{enc}/tasks?timeout=3000&connection_request", content=q({"name": "getParameterValues", "parameterNames": names}))
        check("getParameterValues with timeout=3000 -> 200", r.status_code == 200, r.text)
        r = await c.get("/devices/", params={"query": q({"_id": device})})
        d = r.json()[0] if r.status_code == 200 and r.json() else {}
        try:
            values_ok = (d[IGD]["LANDevice"]["1"]["WLANConfiguration"]["1"]["SSID"]["_value"] == "GenieACS"
                         and "_value" in d[IGD]["Time"]["NTPServer1"])
        except (KeyError, TypeError):
            values_ok = False
        check("the values read are in the device document", values_ok, {k: v for k, v in d.items() if k != IGD} | {"igd": sorted(d.get(IGD, {}))})
        r = await c.post(f"/devices/{enc}/tasks?timeout=3000&connection_request",
                         content=q({"name": "setParameterValues", "parameterValues": [[f"{IGD}.Time.NTPServer1", "pool.ntp.org"]]}))
        check("setParameterValues without a type -> 200", r.status_code == 200, r.text)
        r = await c.post(f"/devices/{enc}/tasks?timeout=3000&connection_request",
                         content=q({"name": "refreshObject", "objectName": f"{IGD}.WANDevice.1.WANConnectionDevice"}))
        check("refreshObject of a subtree -> 200", r.status_code == 200, r.text)
        r = await c.post(f"/devices/{enc}/tasks?timeout=3000&connection_request",
                         content=q({"name": "addObject", "objectName": f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANPPPConnection"}))
        check("addObject -> 200", r.status_code == 200, r.text)

        # tasks: show pending, a faulty task, retry, delete; faults
        r = await c.post(f"/devices/{enc}/tasks", content=q({"name": "setParameterValues", "parameterValues": [[f"{IGD}.DeviceInfo.SoftwareVersion", "x", "xsd:string"]]}))
        task_id = r.json().get("_id")
        check("task without connection_request is queued -> 202", r.status_code == 202 and task_id, r.text)
        r = await c.get("/tasks/", params={"query": q({"device": device})})
        check("show pending tasks for a device", r.status_code == 200 and task_id in [t["_id"] for t in r.json()], r.text[:200])
        await c.post(f"/devices/{enc}/tasks?timeout=5000&connection_request", content=q({"name": "getParameterValues", "parameterNames": [ssid]}))
        fault_id = f"{device}:task_{task_id}"
        faults = []
        for _ in range(50):
            faults = (await c.get("/faults/", params={"query": q({"device": device})})).json()
            if any(f["_id"] == fault_id for f in faults):
                break
            await asyncio.sleep(0.1)
        check("a failed task leaves a fault <device>:task_<id> (setting a read-only parameter)", any(f["_id"] == fault_id for f in faults), faults)
        r = await c.post(f"/tasks/{task_id}/retry")
        check("POST /tasks/<id>/retry -> 200", r.status_code == 200, r.text)
        r = await c.delete(f"/tasks/{task_id}")
        check("DELETE /tasks/<id> -> 200", r.status_code == 200, r.text)
        r = await c.delete(f"/faults/{quote(fault_id, safe='')}")
        check("DELETE /faults/<id> -> 200 or 404 when retry already cleared it", r.status_code in (200, 404), r.text)

        # tags
        r = await c.post(f"/devices/{enc}/tags/testing")
        check("assign tag 'testing' -> 200", r.status_code == 200, r.text)
        r = await c.get("/devices/", params={"query": q({"_tags": "testing"}), "projection": "_id"})
        check("find devices by tag", r.status_code == 200 and r.json() == [{"_id": device}], r.text)
        r = await c.delete(f"/devices/{enc}/tags/testing")
        check("remove tag -> 200", r.status_code == 200, r.text)

        # presets
        preset = {"weight": 0, "precondition": q({"_tags": "test"}), "configurations": [
            {"type": "value", "name": f"{IGD}.ManagementServer.PeriodicInformEnable", "value": "true"},
            {"type": "value", "name": f"{IGD}.ManagementServer.PeriodicInformInterval", "value": "300"}]}
        r = await c.put("/presets/inform", content=q(preset))
        check("PUT /presets/inform -> 200", r.status_code == 200, r.text)
        r = await c.get("/presets/", params={"query": q({"_id": "inform"})})
        check("GET /presets/?query by _id", r.status_code == 200 and [p["_id"] for p in r.json()] == ["inform"], r.text)
        r = await c.delete("/presets/inform")
        check("DELETE /presets/inform -> 200", r.status_code == 200, r.text)

        # files, download
        r = await c.put("/files/new_firmware_v1.0.bin", content=b"\x00firmware" * 1000,
                        headers={"fileType": "1 Firmware Upgrade Image", "oui": oui, "productClass": product_class, "version": "1.0"})
        check("PUT /files/<name> with metadata headers -> 200/201", r.status_code in (200, 201), r.text)
        r = await c.get("/files/", params={"query": q({"filename": "new_firmware_v1.0.bin"})})
        files = r.json() if r.status_code == 200 else []
        check("GET /files/?query={filename}", len(files) == 1 and files[0].get("metadata", {}).get("version") == "1.0", files)
        r = await c.post(f"/devices/{enc}/tasks?timeout=20000&connection_request", content=q({"name": "download", "file": "new_firmware_v1.0.bin"}))
        check("download task ('file' as in the example) -> 200 once TransferComplete arrives", r.status_code == 200, r.text)
        r = await c.delete("/files/new_firmware_v1.0.bin")
        check("DELETE /files/<name> -> 200", r.status_code == 200, r.text)

        # device ids with escaped characters
        if device_with_dash:
            r = await c.get("/devices/", params={"query": q({"_id": device_with_dash})})
            check("an id with %2D is found by its _id", [d["_id"] for d in r.json()] == [device_with_dash], r.text[:200])
            r = await c.post(f"/devices/{quote(device_with_dash, safe='')}/tasks?timeout=3000&connection_request",
                             content=q({"name": "getParameterValues", "parameterNames": [ssid]}))
            check("task on an id sent as %252D in the URL -> 200", r.status_code == 200, r.text)

        # reboot, factory reset
        r = await c.post(f"/devices/{enc}/tasks?timeout=3000&connection_request", content=q({"name": "reboot"}))
        check("reboot -> 200", r.status_code == 200, r.text)
        await asyncio.sleep(2)
        r = await c.post(f"/devices/{enc}/tasks?timeout=5000&connection_request", content=q({"name": "factoryReset"}))
        check("factoryReset -> 200", r.status_code == 200, r.text)

        # delete the device; it registers again at its next contact
        await asyncio.sleep(2)
        r = await c.delete(f"/devices/{enc}")
        check("DELETE /devices/<id> -> 200", r.status_code == 200, r.text)
        r = await c.get("/devices/", params={"query": q({"_id": device})})
        check("the deleted device is gone", r.json() == [], r.text[:200])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nbi", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--device", required=True)
    ap.add_argument("--device-with-dash")
    ap.add_argument("--mac", help="the device's WANIPConnection.1.MACAddress (default: read through the NBI)")
    a = ap.parse_args()
    checks = asyncio.run(run(a.nbi, a.token, a.device, a.device_with_dash, a.mac))
    for ch in checks:
        print(f"{'ok  ' if ch.ok else 'FAIL'} {ch.example}{'' if ch.ok else '  ' + ch.detail}")
    return 0 if all(ch.ok for ch in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
