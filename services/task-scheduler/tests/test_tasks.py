"""Each task kind becomes the right RPCs and records what the CPE answered."""

from datetime import UTC, datetime

import pytest

from cwmp import messages as m
from task_scheduler.device_record import inform_update, to_bson_value
from task_scheduler.tasks import TASK_KINDS, TaskArgumentError, TaskContext, TaskRun

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def ctx(**kw) -> TaskContext:
    return TaskContext(device_id="D", task_id="65a000000000000000000001", now=lambda: NOW,
                       download_url=lambda n: f"http://fs/{n}?sig=x", upload_url=lambda k, t: f"http://fs/up/{k}",
                       file_size=lambda n: 1234, **kw)


def test_get_parameter_values_batches_and_records():
    names = [f"IGD.X.{i}" for i in range(5)]
    run = TaskRun({"name": "getParameterValues", "parameterNames": names}, ctx(gpv_batch_size=2))
    req = run.start()
    seen = []
    while req is not None:
        assert isinstance(req, m.GetParameterValues) and len(req.parameter_names) <= 2
        seen += req.parameter_names
        req = run.feed(m.GetParameterValuesResponse([m.ParameterValueStruct(n, 7, "xsd:unsignedInt") for n in req.parameter_names]))
    assert seen == names
    assert run.outcome.sets["IGD.X.3._value"] == 7 and run.outcome.sets["IGD.X.3._type"] == "xsd:unsignedInt"
    assert run.outcome.result["parameterValues"][0] == ["IGD.X.0", 7, "xsd:unsignedInt"]


def test_set_parameter_values_types_from_task_device_or_inference():
    task = {"name": "setParameterValues", "parameterValues": [["A.B", "300", "xsd:unsignedInt"], ["A.C", True], ["A.D", "x"]]}
    run = TaskRun(task, ctx(known_types={"A.D": "xsd:string"}))
    req = run.start()
    assert isinstance(req, m.SetParameterValues)
    assert [(p.name, p.value, p.type) for p in req.parameter_list] == [
        ("A.B", 300, "xsd:unsignedInt"), ("A.C", True, "xsd:boolean"), ("A.D", "x", "xsd:string")]
    assert req.parameter_key == "65a000000000000000000001"
    assert run.feed(m.SetParameterValuesResponse(status=0)) is None
    assert run.outcome.sets["A.B._value"] == 300


def test_refresh_object_reads_a_subtree_in_two_rpcs():
    run = TaskRun({"name": "refreshObject", "objectName": "IGD.WAN"}, ctx())
    assert run.start() == m.GetParameterNames(parameter_path="IGD.WAN.", next_level=False)
    req = run.feed(m.GetParameterNamesResponse([m.ParameterInfoStruct("IGD.WAN.1.", False),
                                                m.ParameterInfoStruct("IGD.WAN.1.IP", True)]))
    assert req == m.GetParameterValues(parameter_names=["IGD.WAN."])  # the partial path: all values below
    assert run.feed(m.GetParameterValuesResponse([m.ParameterValueStruct("IGD.WAN.1.IP", "10.0.0.1")])) is None
    assert run.outcome.sets["IGD.WAN.1.IP._value"] == "10.0.0.1"
    run = TaskRun({"name": "refreshObject", "objectName": ""}, ctx())
    run.start()
    assert run.feed(m.GetParameterNamesResponse([m.ParameterInfoStruct("IGD.", False), m.ParameterInfoStruct("IGD.X", True)])) \
        == m.GetParameterValues(parameter_names=["IGD."])


def test_refresh_object_by_names_for_cpes_without_partial_paths():
    run = TaskRun({"name": "refreshObject", "objectName": "IGD.WAN"}, ctx(partial_path_values=False))
    req = run.start()
    assert req == m.GetParameterNames(parameter_path="IGD.WAN.", next_level=False)
    req = run.feed(m.GetParameterNamesResponse([m.ParameterInfoStruct("IGD.WAN.1.", False),
                                                m.ParameterInfoStruct("IGD.WAN.1.IP", True)]))
    assert req == m.GetParameterValues(parameter_names=["IGD.WAN.1.IP"])
    assert run.feed(m.GetParameterValuesResponse([m.ParameterValueStruct("IGD.WAN.1.IP", "10.0.0.1")])) is None
    assert run.outcome.unsets == ["IGD.WAN"]
    assert run.outcome.sets["IGD.WAN.1._object"] is True and run.outcome.sets["IGD.WAN.1.IP._writable"] is True


def test_add_object_with_values_and_delete():
    run = TaskRun({"name": "addObject", "objectName": "IGD.Hosts.Host", "parameterValues": [["Name", "pc"]]}, ctx())
    assert run.start() == m.AddObject(object_name="IGD.Hosts.Host.", parameter_key="65a000000000000000000001")
    spv = run.feed(m.AddObjectResponse(instance_number=3, status=0))
    assert isinstance(spv, m.SetParameterValues) and spv.parameter_list[0].name == "IGD.Hosts.Host.3.Name"
    assert run.feed(m.SetParameterValuesResponse(0)) is None
    assert run.outcome.result["instanceNumber"] == 3
    run = TaskRun({"name": "deleteObject", "objectName": "IGD.Hosts.Host.3."}, ctx())
    assert isinstance(run.start(), m.DeleteObject)
    run.feed(m.DeleteObjectResponse(0))
    assert run.outcome.unsets == ["IGD.Hosts.Host.3"]


def test_download_waits_for_transfer_complete_when_status_1():
    run = TaskRun({"name": "download", "fileType": "1 Firmware Upgrade Image", "fileName": "fw.bin"}, ctx())
    req = run.start()
    assert isinstance(req, m.Download) and req.url == "http://fs/fw.bin?sig=x" and req.file_size == 1234
    assert req.command_key == "65a000000000000000000001"
    run.feed(m.DownloadResponse(status=1))
    assert run.outcome.awaiting_transfer


@pytest.mark.parametrize("task", [
    {"name": "nope"}, {"name": "getParameterValues", "parameterNames": "x"},
    {"name": "setParameterValues", "parameterValues": [["only-name"]]}, {"name": "addObject"},
    {"name": "changeDUState", "operations": [{"type": "explode"}]},
])
def test_bad_arguments_are_refused(task):
    with pytest.raises(TaskArgumentError):
        TaskRun(task, ctx()).start()


def test_every_task_kind_yields_an_rpc():
    samples = {
        "getParameterValues": {"parameterNames": ["A.B"]}, "setParameterValues": {"parameterValues": [["A.B", 1]]},
        "refreshObject": {"objectName": "A."}, "getParameterNames": {"parameterPath": "A.", "nextLevel": True},
        "addObject": {"objectName": "A.B."}, "deleteObject": {"objectName": "A.B.1."}, "reboot": {}, "factoryReset": {},
        "download": {"fileName": "f"}, "upload": {"fileType": "2 Vendor Log File"}, "getParameterAttributes": {"parameterNames": ["A.B"]},
        "setParameterAttributes": {"parameterAttributes": [{"name": "A.B", "notification": 2}]},
        "scheduleInform": {"delaySeconds": 5}, "scheduleDownload": {"fileName": "f"}, "cancelTransfer": {"commandKey": "k"},
        "getAllQueuedTransfers": {}, "getQueuedTransfers": {}, "getRPCMethods": {},
        "changeDUState": {"operations": [{"type": "install", "url": "http://x/du"}]},
    }
    assert set(samples) <= set(TASK_KINDS)  # diagnostics kinds have their own tests
    for name, args in samples.items():
        req = TaskRun({"name": name, **args}, ctx()).start()
        assert isinstance(req, m.Message) and req.DIRECTION in ("acs", "both"), name


def test_inform_update_is_one_upsert_and_bootstrap_clears_the_tree():
    inform = m.Inform(device_id=m.DeviceIdStruct("Huawei", "202BC1", "BM632w", "SN1"),
                      events=[m.EventStruct(m.EventCode("0 BOOTSTRAP")), m.EventStruct(m.EventCode("1 BOOT"))],
                      parameter_list=[m.ParameterValueStruct("InternetGatewayDevice.DeviceInfo.UpTime", 42, "xsd:unsignedInt")])
    update, unsets = inform_update(inform, source_ip="1.2.3.4", cwmp_ns="ns", cwmp_version="1.0", ts=NOW)
    assert unsets == ["InternetGatewayDevice"]
    s = update["$set"]
    assert s["_deviceId._SerialNumber"] == "SN1" and s["_lastBoot"] == NOW and s["_lastBootstrap"] == NOW
    assert s["InternetGatewayDevice.DeviceInfo.UpTime._value"] == 42
    assert update["$setOnInsert"]["_registered"] == NOW
    assert to_bson_value(2**64 - 1) == str(2**64 - 1) and to_bson_value(b"\x01") == "AQ=="


def test_apply_update_matches_what_the_database_would_do():
    from task_scheduler.device_record import apply_update

    doc = {"_id": "D", "A": {"B": {"_value": 1}, "Old": {"_value": 2}}, "_tags": ["x"]}
    new = apply_update(doc, {"$unset": {"A.Old": ""}, "$set": {"A.B._value": 5, "A.C.D._value": "n"}, "$inc": {"attempts": 1}}, "D", False)
    assert new == {"_id": "D", "A": {"B": {"_value": 5}, "C": {"D": {"_value": "n"}}}, "_tags": ["x"], "attempts": 1}
    assert apply_update(None, {"$set": {"a": 1}}, "E", False) is None
    assert apply_update(None, {"$set": {"a.b": 1}, "$setOnInsert": {"_registered": 0}}, "E", True) == {"_id": "E", "a": {"b": 1}, "_registered": 0}
