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


SSID = f"{IGD}.LANDevice.1.WLANConfiguration.1.SSID"
MAC_PATH = f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.MACAddress"


def _ids(r: httpx.Response) -> list[str]:
    return [d["_id"] for d in r.json()]


@dataclass
class _Examples:
    """The documentation's examples in its order, each section against one device, every answer
    checked into ``out``."""

    c: httpx.AsyncClient
    device: str
    device_with_dash: str | None
    mac: str | None
    out: list[Check]

    @property
    def enc(self) -> str:
        return quote(self.device, safe="")

    def check(self, example: str, cond: object, detail: object = "") -> None:
        self.out.append(Check(example, bool(cond), str(detail)[:300]))

    async def task(self, body: dict, query: str = "?timeout=3000&connection_request") -> httpx.Response:
        """POST /devices/<id>/tasks with ``query``."""
        return await self.c.post(f"/devices/{self.enc}/tasks{query}", content=q(body))

    async def find(self, query: dict, **params: str) -> httpx.Response:
        return await self.c.get("/devices/", params={"query": q(query), **params})

    async def refresh_all(self) -> None:
        """POST /devices/<id>/tasks?connection_request: refresh all device parameters now."""
        r = await self.task({"name": "refreshObject", "objectName": ""}, "?connection_request")
        self.check("refreshObject '' with connection_request -> 200 + task with _id", r.status_code == 200 and "_id" in r.json(), r.text)

    async def queries(self) -> None:
        """GET /devices/?query=... find by id, by MAC address, by last inform; a projection."""
        device = self.device
        r = await self.find({"_id": device})
        self.check("find a device by its ID", r.status_code == 200 and _ids(r) == [device], r.text[:200])
        mac: object = self.mac
        if mac is None:
            mac = await _value(self.c, device, MAC_PATH) or "20:2B:C1:E0:06:65"
        r = await self.find({MAC_PATH: mac})
        self.check("find a device by its MAC address", r.status_code == 200 and device in _ids(r), r.text[:200])
        r = await self.find({"_lastInform": {"$lt": "2017-12-11 13:16:23 +0000"}})
        self.check("devices with no inform since 2017-12-11 (none: it informed now)", r.status_code == 200 and device not in _ids(r), r.text[:200])
        r = await self.find({"_lastInform": {"$gt": "2017-12-11 13:16:23 +0000"}})
        self.check("devices that informed since 2017-12-11", r.status_code == 200 and device in _ids(r), r.text[:200])
        proj = f"{IGD}.DeviceInfo.ModelName,{IGD}.DeviceInfo.Manufacturer"
        r = await self.c.get("/devices", params={"query": q({"_id": device}), "projection": proj})
        doc = r.json()[0] if r.status_code == 200 and r.json() else {}
        self.check("projection returns only the listed parameters (and _id)",
                   set(doc) == {"_id", IGD} and set(doc.get(IGD, {})) == {"DeviceInfo"}
                   and set(doc[IGD]["DeviceInfo"]) <= {"ModelName", "Manufacturer"}, doc)

    async def set_and_get(self) -> None:
        """setParameterValues, getParameterValues with timeout; the values land in the document."""
        psk = f"{IGD}.LANDevice.1.WLANConfiguration.1.PreSharedKey.1.PreSharedKey"
        r = await self.task({"name": "setParameterValues", "parameterValues": [[SSID, "GenieACS", "xsd:string"], [psk, "hello world", "xsd:string"]]},
                            "?connection_request")
        self.check("change WiFi SSID and password -> 200", r.status_code == 200, r.text)
        names = [f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANIPConnectionNumberOfEntries", f"{IGD}.Time.NTPServer1"]
        r = await self.task({"name": "getParameterValues", "parameterNames": names})
        self.check("getParameterValues with timeout=3000 -> 200", r.status_code == 200, r.text)
        r = await self.find({"_id": self.device})
        d = r.json()[0] if r.status_code == 200 and r.json() else {}
        self.check("the values read are in the device document", _values_read(d), {k: v for k, v in d.items() if k != IGD} | {"igd": sorted(d.get(IGD, {}))})
        r = await self.task({"name": "setParameterValues", "parameterValues": [[f"{IGD}.Time.NTPServer1", "pool.ntp.org"]]})
        self.check("setParameterValues without a type -> 200", r.status_code == 200, r.text)
        r = await self.task({"name": "refreshObject", "objectName": f"{IGD}.WANDevice.1.WANConnectionDevice"})
        self.check("refreshObject of a subtree -> 200", r.status_code == 200, r.text)
        r = await self.task({"name": "addObject", "objectName": f"{IGD}.WANDevice.1.WANConnectionDevice.1.WANPPPConnection"})
        self.check("addObject -> 200", r.status_code == 200, r.text)

    async def tasks_and_faults(self) -> None:
        """Tasks: show pending, a faulty task, retry, delete; faults."""
        c, device = self.c, self.device
        r = await self.task({"name": "setParameterValues", "parameterValues": [[f"{IGD}.DeviceInfo.SoftwareVersion", "x", "xsd:string"]]}, "")
        task_id = r.json().get("_id")
        self.check("task without connection_request is queued -> 202", r.status_code == 202 and task_id, r.text)
        r = await c.get("/tasks/", params={"query": q({"device": device})})
        self.check("show pending tasks for a device", r.status_code == 200 and task_id in _ids(r), r.text[:200])
        await self.task({"name": "getParameterValues", "parameterNames": [SSID]}, "?timeout=5000&connection_request")
        fault_id = f"{device}:task_{task_id}"
        faults = await self._faults_until(fault_id)
        self.check("a failed task leaves a fault <device>:task_<id> (setting a read-only parameter)", any(f["_id"] == fault_id for f in faults), faults)
        r = await c.post(f"/tasks/{task_id}/retry")
        self.check("POST /tasks/<id>/retry -> 200", r.status_code == 200, r.text)
        r = await c.delete(f"/tasks/{task_id}")
        self.check("DELETE /tasks/<id> -> 200", r.status_code == 200, r.text)
        r = await c.delete(f"/faults/{quote(fault_id, safe='')}")
        self.check("DELETE /faults/<id> -> 200 or 404 when retry already cleared it", r.status_code in (200, 404), r.text)

    async def _faults_until(self, fault_id: str) -> list:
        """The device's faults once ``fault_id`` is among them (or after 50 tries, 0.1 s apart)."""
        faults = []
        for _ in range(50):
            faults = (await self.c.get("/faults/", params={"query": q({"device": self.device})})).json()
            if any(f["_id"] == fault_id for f in faults):
                break
            await asyncio.sleep(0.1)
        return faults

    async def tags(self) -> None:
        r = await self.c.post(f"/devices/{self.enc}/tags/testing")
        self.check("assign tag 'testing' -> 200", r.status_code == 200, r.text)
        r = await self.find({"_tags": "testing"}, projection="_id")
        self.check("find devices by tag", r.status_code == 200 and r.json() == [{"_id": self.device}], r.text)
        r = await self.c.delete(f"/devices/{self.enc}/tags/testing")
        self.check("remove tag -> 200", r.status_code == 200, r.text)

    async def presets(self) -> None:
        preset = {"weight": 0, "precondition": q({"_tags": "test"}), "configurations": [
            {"type": "value", "name": f"{IGD}.ManagementServer.PeriodicInformEnable", "value": "true"},
            {"type": "value", "name": f"{IGD}.ManagementServer.PeriodicInformInterval", "value": "300"}]}
        r = await self.c.put("/presets/inform", content=q(preset))
        self.check("PUT /presets/inform -> 200", r.status_code == 200, r.text)
        r = await self.c.get("/presets/", params={"query": q({"_id": "inform"})})
        self.check("GET /presets/?query by _id", r.status_code == 200 and _ids(r) == ["inform"], r.text)
        r = await self.c.delete("/presets/inform")
        self.check("DELETE /presets/inform -> 200", r.status_code == 200, r.text)

    async def files_and_download(self) -> None:
        """A file with the device's OUI and product class (from its id), downloaded by the device."""
        parts = [unquote(part) for part in self.device.split("-")]  # OUI-ProductClass-Serial (or OUI-Serial)
        oui, product_class = parts[0], parts[1] if len(parts) == 3 else ""
        r = await self.c.put("/files/new_firmware_v1.0.bin", content=b"\x00firmware" * 1000,
                             headers={"fileType": "1 Firmware Upgrade Image", "oui": oui, "productClass": product_class, "version": "1.0"})
        self.check("PUT /files/<name> with metadata headers -> 200/201", r.status_code in (200, 201), r.text)
        r = await self.c.get("/files/", params={"query": q({"filename": "new_firmware_v1.0.bin"})})
        files = r.json() if r.status_code == 200 else []
        self.check("GET /files/?query={filename}", len(files) == 1 and files[0].get("metadata", {}).get("version") == "1.0", files)
        r = await self.task({"name": "download", "file": "new_firmware_v1.0.bin"}, "?timeout=20000&connection_request")
        self.check("download task ('file' as in the example) -> 200 once TransferComplete arrives", r.status_code == 200, r.text)
        r = await self.c.delete("/files/new_firmware_v1.0.bin")
        self.check("DELETE /files/<name> -> 200", r.status_code == 200, r.text)

    async def escaped_ids(self) -> None:
        """Device ids with escaped characters (only with ``device_with_dash``)."""
        dashed = self.device_with_dash
        if not dashed:
            return
        r = await self.find({"_id": dashed})
        self.check("an id with %2D is found by its _id", _ids(r) == [dashed], r.text[:200])
        r = await self.c.post(f"/devices/{quote(dashed, safe='')}/tasks?timeout=3000&connection_request",
                              content=q({"name": "getParameterValues", "parameterNames": [SSID]}))
        self.check("task on an id sent as %252D in the URL -> 200", r.status_code == 200, r.text)

    async def reboot_and_reset(self) -> None:
        r = await self.task({"name": "reboot"})
        self.check("reboot -> 200", r.status_code == 200, r.text)
        await asyncio.sleep(2)
        r = await self.task({"name": "factoryReset"}, "?timeout=5000&connection_request")
        self.check("factoryReset -> 200", r.status_code == 200, r.text)

    async def delete_device(self) -> None:
        """Delete the device; it registers again at its next contact."""
        await asyncio.sleep(2)
        r = await self.c.delete(f"/devices/{self.enc}")
        self.check("DELETE /devices/<id> -> 200", r.status_code == 200, r.text)
        r = await self.find({"_id": self.device})
        self.check("the deleted device is gone", r.json() == [], r.text[:200])


def _values_read(d: dict) -> bool:
    """The SSID set and the NTP server read are in the device document ``d``."""
    try:
        return (d[IGD]["LANDevice"]["1"]["WLANConfiguration"]["1"]["SSID"]["_value"] == "GenieACS"
                and "_value" in d[IGD]["Time"]["NTPServer1"])
    except (KeyError, TypeError):
        return False


async def run(nbi: str, token: str, device: str, device_with_dash: str | None = None,
              mac: str | None = None) -> list[Check]:
    """``mac``: the WANIPConnection.1.MACAddress of ``device`` (default: read from its document)."""
    out: list[Check] = []
    async with httpx.AsyncClient(base_url=nbi, timeout=60, auth=httpx.BasicAuth("genieacs-client", token)) as c:
        ex = _Examples(c, device, device_with_dash, mac, out)
        for section in (ex.refresh_all, ex.queries, ex.set_and_get, ex.tasks_and_faults, ex.tags, ex.presets,
                        ex.files_and_download, ex.escaped_ids, ex.reboot_and_reset, ex.delete_device):
            await section()
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
