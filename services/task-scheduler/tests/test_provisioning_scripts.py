"""GenieACS provision scripts run by presets against a simulated device: the RPCs GenieACS's
documented replay model calls for (read what is stale, then one set of what differs, nothing
once the device is right), with the engine's batching (a table read in one GetParameterValues of
its partial path where GenieACS would first send GetParameterNames)."""

from __future__ import annotations

import copy
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from provision_scripts import ScriptRunner

from task_scheduler.provisioning import Provisioner, ProvisioningSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_provisioning_support import IGD_MODEL, TR181_MODEL, device, drive, inform, store  # noqa: E402

STOCK = Path(__file__).resolve().parent / "genieacs_scripts"
SSID1 = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
WANIP = "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection"
MS = "InternetGatewayDevice.ManagementServer."

# GenieACS's stock presets: bootstrap on first contact, default every session, inform at boot
STOCK_PRESETS = [
    {"_id": "bootstrap", "channel": "bootstrap", "weight": 0, "events": {"0 BOOTSTRAP": True}, "precondition": "",
     "configurations": [{"type": "provision", "name": "bootstrap"}]},
    {"_id": "default", "channel": "default", "weight": 0, "events": {}, "precondition": "",
     "configurations": [{"type": "provision", "name": "default"}]},
    {"_id": "inform", "channel": "inform", "weight": 0, "events": {"1 BOOT": True}, "precondition": "",
     "configurations": [{"type": "provision", "name": "inform"}]},
]


class Clock:
    """The scheduler's clock, started just after the device's own hour boundary (Date.now(3600000)
    is offset per device), so a test that moves it minutes on never crosses one by chance."""

    def __init__(self, device_id: str = "dev") -> None:
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        hour, offset = 3_600_000, ScriptRunner(device_id, 0).offset % 3_600_000
        start = now_ms - ((now_ms - offset) % hour) + 1000
        self.t = datetime.fromtimestamp(start / 1000, UTC)

    def __call__(self) -> datetime:
        return self.t


def stock(name: str) -> str:
    return (STOCK / f"{name}.js").read_text()


def provisioner(presets: list[dict], provisions: dict[str, str], virtuals: dict[str, str] | None = None,
                clock: Clock | None = None, **settings) -> Provisioner:
    p = Provisioner(ProvisioningSettings(bootstrap_defaults=False, **settings), now=clock or Clock())
    p.load(presets)
    p.scripts.load([{"_id": k, "script": v} for k, v in provisions.items()],
                   [{"_id": k, "script": v} for k, v in (virtuals or {}).items()])
    return p


def session(p: Provisioner, dev, events: list[str], stored: dict | None = None):
    doc, codes = inform(dev, events, copy.deepcopy(stored) if stored is not None else None)
    before = copy.deepcopy(doc)
    run = p.session("dev", doc, codes) if p.wants("dev", codes) else None
    rpcs = drive(run, dev) if run is not None else []
    return run, rpcs, (store(before, run) if run is not None else before)


def stock_provisioner(clock: Clock | None = None) -> Provisioner:
    return provisioner(STOCK_PRESETS, {n: stock(n) for n in ("bootstrap", "default", "inform")}, clock=clock)


def test_stock_provisions_configure_a_new_tr098_device_then_stay_quiet():
    clock = Clock()
    p = stock_provisioner(clock)
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["0 BOOTSTRAP", "1 BOOT"])
    # read the summary and the management server (one batch), then one set of what differs
    assert rpcs == ["GetParameterValues", "SetParameterValues"]
    assert run.outcome.faults == []
    assert dev.value(MS + "ConnectionRequestUsername").value == "dev"
    password = dev.value(MS + "ConnectionRequestPassword").value
    assert len(password) >= 8
    assert dev.value(MS + "PeriodicInformEnable").value is True
    assert dev.value(MS + "PeriodicInformInterval").value == 300
    assert doc["InternetGatewayDevice"]["LANDevice"]["1"]["Hosts"]["Host"]["1"]["HostName"]["_value"]
    assert "_value" not in doc["InternetGatewayDevice"]["ManagementServer"]["ConnectionRequestPassword"]  # never stored
    # the next periodic session, minutes later: everything is fresh and right, no RPC at all
    clock.t += timedelta(minutes=5)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == []
    # a reboot runs "inform" again: same password (Math.random is seeded with the device id)
    clock.t += timedelta(minutes=5)
    run, rpcs, doc = session(p, dev, ["1 BOOT"], doc)
    assert rpcs == [] and dev.value(MS + "ConnectionRequestPassword").value == password


def test_hourly_refresh_reads_again_and_sets_nothing():
    clock = Clock()
    p = stock_provisioner(clock)
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["0 BOOTSTRAP", "1 BOOT"])
    clock.t += timedelta(hours=1, minutes=1)  # past this device's hour boundary, within the day
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert "GetParameterValues" in rpcs and "SetParameterValues" not in rpcs
    assert run.outcome.faults == []


def test_stock_provisions_on_tr181():
    p = stock_provisioner()
    dev = device(TR181_MODEL)
    run, rpcs, doc = session(p, dev, ["0 BOOTSTRAP", "1 BOOT"])
    assert rpcs[-1] == "SetParameterValues" and "AddObject" not in rpcs
    assert dev.value("Device.ManagementServer.PeriodicInformInterval").value == 300
    assert dev.value("Device.ManagementServer.ConnectionRequestUsername").value == "dev"
    assert "InternetGatewayDevice" not in doc and run.outcome.faults == []


def test_set_without_timestamp_costs_one_set_and_args_reach_the_script():
    # GenieACS's documentation example: set a value without reading it first
    p = provisioner([{"_id": "wifi", "configurations": [{"type": "provision", "name": "ssid", "args": ["lab", 7]}]}],
                    {"ssid": f'declare("{SSID1}", null, {{value: args[0] + "-" + args[1]}});'})
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["SetParameterValues"]
    assert dev.value(SSID1).value == "lab-7"
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == []


def test_a_value_read_decides_what_is_set():
    # read a value no older than the session (the Inform's copy is), set another from it: the
    # replay stops at the read of the SSID (not known yet), then sets it
    src = f"""
        const sw = declare("InternetGatewayDevice.DeviceInfo.SoftwareVersion", {{value: Date.now()}}).value[0];
        declare("{SSID1}", {{value: Date.now()}}, {{value: "fw-" + sw.slice(0, 8)}});
    """
    p = provisioner([{"_id": "x", "configurations": [{"type": "provision", "name": "x"}]}], {"x": src})
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues", "SetParameterValues"]
    assert dev.value(SSID1).value == "fw-V100R001"


def test_alias_instances_are_created_and_counted_by_a_script():
    src = f"""
        declare("{WANIP}.[AddressingType:Static]", {{path: 1}}, {{path: args[0]}});
        if (args[0]) declare("{WANIP}.[AddressingType:Static].Enable", {{value: 1}}, {{value: false}});
    """
    p = provisioner([{"_id": "static", "configurations": [{"type": "provision", "name": "static", "args": [1]}]}],
                    {"static": src})
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    # list the table, add the instance, read what the new instance holds, set its key and value
    assert rpcs == ["GetParameterValues", "AddObject", "GetParameterValues", "SetParameterValues"]
    table = doc["InternetGatewayDevice"]["WANDevice"]["1"]["WANConnectionDevice"]["1"]["WANIPConnection"]
    inst = max(int(k) for k in table if k.isdigit())
    assert dev.value(f"{WANIP}.{inst}.AddressingType").value == "Static"
    assert dev.value(f"{WANIP}.{inst}.Enable").value is False
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == []
    p.load([{"_id": "static", "configurations": [{"type": "provision", "name": "static", "args": [0]}]}])
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == ["DeleteObject"]


def test_instance_count_of_a_wildcard_and_iteration():
    src = """
        const hosts = declare("InternetGatewayDevice.LANDevice.1.Hosts.Host.*", {path: Date.now()});
        const names = [];
        for (const h of declare("InternetGatewayDevice.LANDevice.1.Hosts.Host.*.HostName", {value: Date.now()}))
          names.push(h.value[0]);
        declare("Tags.hosts-" + hosts.size, null, {value: true});
        log("hosts", names);
    """
    p = provisioner([{"_id": "count", "configurations": [{"type": "provision", "name": "count"}]}], {"count": src})
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues"]
    hosts = [k for k in doc["InternetGatewayDevice"]["LANDevice"]["1"]["Hosts"]["Host"] if k.isdigit()]
    assert doc["_tags"] == [f"hosts-{len(hosts)}"]
    assert run.scripts.runner is not None


def test_tags_are_read_added_and_removed():
    src = """
        const lab = declare("Tags.lab", {value: 1});
        if (lab.size) { declare("Tags.lab", null, {value: false}); declare("Tags.was-lab", null, {value: true}); }
    """
    p = provisioner([{"_id": "t", "configurations": [{"type": "provision", "name": "t"}]}], {"t": src})
    dev = device(IGD_MODEL)
    doc, codes = inform(dev, ["2 PERIODIC"])
    doc["_tags"] = ["lab", "keep"]
    run = p.session("dev", doc, codes)
    assert drive(run, dev) == []
    assert run.outcome.sets["_tags"] == ["keep", "was-lab"]


def test_events_and_device_id_are_readable():
    src = """
        const boot = declare("Events.1_BOOT", {value: 1});
        const serial = declare("DeviceID.SerialNumber", {value: 1}).value[0];
        if (boot.size && boot.value[0] === Date.now()) declare("Tags.booted-" + serial, null, {value: true});
    """
    clock = Clock()
    p = provisioner([{"_id": "e", "configurations": [{"type": "provision", "name": "e"}]}], {"e": src}, clock=clock)
    dev = device(IGD_MODEL, serial="EV1")
    run, rpcs, doc = session(p, dev, ["1 BOOT"])
    assert doc["_tags"] == ["booted-EV1"]
    clock.t += timedelta(minutes=5)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], {**doc, "_tags": []})
    assert "_tags" not in run.outcome.sets


def test_clear_makes_stale_what_came_before():
    clock = Clock()
    src = f"""
        if (args[0]) clear("InternetGatewayDevice.LANDevice", Date.now());
        declare("{SSID1}", {{value: 1}});
    """
    p = provisioner([{"_id": "c", "configurations": [{"type": "provision", "name": "c", "args": [False]}]}], {"c": src},
                    clock=clock)
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues"]  # {value: 1}: whatever copy we have, but one is needed
    clock.t += timedelta(minutes=1)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == []
    p.load([{"_id": "c", "configurations": [{"type": "provision", "name": "c", "args": [True]}]}])
    clock.t += timedelta(minutes=1)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == ["GetParameterValues"]  # the copy predates the clear: read again
    assert run.outcome.faults == []


def test_a_virtual_parameter_script_is_computed_stored_and_set():
    vp = f"""
        let v = "";
        if (args[1].value) {{
          v = args[1].value[0];
          declare("{SSID1}", null, {{value: v}});
        }} else {{
          const s = declare("{SSID1}", {{value: args[0].value || 1}});
          if (s.size) v = s.value[0];
        }}
        return {{writable: true, value: [v, "xsd:string"]}};
    """
    read = provisioner([{"_id": "r", "configurations": [{"type": "provision", "name": "r"}]}],
                       {"r": 'declare("VirtualParameters.WifiName", {value: Date.now()});'}, {"WifiName": vp})
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(read, dev, ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues"]
    assert doc["VirtualParameters"]["WifiName"]["_value"] == dev.value(SSID1).value
    assert doc["VirtualParameters"]["WifiName"]["_writable"] is True
    write = provisioner([{"_id": "w", "configurations": [{"type": "provision", "name": "w"}]}],
                        {"w": 'declare("VirtualParameters.WifiName", null, {value: "via-vp"});'}, {"WifiName": vp})
    run, rpcs, doc = session(write, dev, ["2 PERIODIC"], doc)
    assert rpcs == ["SetParameterValues"]
    assert dev.value(SSID1).value == "via-vp" and doc["VirtualParameters"]["WifiName"]["_value"] == "via-vp"


@pytest.mark.parametrize(("src", "code"), [
    ("const x = undefined; x.y;", "script.TypeError"),
    ("for (;;) {}", "script.Timeout"),
    ("const a = []; for (;;) a.push('x'.repeat(65536) + a.length);", "script.OutOfMemory"),
    ("declare('InternetGatewayDevice..Bad', null, {value: 1});", "script.TypeError"),
    ("undefinedFunction();", "script.ReferenceError"),
])
def test_a_failing_script_faults_its_channel_and_the_others_still_run(src, code):
    presets = [
        {"_id": "bad", "channel": "broken", "configurations": [{"type": "provision", "name": "bad"}]},
        {"_id": "good", "channel": "wifi", "configurations": [{"type": "provision", "name": "good"}]},
    ]
    p = provisioner(presets, {"bad": src, "good": f'declare("{SSID1}", null, {{value: "still"}});'},
                    script_cpu_ms=200, script_memory_mb=16)
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert dev.value(SSID1).value == "still"
    [fault] = run.outcome.faults
    assert (fault["channel"], fault["code"]) == ("broken", code)
    assert fault["detail"]["provision"] == "bad"
    assert doc["_acs"]["provisioningFaults"] == ["broken"]
    p.scripts.load([{"_id": "bad", "script": "log('fixed')"}, {"_id": "good", "script": "log('ok')"}], [])
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert run.outcome.cleared_faults == ["broken"]


def test_scripts_that_do_not_compile_are_skipped_when_loaded():
    p = provisioner([], {"ok": "log(1)", "bad": "const = 1"}, {"vp": "return {"})
    assert set(p.scripts.provisions) == {"ok"} and not p.scripts.virtuals
    assert set(p.scripts.rejected) == {"provisions/bad", "virtualParameters/vp"}


def test_scripts_and_native_declarations_share_one_plan():
    # a preset's native declaration and a script's declaration on the same table: one read, one set
    presets = [{"_id": "mix", "declarations": [{"path": "InternetGatewayDevice.LANDevice.1.WLANConfiguration.*.SSID",
                                                "value": "native", "refresh": 0}],
                "configurations": [{"type": "provision", "name": "p"}]}]
    src = 'declare("InternetGatewayDevice.LANDevice.1.WLANConfiguration.*.SSIDAdvertisementEnabled", {value: Date.now()}, {value: false});'
    p = provisioner(presets, {"p": src})
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues", "SetParameterValues"]
    assert dev.value(SSID1).value == "native"
    assert dev.value("InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSIDAdvertisementEnabled").value is False


def test_a_genieacs_expression_precondition_selects_the_device():
    src = f'declare("{SSID1}", null, {{value: "expr"}});'
    pre = 'DeviceID.SerialNumber = "EXPR1" AND Tags.lab IS NOT NULL'
    p = provisioner([{"_id": "x", "precondition": pre, "configurations": [{"type": "provision", "name": "x"}]}], {"x": src})
    dev = device(IGD_MODEL, serial="EXPR1")
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert run is None or rpcs == []  # not tagged yet
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], {**doc, "_tags": ["lab"]})
    assert rpcs == ["SetParameterValues"] and dev.value(SSID1).value == "expr"


def test_a_script_pushes_firmware_through_downloads():
    src = """
        const fw = "Downloads.[FileType:1 Firmware Upgrade Image]";
        declare(fw, {path: 1}, {path: 1});
        declare(fw + ".FileName", {value: 1}, {value: args[0]});
        declare(fw + ".Download", {value: 1}, {value: args[1]});
    """
    when = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    p = provisioner([{"_id": "fw", "channel": "fw", "configurations": [{"type": "provision", "name": "fw", "args": ["fw-2.bin", when]}]}],
                    {"fw": src}, files_base_url="http://files.example:7567", files_secret="s3cret")
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["Download"] and run.outcome.faults == []
    [queued] = [t for t in dev.transfers if t.method == "Download"]
    assert queued.url.startswith("http://files.example:7567/") and "fw-2.bin" in queued.url
    assert queued.file_type == "1 Firmware Upgrade Image"
    assert doc["Downloads"]["1"]["FileName"]["_value"] == "fw-2.bin"
    assert doc["Downloads"]["1"]["FileType"]["_value"] == "1 Firmware Upgrade Image"
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == []  # pushed at or after the declared time already
    p.load([{"_id": "fw", "channel": "fw", "configurations": [{"type": "provision", "name": "fw", "args": ["fw-3.bin", when + 1]}]}])
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == ["Download"] and doc["Downloads"]["1"]["FileName"]["_value"] == "fw-3.bin"
    assert sorted(k for k in doc["Downloads"] if k.isdigit()) == ["1"]


def test_a_script_reboots_once_per_declared_time():
    src = 'declare("InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID", null, {value: "new"}); declare("Reboot", null, {value: args[0]});'
    when = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    p = provisioner([{"_id": "rb", "configurations": [{"type": "provision", "name": "rb", "args": [when]}]}], {"rb": src})
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["SetParameterValues", "Reboot"]  # the values first: the reboot applies them
    run, rpcs, doc = session(p, dev, ["1 BOOT", "M Reboot"], doc)
    assert rpcs == []


@pytest.mark.skipif(shutil.which("node") is None, reason="extensions run in Node.js, which is not installed")
def test_ext_answers_feed_declarations(tmp_path):
    (tmp_path / "subscribers.js").write_text(
        "exports.ssid = function (args, callback) { callback(null, 'sub-' + args[0].toLowerCase()); };\n")
    src = f'const name = ext("subscribers", "ssid", declare("DeviceID.SerialNumber", {{value: 1}}).value[0]);\n' \
          f'declare("{SSID1}", null, {{value: name}});'
    p = provisioner([{"_id": "e", "configurations": [{"type": "provision", "name": "e"}]}], {"e": src},
                    ext_dir=str(tmp_path), ext_timeout_s=20)
    dev = device(IGD_MODEL, serial="EXT42")
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["SetParameterValues"] and dev.value(SSID1).value == "sub-ext42"


def test_refresh_the_whole_data_model_daily_in_one_read():
    clock = Clock()
    src = 'const daily = Date.now(86400000); declare("InternetGatewayDevice.*", {path: daily}); declare("Device.*", {path: daily});'
    p = provisioner([{"_id": "all", "configurations": [{"type": "provision", "name": "all"}]}], {"all": src}, clock=clock)
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["GetParameterValues"]  # the root's partial path: every parameter at once
    assert doc["InternetGatewayDevice"]["LANDevice"]["1"]["WLANConfiguration"]["1"]["SSID"]["_value"] == dev.value(SSID1).value
    clock.t += timedelta(minutes=10)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == []


def test_tag_by_software_version():
    src = """
        const sw = declare("InternetGatewayDevice.DeviceInfo.SoftwareVersion", {value: 1}).value[0];
        declare("Tags.fw_" + sw.replace(/\\W/g, "_"), null, {value: true});
    """
    p = provisioner([{"_id": "t", "configurations": [{"type": "provision", "name": "t"}]}], {"t": src})
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == [] and doc["_tags"] == ["fw_" + "".join(c if c.isalnum() or c == "_" else "_" for c in
                                                           dev.value("InternetGatewayDevice.DeviceInfo.SoftwareVersion").value)]


def test_a_preset_value_or_age_on_a_script_virtual_parameter_runs_its_script():
    vp = f"""
        let v = "";
        if (args[1].value) {{ v = args[1].value[0]; declare("{SSID1}", null, {{value: v}}); }}
        else {{ const s = declare("{SSID1}", {{value: args[0].value || 1}}); if (s.size) v = s.value[0]; }}
        return {{writable: true, value: [v, "xsd:string"]}};
    """
    clock = Clock()
    p = provisioner([{"_id": "v", "configurations": [{"type": "value", "name": "VirtualParameters.WifiName", "value": "from-preset"}]}],
                    {}, {"WifiName": vp}, clock=clock)
    dev = device(IGD_MODEL)
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"])
    assert rpcs == ["SetParameterValues"] and dev.value(SSID1).value == "from-preset"
    assert doc["VirtualParameters"]["WifiName"]["_value"] == "from-preset" and run.outcome.faults == []
    p.load([{"_id": "v", "configurations": [{"type": "age", "name": "VirtualParameters.WifiName", "age": 30}]}])
    clock.t += timedelta(minutes=1)  # older than 30 s: read again through the script
    run, rpcs, doc = session(p, dev, ["2 PERIODIC"], doc)
    assert rpcs == ["GetParameterValues"] and doc["VirtualParameters"]["WifiName"]["_value"] == "from-preset"
