"""The built-in data model: shipped in the package, used when no dump is given, a working
TR-098 gateway; the simulator needs nothing outside the repository."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest
from cpesim_acs import MiniAcs

from cpe_simulator import Fleet
from cpe_simulator.device import Device
from cwmp import messages as m
from cwmp.values import decode_value

IGD = "InternetGatewayDevice."
MS = IGD + "ManagementServer."
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cpe_simulator"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_default_igd.py"


def test_the_committed_file_is_what_the_script_writes():
    spec = importlib.util.spec_from_file_location("make_default_igd", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (PACKAGE / "data" / "default-igd.csv").read_text(encoding="utf-8") == module.render()


def test_a_realistic_gateway(default_model):
    model = default_model
    assert model.root == IGD and model.source == "builtin:default-igd.csv"
    assert (model.identity.oui, model.identity.product_class) == ("ACE5E1", "HG500")
    params = {p: n for p, n in model.nodes.items() if not n.is_object}
    assert 300 <= len(params) <= 600
    for path, node in params.items():  # every value fits its type as written
        value, _ = decode_value(node.value, node.type)
        assert node.type == "xsd:string" or not isinstance(value, str), path
    for obj in ("DeviceInfo.", "ManagementServer.", "Time.", "Layer3Forwarding.Forwarding.1.",
                "LANDevice.1.LANHostConfigManagement.", "LANDevice.1.WLANConfiguration.2.PreSharedKey.1.",
                "LANDevice.1.Hosts.Host.2.", "WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.PortMapping.1.",
                "WANDevice.1.WANConnectionDevice.1.WANPPPConnection.1.", "IPPingDiagnostics.",
                "TraceRouteDiagnostics.", "DownloadDiagnostics.", "UploadDiagnostics."):
        assert model.nodes[IGD + obj].is_object, obj
    assert params[MS + "PeriodicInformInterval"].writable and params[MS + "PeriodicInformInterval"].type == "xsd:unsignedInt"
    assert not params[IGD + "DeviceInfo.SoftwareVersion"].writable


def test_rpcs_on_the_built_in_model(default_model):
    dev = Device(default_model, serial="SIM00000042")
    inform = dev.build_inform()
    sent = {p.name: p.value for p in inform.parameter_list}
    assert sent[IGD + "DeviceInfo.SoftwareVersion"] == "HG500-2.4.1"
    assert sent[IGD + "WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"] == "198.51.100.23"
    assert inform.device_id.serial_number == "SIM00000042"
    values = dev.handle(m.GetParameterValues([IGD])).parameter_list
    kinds = {p.type: type(p.value) for p in values}
    assert kinds["xsd:unsignedInt"] is int and kinds["xsd:boolean"] is bool and kinds["xsd:dateTime"] is datetime
    ssid = IGD + "LANDevice.1.WLANConfiguration.1.SSID"
    answer = dev.handle(m.SetParameterValues([m.ParameterValueStruct(ssid, "home", "xsd:string"),
                                              m.ParameterValueStruct(MS + "PeriodicInformInterval", 600, "xsd:unsignedInt")], "k1"))
    assert isinstance(answer, m.SetParameterValuesResponse)
    assert dev.text(ssid) == "home" and dev.text(MS + "ParameterKey") == "k1"
    fault = dev.handle(m.SetParameterValues([m.ParameterValueStruct(IGD + "DeviceInfo.SoftwareVersion", "x", "xsd:string")], ""))
    assert isinstance(fault, m.Fault) and fault.set_parameter_values_faults[0].fault_code == 9008
    added = dev.handle(m.AddObject(IGD + "WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.PortMapping.", ""))
    assert added.instance_number == 2
    dev.handle(m.SetParameterValues([m.ParameterValueStruct(IGD + "IPPingDiagnostics.Host", "192.0.2.1", "xsd:string"),
                                     m.ParameterValueStruct(IGD + "IPPingDiagnostics.DiagnosticsState", "Requested", "xsd:string")], ""))
    assert "diagnostics" in [a.kind for a in dev.take_actions()]


_opened: list[str] | None = None


def _record_opens(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _opened.append(str(args[0]))


@pytest.mark.timeout(30)
async def test_cli_and_fleet_without_a_datamodel():
    """A run without --datamodel opens no data model file but the package's own."""
    global _opened
    from cpe_simulator.cli import parse_args, run

    assert Fleet(count=2, acs_url="http://127.0.0.1:9/").models[0].source == "builtin:default-igd.csv"
    sys.addaudithook(_record_opens)
    _opened = []
    try:
        async with MiniAcs(auth="digest") as acs:
            args = parse_args(["--acs-url", acs.url, "--devices", "3", "--periodic-interval", "1", "--boot-storm", "0.2",
                               "--username", acs.username, "--password", acs.password, "--duration", "1.5", "--quiet"])
            assert args.datamodel is None
            summary = await run(args)
        opened = list(_opened)
    finally:
        _opened = None
    builtin = str(resources.files("cpe_simulator") / "data" / "default-igd.csv")
    assert builtin in opened
    assert not [p for p in opened if p != builtin and ("shared" in p or p.endswith(".csv"))], opened
    assert summary["sessions"]["ok"] >= 3 and summary["sessions"]["failed"] == 0
    assert summary["config"]["datamodels"] == ["builtin:default-igd.csv"]
