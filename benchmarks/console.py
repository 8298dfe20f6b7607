"""The operator console's Devices page with a large inventory: devices bulk-inserted into the
database (100k; ``--short`` 2k), then Debian's Chromium (Playwright) loads ``/devices`` and the
time until its first page of rows is on screen is measured, cold (nothing cached) and warm
(reloads), with the NBI call that page makes (``GET /devices/`` with the list projection, one
row more than a page) timed by the browser and from Python; then the same for a serial-number
search. Target: first page under 1 s.

SecantusDB (the database of the local stack) reads every matching document before it applies
a limit, so the unfiltered first page costs a scan of the whole collection there; MongoDB stops
at the limit. A search on an indexed field (the serial number, as a prefix range) matches few
documents and stays fast on both.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from acs_devstack.servers import mongo_uri
from acs_devstack.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "ui"
SCRIPT = UI / "bench" / "devices-first-page.mjs"
PAGE_ROWS = 25
PROJECTION = ("_id,_deviceId,_lastInform,_tags,InternetGatewayDevice.DeviceInfo.SoftwareVersion,"
              "Device.DeviceInfo.SoftwareVersion,InternetGatewayDevice.DeviceInfo.ModelName,Device.DeviceInfo.ModelName")


def _leaf(value: Any, xsd: str, ts: datetime) -> dict[str, Any]:
    return {"_value": value, "_type": xsd, "_timestamp": ts, "_writable": False, "_object": False}


def device_doc(i: int, now: datetime) -> dict[str, Any]:
    """A device as the scheduler stores one after its summary discovery (small, realistic)."""
    serial = f"BENCH{i:07d}"
    seen = now - timedelta(seconds=i % 3600)
    igd = {
        "_object": True,
        "DeviceInfo": {"_object": True, "SoftwareVersion": _leaf(f"FW-{i % 7}.0", "xsd:string", seen),
                       "ModelName": _leaf("Bench Gateway", "xsd:string", seen),
                       "UpTime": _leaf(i % 86400, "xsd:unsignedInt", seen)},
        "ManagementServer": {"_object": True, "PeriodicInformInterval": _leaf(300, "xsd:unsignedInt", seen)},
    }
    return {"_id": f"ACE5E1-BenchGW-{serial}", "_deviceId": {"_OUI": "ACE5E1", "_ProductClass": "BenchGW",
            "_SerialNumber": serial, "_Manufacturer": "Bench"}, "_registered": seen, "_lastInform": seen,
            "_tags": ["bench"] if i % 10 == 0 else [], "InternetGatewayDevice": igd}


def fill(st: Stack, devices: int, batch: int = 5000) -> float:
    """Inserts ``devices`` device documents; returns the seconds it took."""
    assert st.mongo is not None
    now = datetime.now(UTC)
    t0 = time.monotonic()
    with MongoClient(mongo_uri(st.mongo.port)) as client:
        coll = client.acs.devices
        for start in range(0, devices, batch):
            coll.insert_many([device_doc(i, now) for i in range(start, min(devices, start + batch))], ordered=False)
    return time.monotonic() - t0


def nbi_call_ms(st: Stack, runs: int = 10) -> float:
    """The Devices page's first call, from Python: median of ``runs``."""
    times = []
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {st.nbi_token}"}) as c:
        for _ in range(runs):
            t0 = time.perf_counter()
            r = c.get(f"{st.console_url}/api/devices/", params={"query": "{}", "projection": PROJECTION,
                                                               "limit": PAGE_ROWS + 1, "skip": 0})
            r.raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
            assert len(r.json()) == PAGE_ROWS + 1
    return round(statistics.median(times), 1)


def browser_ms(st: Stack, runs: int, path: str = "/devices") -> dict[str, Any]:
    out = subprocess.run(["node", str(SCRIPT), st.console_url, st.nbi_token, str(PAGE_ROWS), str(runs), path],
                         cwd=UI, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def figures(short: bool) -> dict[str, Any]:
    """Starts its own stack (database, broker, inventory with the console), fills it, measures."""
    if not (UI / "dist" / "index.html").is_file() or shutil.which("node") is None or not Path("/usr/bin/chromium").exists():
        return {"skipped": "needs the built console (make ui), node and /usr/bin/chromium"}
    devices = 2_000 if short else 100_000
    st = Stack(partitions=1).start_servers()
    try:
        st.add_inventory()
        insert_s = fill(st, devices)
        api = nbi_call_ms(st)
        page = browser_ms(st, 3 if short else 7)
        # a serial-number search (a prefix matching 100 devices), as an operator finds one device
        search = browser_ms(st, 3 if short else 7, "/devices?serial=BENCH00010")
    finally:
        st.stop()
    return {"devices": devices, "insert_s": round(insert_s, 1), "nbi_first_page_ms": api,
            "first_page_cold_ms": page["cold_ms"], "first_page_ms": page["warm_median_ms"],
            "first_page_max_ms": page["warm_max_ms"], "browser_api_ms": page["api_median_ms"],
            "serial_search_first_page_ms": search["warm_median_ms"], "serial_search_api_ms": search["api_median_ms"]}


if __name__ == "__main__":
    import sys

    print(json.dumps(figures("--short" in sys.argv), indent=2))
