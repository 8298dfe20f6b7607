"""Every RPC handler and its faults, on the device model alone (no network)."""

from __future__ import annotations

import pytest

from cpe_simulator.cpe import retry_wait_s
from cpe_simulator.device import CPE_METHODS, Device
from cwmp import messages as m

IGD = "InternetGatewayDevice."
MS = IGD + "ManagementServer."
WCD = IGD + "WANDevice.1.WANConnectionDevice."


@pytest.fixture
def dev(igd_model):
    return Device(igd_model, serial="SIM00000001")


@pytest.fixture
def dev181(tr181_model):
    return Device(tr181_model, serial="SIM00000002")


def codes(fault: m.Fault) -> dict[str, int]:
    return {f.parameter_name: f.fault_code for f in fault.set_parameter_values_faults}


# ------------------------------------------------------------------ discovery
def test_get_rpc_methods(dev):
    r = dev.handle(m.GetRPCMethods())
    assert isinstance(r, m.GetRPCMethodsResponse)
    assert set(r.method_list) == set(CPE_METHODS)
    assert "ChangeDUState" in r.method_list and "Inform" not in r.method_list


def test_get_parameter_names_next_level(dev, igd_model):
    r = dev.handle(m.GetParameterNames(IGD, True))
    names = [p.name for p in r.parameter_list]
    assert names == list(igd_model.children[IGD])
    assert IGD + "DeviceInfo." in names and IGD not in names
    assert all(n.count(".") == 2 or (n.count(".") == 1 and not n.endswith(".")) for n in names)
    root = dev.handle(m.GetParameterNames("", True))
    assert [p.name for p in root.parameter_list] == [IGD]


def test_get_parameter_names_subtree(dev):
    r = dev.handle(m.GetParameterNames(IGD + "ManagementServer.", False))
    names = {p.name: p.writable for p in r.parameter_list}
    assert IGD + "ManagementServer." in names  # the object itself is included
    assert names[MS + "PeriodicInformInterval"] is True
    assert names[MS + "ConnectionRequestURL"] is False
    single = dev.handle(m.GetParameterNames(MS + "URL", False))
    assert [p.name for p in single.parameter_list] == [MS + "URL"]


@pytest.mark.parametrize(
    "path,next_level,code",
    [(IGD + "NoSuchThing.", False, 9005), (IGD + "DeviceInfo", True, 9005), (MS + "URL", True, 9003), ("Device.", False, 9005)],
)
def test_get_parameter_names_faults(dev, path, next_level, code):
    r = dev.handle(m.GetParameterNames(path, next_level))
    assert isinstance(r, m.Fault) and r.fault_code == code


def test_get_parameter_values_partial_path_is_subtree(dev):
    r = dev.handle(m.GetParameterValues([IGD + "DeviceInfo.", MS + "PeriodicInformInterval"]))
    names = [p.name for p in r.parameter_list]
    assert all(n.startswith(IGD + "DeviceInfo.") for n in names[:-1]) and len(names) > 10
    assert names[-1] == MS + "PeriodicInformInterval"
    assert r.parameter_list[-1].value == 300 and r.parameter_list[-1].type == "xsd:unsignedInt"
    serial = dev.value(IGD + "DeviceInfo.SerialNumber")
    assert serial.value == "SIM00000001"  # each device reports its own serial number


def test_get_parameter_values_invalid_name(dev):
    r = dev.handle(m.GetParameterValues([MS + "URL", IGD + "Bogus"]))
    assert isinstance(r, m.Fault) and r.fault_code == 9005


# ------------------------------------------------------------------ SetParameterValues
def test_set_parameter_values_applies_and_sets_parameter_key(dev):
    r = dev.handle(
        m.SetParameterValues(
            [
                m.ParameterValueStruct(MS + "PeriodicInformInterval", 60, "xsd:unsignedInt"),
                m.ParameterValueStruct(MS + "PeriodicInformEnable", False, "xsd:boolean"),
                m.ParameterValueStruct(IGD + "LANDevice.1.LANEthernetInterfaceConfig.1.Enable", False, "xsd:boolean"),
            ],
            parameter_key="pk-1",
        )
    )
    assert isinstance(r, m.SetParameterValuesResponse) and r.status == 0
    assert dev.value(MS + "PeriodicInformInterval").value == 60
    assert dev.value(MS + "ParameterKey").value == "pk-1"
    assert dev.periodic_interval() is None  # PeriodicInformEnable false


def test_set_parameter_values_faults_are_listed_and_nothing_applies(dev):
    r = dev.handle(
        m.SetParameterValues(
            [
                m.ParameterValueStruct(MS + "PeriodicInformInterval", 120, "xsd:unsignedInt"),  # fine alone
                m.ParameterValueStruct(IGD + "Nope.Param", "x", "xsd:string"),
                m.ParameterValueStruct(MS + "PeriodicInformEnable", 1, "xsd:unsignedInt"),  # wrong type
                m.ParameterValueStruct(IGD + "IPPingDiagnostics.DiagnosticsState", "Bogus", "xsd:string"),
                m.ParameterValueStruct(IGD + "IPPingDiagnostics.NumberOfRepetitions", -1, "xsd:int"),  # out of range
                m.ParameterValueStruct(IGD + "DeviceInfo.Manufacturer", "ACME", "xsd:string"),  # read-only
                m.ParameterValueStruct(IGD + "DeviceInfo.", "x", "xsd:string"),  # an object
            ]
        )
    )
    assert isinstance(r, m.Fault) and r.fault_code == 9003
    assert codes(r) == {
        IGD + "Nope.Param": 9005,
        MS + "PeriodicInformEnable": 9006,
        IGD + "IPPingDiagnostics.DiagnosticsState": 9007,
        IGD + "IPPingDiagnostics.NumberOfRepetitions": 9007,
        IGD + "DeviceInfo.Manufacturer": 9008,
        IGD + "DeviceInfo.": 9005,
    }
    assert dev.value(MS + "PeriodicInformInterval").value == 300  # atomic: nothing applied


def test_set_parameter_values_unparsable_text_is_invalid_value(dev):
    # the codec keeps text it cannot read under the declared type as str
    r = dev.handle(m.SetParameterValues([m.ParameterValueStruct(MS + "PeriodicInformInterval", "soon", "xsd:unsignedInt")]))
    assert codes(r) == {MS + "PeriodicInformInterval": 9007}
    zero = dev.handle(m.SetParameterValues([m.ParameterValueStruct(MS + "PeriodicInformInterval", 0, "xsd:unsignedInt")]))
    assert codes(zero) == {MS + "PeriodicInformInterval": 9007}


# ------------------------------------------------------------------ attributes and notification
def test_active_notification_reports_value_change(dev):
    path = IGD + "LANDevice.1.LANEthernetInterfaceConfig.1.Enable"
    r = dev.handle(m.SetParameterAttributes([m.SetParameterAttributesStruct(path, True, 2, False)]))
    assert isinstance(r, m.SetParameterAttributesResponse)
    got = dev.handle(m.GetParameterAttributes([path]))
    assert [(a.name, a.notification) for a in got.parameter_list] == [(path, 2)]
    # a change by the ACS does not notify
    dev.handle(m.SetParameterValues([m.ParameterValueStruct(path, False, "xsd:boolean")]))
    assert dev.events == []
    # a local change does, with the parameter in the next Inform
    assert dev.set_local_value(path, True) == 2
    inform = dev.build_inform()
    assert [e.event_code for e in inform.events] == ["4 VALUE CHANGE"]
    assert any(p.name == path and p.value is True for p in inform.parameter_list)
    dev.inform_delivered(inform.events)
    assert dev.events == [] and all(p.name != path for p in dev.build_inform().parameter_list)


def test_passive_notification_waits_for_the_next_inform(dev):
    path = MS + "PeriodicInformInterval"
    dev.handle(m.SetParameterAttributes([m.SetParameterAttributesStruct(path, True, 1, True, ["Subscriber"])]))
    assert dev.set_local_value(path, 900) == 1  # passive: no session of its own
    inform = dev.build_inform()
    assert "4 VALUE CHANGE" in [e.event_code for e in inform.events]
    assert any(p.name == path and p.value == 900 for p in inform.parameter_list)
    attrs = dev.handle(m.GetParameterAttributes([path])).parameter_list[0]
    assert attrs.access_list == ["Subscriber"]


def test_attributes_on_partial_path_and_rejections(dev):
    r = dev.handle(m.SetParameterAttributes([m.SetParameterAttributesStruct(IGD + "ManagementServer.", True, 1, False)]))
    assert isinstance(r, m.SetParameterAttributesResponse)
    got = dev.handle(m.GetParameterAttributes([IGD + "ManagementServer."])).parameter_list
    assert got and all(a.notification == 1 for a in got)
    rejected = dev.handle(m.SetParameterAttributes([m.SetParameterAttributesStruct(IGD + "DeviceInfo.UpTime", True, 2, False)]))
    assert rejected.fault_code == 9009
    missing = dev.handle(m.GetParameterAttributes([IGD + "Nope."]))
    assert missing.fault_code == 9005


# ------------------------------------------------------------------ objects
def test_add_object_copies_the_instance_shape(dev):
    r = dev.handle(m.AddObject(IGD + "LANDevice.1.LANHostConfigManagement.DHCPConditionalServingPool.", "pk-add"))
    assert isinstance(r, m.AddObjectResponse) and r.status == 0
    table = IGD + "LANDevice.1.LANHostConfigManagement.DHCPConditionalServingPool."
    existing = list(dev.model.children[table])
    assert r.instance_number == max(int(p.rstrip(".").rsplit(".", 1)[1]) for p in existing) + 1
    new = f"{table}{r.instance_number}."
    template = existing[0]
    names = [p.name for p in dev.handle(m.GetParameterNames(new, True)).parameter_list]
    assert names == [new + c[len(template) :] for c in dev.model.children[template]]
    assert dev.value(MS + "ParameterKey").value == "pk-add"
    # its parameters can be set, and a second AddObject numbers on
    leaf = next(n for n in names if not n.endswith(".") and dev.tree.node(n).writable)
    node = dev.tree.node(leaf)
    sample = {"xsd:boolean": True, "xsd:string": "x", "xsd:unsignedInt": 7, "xsd:int": 7}[node.type]
    assert isinstance(dev.handle(m.SetParameterValues([m.ParameterValueStruct(leaf, sample, node.type)])), m.SetParameterValuesResponse)
    assert dev.handle(m.AddObject(table)).instance_number == r.instance_number + 1


def test_add_object_in_a_new_instance_starts_with_empty_tables(dev):
    r = dev.handle(m.AddObject(WCD))
    new = f"{WCD}{r.instance_number}."
    kids = [p.name for p in dev.handle(m.GetParameterNames(new, True)).parameter_list]
    assert new + "WANIPConnection." in kids or new + "WANPPPConnection." in kids
    table = new + ("WANIPConnection." if new + "WANIPConnection." in kids else "WANPPPConnection.")
    assert dev.handle(m.GetParameterNames(table, True)).parameter_list == []
    inner = dev.handle(m.AddObject(table))
    assert inner.instance_number == 1  # numbering of a fresh table starts at 1
    assert dev.tree.exists(f"{table}{inner.instance_number}.")


def test_delete_object(dev):
    added = dev.handle(m.AddObject(WCD)).instance_number
    assert isinstance(dev.handle(m.DeleteObject(f"{WCD}{added}.", "pk-del")), m.DeleteObjectResponse)
    assert not dev.tree.exists(f"{WCD}{added}.")
    assert dev.value(MS + "ParameterKey").value == "pk-del"
    assert dev.handle(m.DeleteObject(f"{WCD}{added}.")).fault_code == 9005
    assert isinstance(dev.handle(m.DeleteObject(WCD + "1.")), m.DeleteObjectResponse)
    gone = dev.handle(m.GetParameterValues([WCD + "1."]))
    assert gone.fault_code == 9005
    assert dev.handle(m.AddObject(WCD)).instance_number == added + 1  # numbers are not reused


@pytest.mark.parametrize("name", [IGD + "DeviceInfo.", IGD + "Nope.", MS + "URL", IGD + "DeviceInfo"])
def test_add_object_faults(dev, name):
    assert dev.handle(m.AddObject(name)).fault_code == 9005


def test_tr181_add_object(dev181):
    r = dev181.handle(m.AddObject("Device.Bridging.Bridge."))
    assert isinstance(r, m.AddObjectResponse)
    assert dev181.tree.exists(f"Device.Bridging.Bridge.{r.instance_number}.Enable")


# ------------------------------------------------------------------ reboot, reset
def test_reboot_and_factory_reset(dev):
    assert isinstance(dev.handle(m.Reboot("rb-1")), m.RebootResponse)
    assert [(a.kind, a.command_key) for a in dev.take_actions()] == [("reboot", "rb-1")]
    dev.reboot("rb-1")
    assert [e.event_code for e in dev.build_inform().events] == ["1 BOOT", "M Reboot"]
    assert dev.build_inform().events[1].command_key == "rb-1"

    dev.handle(m.SetParameterValues([m.ParameterValueStruct(MS + "PeriodicInformInterval", 60, "xsd:unsignedInt")]))
    dev.handle(m.AddObject(WCD))
    assert isinstance(dev.handle(m.FactoryReset()), m.FactoryResetResponse)
    assert dev.take_actions()[-1].kind == "factory_reset"
    dev.factory_reset()
    assert dev.value(MS + "PeriodicInformInterval").value == 300
    assert not dev.tree.added and not dev.tree.values
    assert [e.event_code for e in dev.build_inform().events] == ["0 BOOTSTRAP", "1 BOOT"]


# ------------------------------------------------------------------ transfers
def test_download_queue_cancel_and_transfer_complete(dev):
    assert dev.handle(m.Download("k", "1 Firmware Upgrade Image", "ftp://x/fw.bin")).fault_code == 9013
    r = dev.handle(m.Download("dl-1", "3 Vendor Configuration File", "http://files/cfg.xml", file_size=10))
    assert isinstance(r, m.DownloadResponse) and r.status == 1
    dev.handle(m.Download("dl-2", "1 Firmware Upgrade Image", "http://files/fw-2.0.bin"))
    q = dev.handle(m.GetQueuedTransfers())
    assert [(t.command_key, t.state) for t in q.transfer_list] == [("dl-1", 1), ("dl-2", 1)]
    all_q = dev.handle(m.GetAllQueuedTransfers()).transfer_list
    assert all_q[0].file_size == 10 and all_q[0].is_download
    assert isinstance(dev.handle(m.CancelTransfer("dl-1")), m.CancelTransferResponse)
    assert dev.handle(m.CancelTransfer("dl-1")).fault_code == 9003
    t = dev.transfers[0]
    t.state = 2
    assert dev.handle(m.CancelTransfer("dl-2")).fault_code == 9021
    dev.complete_transfer(t, m.FaultStruct(), None, None)
    inform = dev.build_inform()
    assert {(e.event_code, e.command_key) for e in inform.events} >= {("7 TRANSFER COMPLETE", ""), ("M Download", "dl-2"), ("1 BOOT", "")}
    assert dev.value(IGD + "DeviceInfo.SoftwareVersion").value == "fw-2.0"
    (tc,) = dev.requests
    assert isinstance(tc, m.TransferComplete) and tc.command_key == "dl-2"
    dev.inform_delivered(inform.events)
    assert {e[0] for e in dev.events} == {"7 TRANSFER COMPLETE", "M Download"}  # kept until acknowledged
    dev.request_acknowledged(tc)
    assert dev.events == [] and dev.requests == []


def test_upload_and_schedule_download(dev):
    r = dev.handle(m.Upload("up-1", "1 Vendor Configuration File", "http://files/up"))
    assert isinstance(r, m.UploadResponse) and r.status == 1
    body = dev.upload_body("1 Vendor Configuration File")
    assert b"InternetGatewayDevice.ManagementServer.URL" in body
    assert dev.upload_body("2 Vendor Log File").count(b"\n") >= 2
    bad = dev.handle(m.ScheduleDownload("sd", "1 Firmware Upgrade Image", "http://f/x", time_windows=[]))
    assert bad.fault_code == 9003
    window = m.TimeWindowStruct(5, 60, "1 At Any Time")
    ok = dev.handle(m.ScheduleDownload("sd", "1 Firmware Upgrade Image", "http://f/x", time_windows=[window]))
    assert isinstance(ok, m.ScheduleDownloadResponse)
    assert dev.transfers[-1].delay_seconds == 5 and dev.transfers[-1].method == "ScheduleDownload"


def test_schedule_inform(dev):
    assert dev.handle(m.ScheduleInform(0, "si")).fault_code == 9003
    assert isinstance(dev.handle(m.ScheduleInform(30, "si")), m.ScheduleInformResponse)
    (action,) = dev.take_actions()
    assert (action.kind, action.arg, action.command_key) == ("schedule_inform", 30, "si")


def test_change_du_state(dev181):
    op = m.InstallOpStruct(url="http://files/app.ipk", uuid="6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    assert isinstance(dev181.handle(m.ChangeDUState([op], "du-1")), m.ChangeDUStateResponse)
    assert dev181.handle(m.ChangeDUState([m.InstallOpStruct(url="http://x", uuid="nope")])).fault_code == 9022
    (action,) = dev181.take_actions()
    dev181.change_du_state(action.arg, {op.url: m.FaultStruct()})
    dev181.change_du_state(m.ChangeDUState([m.UninstallOpStruct(uuid="6ba7b810-9dad-11d1-80b4-000000000000")]), {})
    first, second = dev181.requests
    assert first.results[0].current_state == "Installed" and first.results[0].resolved
    assert first.results[0].deployment_unit_ref == "Device.SoftwareModules.DeploymentUnit.1."
    assert second.results[0].fault.fault_code == 9028
    events = {(e.event_code, e.command_key) for e in dev181.build_inform().events}
    assert ("11 DU STATE CHANGE COMPLETE", "") in events and ("M ChangeDUState", "du-1") in events


# ------------------------------------------------------------------ diagnostics
@pytest.mark.parametrize("model_fixture,prefix", [("igd_model", IGD + "IPPingDiagnostics."), ("tr181_model", "Device.IP.Diagnostics.IPPing.")])
def test_ip_ping_diagnostics(request, model_fixture, prefix):
    dev = Device(request.getfixturevalue(model_fixture), serial="P1")
    r = dev.handle(
        m.SetParameterValues(
            [
                m.ParameterValueStruct(prefix + "Host", "192.0.2.1", "xsd:string"),
                m.ParameterValueStruct(prefix + "NumberOfRepetitions", 5, "xsd:unsignedInt"),
                m.ParameterValueStruct(prefix + "DiagnosticsState", "Requested", "xsd:string"),
            ]
        )
    )
    assert isinstance(r, m.SetParameterValuesResponse)
    (action,) = dev.take_actions()
    assert (action.kind, action.arg) == ("diagnostics", prefix)
    result = dev.run_ping(prefix)
    assert dev.value(prefix + "DiagnosticsState").value == "Complete"
    assert dev.value(prefix + "SuccessCount").value + dev.value(prefix + "FailureCount").value == 5
    avg = dev.value(prefix + "AverageResponseTime").value
    assert dev.value(prefix + "MinimumResponseTime").value <= avg <= dev.value(prefix + "MaximumResponseTime").value
    assert avg == result.avg_ms and avg > 0
    assert [e.event_code for e in dev.build_inform().events] == ["8 DIAGNOSTICS COMPLETE"]


def test_ping_to_unresolvable_host(dev):
    prefix = IGD + "IPPingDiagnostics."
    dev.tree.set(prefix + "Host", "nowhere.invalid")
    assert dev.run_ping(prefix).state == "Error_CannotResolveHostName"


# ------------------------------------------------------------------ misc
def test_unknown_method_is_9000(dev):
    r = dev.handle(m.Kicked("c", "r", "a", "n"))
    assert isinstance(r, m.Fault) and r.fault_code == 9000


def test_inform_carries_identity_and_forced_parameters(igd_model):
    dev = Device(igd_model, serial="SIM42", base={MS + "ConnectionRequestURL": "http://127.0.0.1:1/cr/SIM42"})
    inform = dev.build_inform(retry_count=3)
    assert inform.device_id == m.DeviceIdStruct("Huawei Technologies Co., Ltd.", "202BC1", "BM632w", "SIM42")
    assert inform.retry_count == 3
    values = {p.name: p.value for p in inform.parameter_list}
    assert values[MS + "ConnectionRequestURL"] == "http://127.0.0.1:1/cr/SIM42"
    assert IGD + "DeviceInfo.SoftwareVersion" in values and MS + "ParameterKey" in values


def test_retry_wait_follows_the_tr069_table():
    for n, (low, high) in {1: (5, 10), 2: (10, 20), 3: (20, 40), 10: (2560, 5120), 15: (2560, 5120)}.items():
        waits = [retry_wait_s(n) for _ in range(50)]
        assert all(low <= w <= high for w in waits), n
    assert 30 <= retry_wait_s(1, minimum=30, multiplier=1500) <= 45
