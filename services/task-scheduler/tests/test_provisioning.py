"""The declarative engine against a simulated device (real data models, real RPC behaviour)."""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import pytest

from cwmp import messages as m
from task_scheduler.provisioning import Provisioner, ProvisioningSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_provisioning_support import IGD_MODEL, TR181_MODEL, device, drive, inform, store  # noqa: E402

SSID = "InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.SSID"
WANIP = "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection"


def provisioner(presets: list[dict], **settings) -> Provisioner:
    p = Provisioner(ProvisioningSettings(**settings))
    p.load(presets)
    return p


def session(p: Provisioner, dev, events: list[str], stored: dict | None = None):
    """One session: Inform, the presets' RPCs; the run, its RPCs and the stored document after it."""
    doc, codes = inform(dev, events, copy.deepcopy(stored) if stored is not None else None)
    before = copy.deepcopy(doc)
    run = p.session("dev", doc, codes) if p.wants("dev", codes) else None
    rpcs = drive(run, dev) if run is not None else []
    return run, rpcs, (store(before, run) if run is not None else before)


def test_bootstrap_defaults_take_one_read_and_one_set_on_tr098():
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(provisioner([]), dev, ["0 BOOTSTRAP", "1 BOOT"])
    assert rpcs == ["GetParameterValues", "SetParameterValues"]
    ms = "InternetGatewayDevice.ManagementServer."
    assert dev.value(ms + "PeriodicInformEnable").value is True
    assert dev.value(ms + "PeriodicInformInterval").value == 300
    user, password = dev.value(ms + "ConnectionRequestUsername").value, dev.value(ms + "ConnectionRequestPassword").value
    assert run.outcome.credentials == {"connectionRequest": {"username": user, "password": password}}
    assert len(password) >= 16
    assert "_value" not in doc["InternetGatewayDevice"]["ManagementServer"].get("ConnectionRequestPassword", {})  # secret stays out
    assert doc["InternetGatewayDevice"]["DeviceInfo"]["UpTime"]["_type"] == "xsd:unsignedInt"
    assert doc["VirtualParameters"]["WanIp"]["_value"] == dev.value(
        "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress").value
    assert doc["VirtualParameters"]["SoftwareVersion"]["_value"] == "V100R001IRQC56B017"
    assert run.outcome.faults == []


def test_bootstrap_defaults_on_tr181_and_switch_off():
    dev = device(TR181_MODEL)
    run, rpcs, doc = session(provisioner([], periodic_inform_interval_s=900), dev, ["0 BOOTSTRAP", "1 BOOT"])
    assert rpcs == ["GetParameterValues", "SetParameterValues"]
    assert dev.value("Device.ManagementServer.PeriodicInformInterval").value == 900
    assert "InternetGatewayDevice" not in doc and run.outcome.faults == []
    assert provisioner([], bootstrap_defaults=False).wants("dev", ["0 BOOTSTRAP", "1 BOOT"]) is False


def test_wildcard_preset_then_no_rpc_then_a_change_costs_one_set():
    preset = {"_id": "wifi", "events": {"2 PERIODIC": True}, "declarations": [{"path": SSID, "value": "acs-1"}]}
    p = provisioner([preset], bootstrap_defaults=False)
    dev = device(IGD_MODEL)
    assert p.wants("dev", ["1 BOOT"]) is False  # not triggered: no document read at all
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues", "SetParameterValues"]  # the whole LANDevice table in one read
    ssids = [k for k in doc["InternetGatewayDevice"]["LANDevice"]["1"]["WLANConfiguration"] if k.isdigit()]
    assert ssids and all(dev.value(f"InternetGatewayDevice.LANDevice.1.WLANConfiguration.{i}.SSID").value == "acs-1" for i in ssids)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == []
    p.load([{**preset, "declarations": [{"path": SSID, "value": "acs-2"}]}])
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == ["SetParameterValues"]
    assert [c["previous"] for c in run.outcome.changes] == ["acs-1"] * len(ssids)


def test_alias_instances_are_created_keyed_and_counted():
    decl = {"path": f"{WANIP}.[AddressingType:Static]", "instances": 1}
    value = {"path": f"{WANIP}.[AddressingType:Static].Enable", "value": False}
    p = provisioner([{"_id": "static", "declarations": [decl, value]}], bootstrap_defaults=False)
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues", "AddObject", "SetParameterValues"]
    assert run.outcome.faults == []
    table = doc["InternetGatewayDevice"]["WANDevice"]["1"]["WANConnectionDevice"]["1"]["WANIPConnection"]
    inst = max(int(k) for k in table if k.isdigit())
    assert inst > 1
    assert dev.value(f"{WANIP}.{inst}.AddressingType").value == "Static"
    assert dev.value(f"{WANIP}.{inst}.Enable").value is False
    assert dev.value(f"{WANIP}.1.AddressingType").value == "DHCP"  # the DHCP one is left alone
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == []
    p.load([{"_id": "static", "declarations": [{"path": f"{WANIP}.[AddressingType:Static]", "instances": 0}]}])
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == ["DeleteObject"]
    table = doc["InternetGatewayDevice"]["WANDevice"]["1"]["WANConnectionDevice"]["1"]["WANIPConnection"]
    assert str(inst) not in table and "1" in table


def test_refresh_age_reads_only_what_is_stale():
    p = provisioner([{"_id": "fresh", "declarations": [
        {"path": "InternetGatewayDevice.DeviceInfo.SoftwareVersion", "refresh": 3600},  # came with the Inform
        {"path": "InternetGatewayDevice.DeviceInfo.UpTime", "refresh": 0},
    ]}], bootstrap_defaults=False, gpv_batch_size=1)
    run, rpcs, doc = session(p, device(), ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues"]
    assert run.outcome.sets["InternetGatewayDevice.DeviceInfo.UpTime._type"] == "xsd:unsignedInt"


def test_batches_follow_the_configured_size():
    known = ["DeviceInfo.HardwareVersion", "DeviceInfo.SoftwareVersion", "ManagementServer.ConnectionRequestURL",
             "ManagementServer.ParameterKey", "WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"]
    decls = [{"path": f"InternetGatewayDevice.{p}", "refresh": 0} for p in known]  # all came with the Inform
    p = provisioner([{"_id": "many", "declarations": decls}], bootstrap_defaults=False, gpv_batch_size=2)
    run, rpcs, doc = session(p, device(), ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues"] * 3


def test_missing_parameters_are_found_and_skipped():
    p = provisioner([{"_id": "x", "declarations": [
        {"path": "InternetGatewayDevice.DeviceInfo.UpTime", "refresh": 0},
        {"path": "InternetGatewayDevice.DeviceInfo.X_NoSuchThing", "refresh": 0},  # its object is read whole
        {"path": "InternetGatewayDevice.X_NoSuchObject.Thing", "value": "v", "refresh": 0},
    ]}], bootstrap_defaults=False)
    run, rpcs, doc = session(p, device(), ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues"] * 3  # the batch faults; each name alone finds the culprit
    assert "UpTime" in doc["InternetGatewayDevice"]["DeviceInfo"] and run.outcome.faults == []
    assert "X_NoSuchObject" not in doc["InternetGatewayDevice"]


def test_precondition_tags_and_weights():
    presets = [
        {"_id": "low", "weight": 0, "precondition": '{"_tags": "lab"}', "declarations": [{"path": SSID, "value": "low"}]},
        {"_id": "high", "weight": 10, "precondition": {"VirtualParameters.SoftwareVersion": {"$regex": "^V100"}},
         "declarations": [{"path": SSID, "value": "high"}], "configurations": [{"type": "add_tag", "tag": "provisioned"}]},
        {"_id": "other", "precondition": {"_deviceId._OUI": "000000"}, "declarations": [{"path": SSID, "value": "no"}]},
    ]
    p = provisioner(presets, bootstrap_defaults=False)
    dev = device()
    doc, codes = inform(dev, ["2 PERIODIC"])
    doc["_tags"] = ["lab"]
    run = p.session("dev", doc, codes)
    drive(run, dev)
    assert dev.value("InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID").value == "high"
    assert run.outcome.sets["_tags"] == ["lab", "provisioned"]


def test_provision_function_declares_and_a_broken_one_faults_only_its_channel(tmp_path):
    (tmp_path / "ssid_from_serial.py").write_text(
        "def provision(device, args):\n"
        "    serial = device.device_id.get('_SerialNumber')\n"
        f"    return [{{'path': '{SSID}', 'value': args[0] + serial}}]\n"
        "VIRTUAL_PARAMETERS = {'Lan': ['InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.IPInterface.1.IPInterfaceIPAddress']}\n")
    (tmp_path / "broken.py").write_text("def provision(device, args):\n    raise RuntimeError('boom')\n")
    (tmp_path / "slow.py").write_text("def provision(device, args):\n    while True:\n        pass\n")
    p = Provisioner(ProvisioningSettings(bootstrap_defaults=False, provisions_dir=str(tmp_path), function_timeout_s=0.2))
    p.functions.load()
    p.virtuals.update(p.functions.virtuals)
    p.load([
        {"_id": "fn", "channel": "wifi", "configurations": [{"type": "provision", "name": "ssid_from_serial", "args": ["net-"]}]},
        {"_id": "bad", "channel": "bad", "configurations": [{"type": "provision", "name": "broken"}]},
        {"_id": "slow", "channel": "slow", "configurations": [{"type": "provision", "name": "slow"}]},
    ])
    dev = device(serial="FN1")
    t0 = time.monotonic()
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert time.monotonic() - t0 < 5
    assert dev.value("InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID").value == "net-FN1"
    faults = {f["channel"]: f["code"] for f in run.outcome.faults}
    assert faults == {"bad": "provision_error", "slow": "timeout"}
    assert sorted(doc["_acs"]["provisioningFaults"]) == ["bad", "slow"]
    assert "Lan" in doc["VirtualParameters"]
    # the functions are fixed: the next session clears both faults
    p.functions.register("broken", lambda device, args: [])
    p.functions.register("slow", lambda device, args: None)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert run.outcome.cleared_faults == ["bad", "slow"] and doc["_acs"]["provisioningFaults"] == []


def test_functions_that_fight_hit_the_loop_limit():
    p = Provisioner(ProvisioningSettings(bootstrap_defaults=False, max_iterations=5))
    path = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
    p.functions.register("flip", lambda device, args: [{"path": path, "value": "b" if device.get(path) == "a" else "a"}])
    p.load([{"_id": "flip", "configurations": [{"type": "provision", "name": "flip"}]}])
    run, rpcs, doc = session(p, device(), ["2 PERIODIC"])
    assert len(rpcs) <= 5
    assert [f["code"] for f in run.outcome.faults] == ["loop_limit"]


def test_set_fault_is_recorded_on_the_channel():
    p = provisioner([{"_id": "ro", "channel": "ro", "declarations": [
        {"path": "InternetGatewayDevice.DeviceInfo.Manufacturer", "value": "Nope", "refresh": 3600}]}], bootstrap_defaults=False)
    run, rpcs, doc = session(p, device(), ["2 PERIODIC"])
    assert rpcs[-1] == "SetParameterValues"
    assert run.outcome.faults[0]["channel"] == "ro" and run.outcome.faults[0]["code"].startswith("cwmp.90")


def test_wants_costs_nothing_without_a_triggered_preset():
    p = provisioner([{"_id": "boot", "events": {"1 BOOT": True}, "declarations": [{"path": SSID, "value": "x"}]}])
    assert p.wants("d", ["2 PERIODIC"]) is False
    assert p.wants("d", ["1 BOOT"]) is True
    p.load([{"_id": "all", "declarations": [{"path": SSID, "value": "x"}]}])  # no events: every session
    assert p.wants("d", ["2 PERIODIC"]) is True
    p.load([{"_id": "list", "events": ["6 CONNECTION REQUEST", "4 VALUE CHANGE"], "declarations": [{"path": SSID, "value": "x"}]}])
    assert p.wants("d", ["4 VALUE CHANGE"]) and not p.wants("d", ["2 PERIODIC"])
    p.load([{"_id": "seed", "events": "0 BOOTSTRAP, 1 BOOT", "declarations": [{"path": SSID, "value": "x"}]}])  # GenieACS seed form
    assert p.wants("d", ["0 BOOTSTRAP", "1 BOOT"]) and not p.wants("d", ["1 BOOT"])


@pytest.mark.parametrize("bad", [
    {"_id": "a", "declarations": [{"path": "Bad..Path", "value": 1}]},
    {"_id": "b", "precondition": '{"x": {"$where": "1"}}'},
    {"_id": "c", "declarations": [{"path": "A.B", "instances": 1}]},
    {"_id": "d", "schedule": "every day"},
    {"_id": "e", "declarations": [{"path": "A.B"}]},
])
def test_invalid_presets_are_rejected_and_the_rest_load(bad):
    p = provisioner([bad, {"_id": "ok", "declarations": [{"path": SSID, "value": "x"}]}])
    assert [x.name for x in p.presets] == ["ok"] and bad["_id"] in p.rejected


def test_a_driver_sees_faults_not_exceptions_for_a_wrong_answer():
    p = provisioner([{"_id": "x", "declarations": [{"path": "InternetGatewayDevice.DeviceInfo.UpTime", "refresh": 0}]}],
                    bootstrap_defaults=False)
    doc, codes = inform(device(), ["2 PERIODIC"])
    run = p.session("dev", doc, codes)
    assert isinstance(run.start(), m.GetParameterValues)
    with pytest.raises(ValueError):
        run.feed(m.SetParameterValuesResponse(status=0))


ALL_MODELS = sorted({*IGD_MODEL.parent.parent.glob("*/models/*.csv"), IGD_MODEL})

# GenieACS's seeded "default" and "inform" provisions after its "bootstrap" clear, as declarations:
# hourly refreshes of the summary, WAN, Wi-Fi and LAN host parameters, and daily-checked
# connection request credentials and periodic Inform settings for both roots.
GENIEACS_DEFAULTS = [{"path": f"InternetGatewayDevice.{p}", "refresh": 3600} for p in (
    "DeviceInfo.HardwareVersion", "DeviceInfo.SoftwareVersion",
    "WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.MACAddress",
    "WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.ExternalIPAddress",
    "LANDevice.*.WLANConfiguration.*.SSID", "LANDevice.*.WLANConfiguration.*.KeyPassphrase",
    "LANDevice.*.Hosts.Host.*.HostName", "LANDevice.*.Hosts.Host.*.IPAddress", "LANDevice.*.Hosts.Host.*.MACAddress")] + [
    {"path": f"{root}.ManagementServer.{leaf}", "value": value, "refresh": 86400}
    for root in ("InternetGatewayDevice", "Device")
    for leaf, value in (("ConnectionRequestUsername", "dev"), ("ConnectionRequestPassword", "secret"),
                        ("PeriodicInformEnable", True), ("PeriodicInformInterval", 300))]


@pytest.mark.parametrize("path", ALL_MODELS, ids=lambda p: p.stem[:40])
def test_bootstrap_takes_two_rpcs_on_every_data_model(path):
    """The figures of docs/provisioning.md: built-in defaults, and GenieACS's default desired state."""
    dev = device(path)
    run, rpcs, doc = session(provisioner([]), dev, ["0 BOOTSTRAP", "1 BOOT"])
    assert rpcs == ["GetParameterValues", "SetParameterValues"] and run.outcome.faults == []
    assert run.outcome.credentials is not None and doc["VirtualParameters"]["SoftwareVersion"]["_value"]
    dev = device(path)
    run, rpcs, doc = session(provisioner([{"_id": "genieacs", "declarations": GENIEACS_DEFAULTS}], bootstrap_defaults=False),
                             dev, ["0 BOOTSTRAP", "1 BOOT"])
    assert rpcs == ["GetParameterValues", "SetParameterValues"] and run.outcome.faults == []
