"""The operator console in a real browser: Debian's Chromium driven by Playwright (ui/e2e/*.spec.ts)
against a stack started here (Apache Kafka, SecantusDB, gateway, scheduler, inventory serving the
built console) with simulated CPEs, and tokens for an admin, an operator and a readonly user.

The specs write screenshots of each page to docs/ui/. ``UI_E2E_SPECS`` (space-separated spec
files, e.g. ``devices.spec.ts``) runs only those.

The telemetry service is not part of this stack: the monitoring spec's KPI history, alarm rule
and alarms are written into MongoDB here by the telemetry writer's own functions (bucket
upserts, down-sampling, the NBI's rule validation, alarm transitions), so they have exactly the
stored shapes.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from acs_contracts.device_id import make_device_id
from acs_devstack.polling import eventually
from acs_devstack.servers import mongo_uri
from acs_devstack.stack import Stack
from cpe_simulator import DataModel, SimulatedCpe
from inventory.alarms import validate_rule
from telemetry.alarms import Rule, Transition
from telemetry.buckets import bucket_updates, downsample_op, hour_of
from telemetry.writer import alarm_ops

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SERIALS = ["UI-E2E-0001", "UI0002", "UI0003", "UI0004"]
PLAYWRIGHT_TIMEOUT_S = 1200


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (tools/install-system-packages.sh installs Debian's chromium)"
    if shutil.which("node") is None or shutil.which("npx") is None:
        return "node/npx are missing: the console's Playwright specs run on Node.js"
    if not (UI / "node_modules" / "@playwright" / "test").is_dir():
        return "ui/node_modules is missing: run `make ui` (npm ci and the build) first"
    return None


def _ensure_build() -> Path:
    """The built console; built here when absent (make test builds it first)."""
    dist = UI / "dist"
    if not (dist / "index.html").is_file():
        subprocess.run(["npm", "run", "build"], cwd=UI, check=True, capture_output=True, timeout=600)
    return dist


@pytest.fixture(scope="module")
def console_stack():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    dist = _ensure_build()
    tokens = {"operator": secrets.token_hex(12), "readonly": secrets.token_hex(12)}
    st = Stack(partitions=2)
    st.inventory_env = {
        "NBI_TOKENS": f"{st.nbi_token}:admin,{tokens['operator']}:operator,{tokens['readonly']}:readonly",
        "CONSOLE_DIST": str(dist),
    }
    st.start_servers()
    try:
        st.add_inventory()
        st.add_scheduler()
        st.add_gateway()
        yield st, {"admin": st.nbi_token, **tokens}
    finally:
        st.stop()


MODEL = DataModel.default()  # the simulator's built-in TR-098 gateway: no ../shared needed


def _device_id(serial: str) -> str:
    return make_device_id(MODEL.identity.oui, MODEL.identity.product_class, serial)


async def _start_cpes(st: Stack) -> list[SimulatedCpe]:
    """The CPEs, each with the connection-request credentials the bootstrap would store, all
    informed and idle."""
    model = MODEL
    cpes = []
    assert st.mongo is not None
    with MongoClient(mongo_uri(st.mongo.port)) as client:
        db = client.acs
        for serial in SERIALS:
            device = _device_id(serial)
            db.credentials.update_one({"_id": device}, {"$set": {"connectionRequest": {
                "username": serial, "password": f"cr-{serial}"}}}, upsert=True)
            cpe = SimulatedCpe(model, acs_url=st.cwmp_url(0), serial=serial, periodic_interval=60)
            await cpe.start()
            cpes.append(cpe)
        for serial in SERIALS:
            device = _device_id(serial)
            await eventually(lambda d=device: db.devices.find_one(
                {"_id": d, "InternetGatewayDevice.ManagementServer.ConnectionRequestURL._value": {"$exists": True}}),
                timeout=60, interval=0.2, what=f"{device}'s first inform")
    for cpe in cpes:
        await cpe.wait_idle()
    return cpes


KPI = "InternetGatewayDevice.DeviceInfo.ProcessStatus.CPUUsage"
ALARM_RULE = "ui-e2e-cpu-high"


def _seed_monitoring(st: Stack) -> dict[str, str]:
    """Ten hours of a CPU KPI for one device (the older ones down-sampled, as the writer leaves
    them), a threshold rule as the NBI stores it, the alarm it raised on that device, and one
    it raised and cleared on another; what the monitoring spec looks for (MONITORING, JSON)."""
    device, other = _device_id(SERIALS[2]), _device_id(SERIALS[1])
    now = time.time()
    start = now - 10 * 3600
    rows = [(device, KPI, t, round(55 + 35 * math.sin(i / 9), 1)) for i, t in enumerate(range(int(start), int(now) - 60, 300))]
    rows.append((device, KPI, now - 30, 93.0))
    rule_doc = validate_rule(ALARM_RULE, {"kind": "threshold", "parameter": KPI, "op": ">", "value": 90, "clearValue": 70,
                                          "severity": "critical", "description": "console end-to-end"})
    rule = Rule.from_doc(rule_doc)
    transitions = [
        Transition(device, rule, "raised", now - 30, KPI, 93.0, f"{KPI} = 93.0 (> 90)"),
        Transition(other, rule, "raised", now - 7200, KPI, 91.5, f"{KPI} = 91.5 (> 90)"),
        Transition(other, rule, "cleared", now - 3600, KPI, 40.0, f"{KPI} = 40.0 (> 90)"),
    ]
    assert st.mongo is not None
    with MongoClient(mongo_uri(st.mongo.port), tz_aware=True) as client:
        db = client.acs
        db.metrics_history.bulk_write(bucket_updates(rows, timedelta(days=30)))
        old = list(db.metrics_history.find({"device": device, "hour": {"$lt": hour_of(now - 4 * 3600)}}))
        assert old, "no bucket old enough to down-sample"
        db.metrics_history.bulk_write([downsample_op(doc) for doc in old])
        db.alarm_rules.replace_one({"_id": ALARM_RULE}, rule_doc, upsert=True)
        for tr in transitions:  # in order: the cleared one must find its raised alarm
            db.alarms.bulk_write(alarm_ops([tr]))
    return {"device": device, "serial": SERIALS[2], "parameter": KPI, "rule": ALARM_RULE,
            "alarm": f"{device}:{ALARM_RULE}", "cleared": f"{other}:{ALARM_RULE}"}


@pytest.mark.timeout(PLAYWRIGHT_TIMEOUT_S + 300)
async def test_console_specs_pass_in_chromium(console_stack, tmp_path):
    st, tokens = console_stack
    async with httpx.AsyncClient(timeout=10) as c:  # the console answers, the NBI under /api too
        assert (await c.get(f"{st.console_url}/devices")).status_code == 200
        r = await c.get(f"{st.console_url}/api/whoami", headers={"Authorization": f"Bearer {tokens['readonly']}"})
        assert r.json()["role"] == "readonly"
    cpes = await _start_cpes(st)
    monitoring = _seed_monitoring(st)
    model = MODEL
    try:
        report = tmp_path / "report.json"
        env = {
            **os.environ,
            "CONSOLE_URL": st.console_url,
            "NBI_URL": st.nbi_url,
            "ADMIN_TOKEN": tokens["admin"],
            "OPERATOR_TOKEN": tokens["operator"],
            "READONLY_TOKEN": tokens["readonly"],
            "DEVICES": json.dumps([{"id": _device_id(s), "serial": s, "oui": model.identity.oui,
                                    "productClass": model.identity.product_class} for s in SERIALS]),
            "MONITORING": json.dumps(monitoring),
            "CHROMIUM": str(CHROMIUM),
            "E2E_REPORT": str(report),
            "E2E_OUTPUT": str(tmp_path / "results"),
        }
        specs = os.environ.get("UI_E2E_SPECS", "").split()
        proc = await asyncio.create_subprocess_exec(
            "npx", "playwright", "test", "-c", "e2e/playwright.config.ts", *specs,
            cwd=UI, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), PLAYWRIGHT_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            pytest.fail(f"the Playwright run took over {PLAYWRIGHT_TIMEOUT_S} s")
        text = out.decode(errors="replace")
        sys.stdout.write(text[-20000:])
        assert proc.returncode == 0, text[-8000:]
        stats = json.loads(report.read_text())["stats"]
        assert stats["expected"] > 0 and stats["unexpected"] == 0, stats
    finally:
        for cpe in cpes:
            await cpe.stop()
