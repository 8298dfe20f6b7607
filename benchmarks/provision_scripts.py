"""Scheduler CPU per session for presets that run three typical GenieACS scripts (inform,
default, a Wi-Fi name from the serial number) against the same work written as native
declarations. In process, on one core: the provisioning run's own CPU time (process_time around
the scheduler's calls; the simulated CPE's answers are not counted). Target: scripts cost at
most 2x the native declarations.

    .venv/bin/python -m benchmarks.provision_scripts [--short]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from acs_devstack import shared
from cpe_simulator import DataModel
from cpe_simulator.device import Device
from cwmp import messages as m
from cwmp.events import EventCode
from task_scheduler.device_record import inform_update
from task_scheduler.provisioning import Provisioner, ProvisioningSettings

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "services" / "task-scheduler" / "tests" / "genieacs_scripts"
IGD_DUMP = shared.shared_path(shared.IGD_DUMP)
SSID1 = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
TARGET_RATIO = 2.0

SSID_SCRIPT = f"""const serial = declare("DeviceID.SerialNumber", {{value: 1}}).value[0];
declare("{SSID1}", {{value: Date.now(3600000)}}, {{value: args[0] + serial}});
"""


def _script_presets() -> tuple[list[dict], dict[str, str]]:
    presets = [{"_id": name, "channel": name, "configurations": [{"type": "provision", "name": name, **extra}]}
               for name, extra in (("default", {}), ("inform", {}), ("ssid", {"args": ["net-"]}))]
    sources = {n: (SCRIPTS / f"{n}.js").read_text() for n in ("default", "inform")}
    sources["ssid"] = SSID_SCRIPT
    return presets, sources


def _native_presets(device_id: str, serial: str) -> list[dict]:
    """The same desired state as native declarations (refresh ages for the Date.now intervals)."""
    igd = "InternetGatewayDevice"
    hourly = [f"{igd}.DeviceInfo.HardwareVersion", f"{igd}.DeviceInfo.SoftwareVersion",
              f"{igd}.WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.MACAddress",
              f"{igd}.WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.ExternalIPAddress",
              f"{igd}.LANDevice.*.WLANConfiguration.*.SSID", f"{igd}.LANDevice.*.Hosts.Host.*.HostName",
              f"{igd}.LANDevice.*.Hosts.Host.*.IPAddress", f"{igd}.LANDevice.*.Hosts.Host.*.MACAddress",
              "Device.DeviceInfo.HardwareVersion", "Device.DeviceInfo.SoftwareVersion", "Device.WiFi.SSID.*.SSID",
              "Device.Hosts.Host.*.HostName", "Device.Hosts.Host.*.IPAddress", "Device.Hosts.Host.*.PhysAddress"]
    default = [{"path": p, "refresh": 3600} for p in hourly]
    default.append({"path": f"{igd}.LANDevice.*.WLANConfiguration.*.KeyPassphrase", "refresh": 3600})
    inform = []
    for root in (igd, "Device"):
        ms = f"{root}.ManagementServer."
        inform += [{"path": ms + "ConnectionRequestUsername", "value": device_id, "refresh": 86400},
                   {"path": ms + "ConnectionRequestPassword", "value": "pw-fixed-1234", "refresh": 86400},
                   {"path": ms + "PeriodicInformEnable", "value": True, "refresh": 86400},
                   {"path": ms + "PeriodicInformInterval", "value": 300, "refresh": 86400},
                   {"path": ms + "PeriodicInformTime", "value": "1970-01-01T05:00:00Z", "type": "xsd:dateTime", "refresh": 86400}]
    ssid = [{"path": SSID1, "value": "net-" + serial, "refresh": 3600}]
    return [{"_id": "default", "channel": "default", "declarations": default},
            {"_id": "inform", "channel": "inform", "declarations": inform},
            {"_id": "ssid", "channel": "ssid", "declarations": ssid}]


def _apply(doc: dict, sets: dict[str, Any], unsets: list[str] = ()) -> None:
    for u in unsets:
        *parents, last = u.split(".")
        node: Any = doc
        for seg in parents:
            node = node.get(seg) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    for path, value in sets.items():
        *parents, last = path.split(".")
        node = doc
        for seg in parents:
            node = node.setdefault(seg, {})
        node[last] = value


class _Clock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.t


def _session(p: Provisioner, dev: Device, doc: dict, events: list[str], device_id: str) -> tuple[float, int, dict]:
    """One session: the scheduler's CPU seconds, the RPC count, the stored document after it."""
    for e in events:
        dev.add_event(EventCode(e))
    msg = dev.build_inform()
    dev.inform_delivered(msg.events)
    update, unsets = inform_update(msg, source_ip="127.0.0.1", cwmp_ns="urn:dslforum-org:cwmp-1-2", cwmp_version="1.2",
                                   ts=p.now())
    if not doc:
        doc = {"_id": device_id}
        _apply(doc, update.get("$setOnInsert", {}))
    _apply(doc, update["$set"], unsets)
    stored = copy.deepcopy(doc)  # what the store returns; not the scheduler's CPU
    codes = [str(e.event_code) for e in msg.events]
    cpu = 0.0
    t0 = time.process_time()
    run = p.session(device_id, doc, codes) if p.wants(device_id, codes) else None
    nxt = run.start() if run is not None else None
    cpu += time.process_time() - t0
    rpcs = 0
    while nxt is not None:
        rpcs += 1
        answer = dev.handle(nxt)
        t0 = time.process_time()
        nxt = run.fault(answer) if isinstance(answer, m.Fault) else run.feed(answer)  # type: ignore[union-attr]
        cpu += time.process_time() - t0
    if run is not None:
        _apply(stored, run.outcome.sets, run.outcome.unsets)
    return cpu, rpcs, stored


class _Side:
    """One way of writing the presets (native or scripts), with its device and clock."""

    def __init__(self, kind: str, model: DataModel, device_id: str, serial: str) -> None:
        self.clock = _Clock()
        self.p = Provisioner(ProvisioningSettings(bootstrap_defaults=False), now=self.clock)
        if kind == "scripts":
            presets, sources = _script_presets()
            self.p.load(presets)
            self.p.scripts.load([{"_id": k, "script": v} for k, v in sources.items()], [])
        else:
            self.p.load(_native_presets(device_id, serial))
        self.model, self.device_id, self.serial = model, device_id, serial
        self.dev = Device(model, serial=serial)
        self.doc: dict = {}
        self.cpu: dict[str, list[float]] = {"first_contact": [], "periodic": [], "hourly_refresh": []}
        self.rpcs: dict[str, int] = {}

    def session(self, what: str) -> None:
        if what == "first_contact":
            self.dev, self.doc = Device(self.model, serial=self.serial), {}
            events = ["0 BOOTSTRAP", "1 BOOT"]
        else:
            self.clock.t += timedelta(hours=1, seconds=1) if what == "hourly_refresh" else timedelta(seconds=1)
            events = ["2 PERIODIC"]
        cpu, rpcs, self.doc = _session(self.p, self.dev, self.doc, events, self.device_id)
        self.cpu[what].append(cpu)
        self.rpcs[what] = rpcs


def measure(model: DataModel, sessions: int) -> dict[str, Any]:
    """Native and script sessions interleaved one for one, so a machine's changing load weighs on
    both alike; medians of each kind of session."""
    serial = "BENCH0001"
    device_id = f"{model.identity.oui}-{model.identity.product_class}-{serial}"
    sides = {kind: _Side(kind, model, device_id, serial) for kind in ("native", "scripts")}
    for side in sides.values():  # warm up (a running scheduler has its sandboxes and caches): not counted
        side.session("first_contact")
        side.session("periodic")
        side.cpu = {what: [] for what in side.cpu}
    plan = ["first_contact"] * max(1, sessions // 10)
    for _ in range(max(1, sessions // 10)):
        plan += ["periodic"] * 10 + ["hourly_refresh"]
    for what in plan:
        for side in sides.values():
            side.session(what)
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    out: dict[str, Any] = {}
    for kind, side in sides.items():
        for what, xs in side.cpu.items():
            out[f"{kind}_{what}_cpu_ms"] = round(med(xs) * 1000, 3)
            out[f"{kind}_{what}_rpcs"] = side.rpcs[what]
    for what in ("first_contact", "periodic", "hourly_refresh"):
        out[f"{what}_ratio"] = round(out[f"scripts_{what}_cpu_ms"] / out[f"native_{what}_cpu_ms"], 2)
    out["sessions"] = len(plan)
    return out


def figures(short: bool) -> dict[str, Any]:
    model = DataModel.load_or_default(IGD_DUMP)
    result = measure(model, 60 if short else 300)
    result["datamodel"] = model.source
    result["ratio"] = max(result["first_contact_ratio"], result["periodic_ratio"], result["hourly_refresh_ratio"])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(prog="benchmarks.provision_scripts")
    ap.add_argument("--short", action="store_true")
    args = ap.parse_args()
    result = figures(args.short)
    print(json.dumps(result, indent=2, default=str))
    verdict = "met" if result["ratio"] <= TARGET_RATIO else "NOT met"
    print(f"scripts / native scheduler CPU per session: {result['ratio']}x (target <= {TARGET_RATIO}x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
