"""Parameter attributes declared by presets and scripts (notification, accessList): the engine reads
what it does not know (GetParameterAttributes, no value read needed), sets what differs
(SetParameterAttributes) once, and stays quiet while the device keeps them. Runs on the simulator's
built-in TR-098 gateway against its real attribute handling."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cpe_simulator.datamodel import DataModel
from cpe_simulator.device import Device
from cwmp import messages as m
from task_scheduler.provisioning import Provisioner, ProvisioningSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_provisioning_support import drive, inform, store  # noqa: E402

SSID = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
URL = "InternetGatewayDevice.ManagementServer.ConnectionRequestURL"


def _provisioner(preset: dict, scripts: dict[str, str] | None = None) -> Provisioner:
    p = Provisioner(ProvisioningSettings(bootstrap_defaults=False))
    p.load([{"_id": "attrs", "channel": "monitoring", **preset}])
    p.scripts.load([{"_id": k, "script": v} for k, v in (scripts or {}).items()], [])
    return p


def _session(p: Provisioner, dev: Device, stored: dict | None = None) -> tuple[list[str], dict, object]:
    doc, codes = inform(dev, ["2 PERIODIC"], stored)
    before = {**doc}
    run = p.session("dev", doc, codes)
    if run is None:
        return [], doc, None
    rpcs = drive(run, dev)
    return rpcs, store(before, run), run


def _attributes(dev: Device, path: str) -> m.ParameterAttributeStruct:
    [attr] = dev.handle(m.GetParameterAttributes(parameter_names=[path])).parameter_list
    return attr


@pytest.mark.parametrize("p", [
    _provisioner({"declarations": [{"path": SSID, "notification": 2}, {"path": URL, "notification": 1, "accessList": []}]}),
    _provisioner({"configurations": [{"type": "provision", "name": "notify"}]}, {"notify": f"""
        declare("{SSID}", null, {{notification: 2}});
        declare("{URL}", null, {{notification: 1, accessList: []}});"""}),
], ids=["preset", "script"])
def test_declared_attributes_are_read_once_set_once_then_left_alone(p):
    dev = Device(DataModel.default(), serial="ATTR1")
    rpcs, doc, run = _session(p, dev)
    assert rpcs == ["GetParameterAttributes", "SetParameterAttributes"] and not run.outcome.faults
    assert _attributes(dev, SSID).notification == 2 and _attributes(dev, URL).notification == 1
    rpcs, doc, _run = _session(p, dev, doc)
    assert rpcs == []  # the ACS knows the attributes now, and they are as declared


def test_attributes_changed_on_the_device_are_set_back_after_a_refresh_of_our_copy():
    p = _provisioner({"declarations": [{"path": SSID, "notification": 2}]})
    dev = Device(DataModel.default(), serial="ATTR2")
    _rpcs, doc, _run = _session(p, dev)
    dev.handle(m.SetParameterAttributes(parameter_list=[m.SetParameterAttributesStruct(SSID, True, 0, False, [])]))
    doc["InternetGatewayDevice"]["LANDevice"]["1"]["WLANConfiguration"]["1"]["SSID"].pop("_notification")  # forgotten
    rpcs, _doc, _run = _session(p, dev, doc)
    assert rpcs == ["GetParameterAttributes", "SetParameterAttributes"] and _attributes(dev, SSID).notification == 2


def test_a_parameter_the_device_does_not_have_faults_the_channel():
    p = _provisioner({"declarations": [{"path": "InternetGatewayDevice.X_Missing.Thing", "notification": 2}]})
    dev = Device(DataModel.default(), serial="ATTR3")
    rpcs, _doc, run = _session(p, dev)
    assert rpcs == ["GetParameterAttributes", "SetParameterAttributes"]
    [fault] = run.outcome.faults
    assert fault["channel"] == "monitoring" and fault["code"].startswith("cwmp.")
