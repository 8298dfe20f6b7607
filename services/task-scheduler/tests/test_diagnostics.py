"""Diagnostics tasks against the simulated device: inputs set, the wait, results read."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cwmp import messages as m
from cwmp.events import EventCode
from task_scheduler.tasks import TaskArgumentError, TaskContext, TaskRun

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_provisioning_support import IGD_MODEL, TR181_MODEL, device  # noqa: E402


def ctx(phase: int = 1) -> TaskContext:
    return TaskContext(device_id="dev", task_id="65f000000000000000000001", now=lambda: datetime.now(UTC), phase=phase)


def run_task(task: dict, dev, phase: int = 1):
    run = TaskRun(task, ctx(phase))
    sent = []
    msg = run.start()
    while msg is not None:
        sent.append(msg)
        answer = dev.handle(msg)
        assert not isinstance(answer, m.Fault), answer
        msg = run.feed(answer)
    return run.outcome, sent


@pytest.mark.parametrize("model, root, obj", [
    (IGD_MODEL, "InternetGatewayDevice", "InternetGatewayDevice.IPPingDiagnostics"),
    (TR181_MODEL, "Device", "Device.IP.Diagnostics.IPPing"),
])
def test_ping_sets_inputs_waits_and_reads_results(model, root, obj):
    dev = device(model)
    task = {"name": "ipPing", "host": "192.0.2.1", "numberOfRepetitions": 3, "dataModel": root}
    out, sent = run_task(task, dev)
    assert [s.RPC for s in sent] == ["SetParameterValues"]
    values = {p.name: p.value for p in sent[0].parameter_list}
    assert values == {f"{obj}.Host": "192.0.2.1", f"{obj}.NumberOfRepetitions": 3, f"{obj}.DiagnosticsState": "Requested"}
    assert out.awaiting_event == "8 DIAGNOSTICS COMPLETE"
    assert [a.kind for a in dev.take_actions()] == ["diagnostics"]
    dev.run_ping(obj + ".")  # what the CPE does after the session
    assert EventCode.DIAGNOSTICS_COMPLETE in [c for c, _ in dev.events]
    out2, sent = run_task({**task, "result": out.result}, dev, phase=2)
    assert [s.RPC for s in sent] == ["GetParameterValues"] and sent[0].parameter_names == [obj + "."]
    r = out2.result
    assert r["diagnosticsState"] == "Complete" and r["results"]["SuccessCount"] + r["results"]["FailureCount"] == 3
    assert r["results"]["MaximumResponseTime"] >= r["results"]["MinimumResponseTime"]
    assert r["requested"][f"{obj}.Host"] == "192.0.2.1"
    assert out2.sets[f"{obj}.SuccessCount._value"] == r["results"]["SuccessCount"]


def test_root_is_asked_when_unknown_and_errors_are_reported():
    dev = device(TR181_MODEL)
    out, sent = run_task({"name": "ipPing", "host": "nowhere.invalid"}, dev)
    assert [s.RPC for s in sent] == ["GetParameterNames", "SetParameterValues"]
    dev.run_ping("Device.IP.Diagnostics.IPPing.")
    out2, _ = run_task({"name": "ipPing", "host": "nowhere.invalid", "result": out.result}, dev, phase=2)
    assert out2.result["diagnosticsState"] == "Error_CannotResolveHostName"


@pytest.mark.parametrize("name, args, obj, keys", [
    ("traceRoute", {"host": "192.0.2.9", "maxHopCount": 8}, "Device.IP.Diagnostics.TraceRoute", {"Host", "MaxHopCount"}),
    ("downloadDiagnostics", {"downloadURL": "http://192.0.2.1/f"}, "InternetGatewayDevice.DownloadDiagnostics", {"DownloadURL"}),
    ("uploadDiagnostics", {"uploadURL": "http://192.0.2.1/u", "testFileLength": 1000}, "Device.IP.Diagnostics.UploadDiagnostics",
     {"UploadURL", "TestFileLength"}),
])
def test_other_kinds_build_their_inputs(name, args, obj, keys):
    root = obj.split(".")[0]
    run = TaskRun({"name": name, "dataModel": root, **args}, ctx())
    spv = run.start()
    assert {p.name.rsplit(".", 1)[1] for p in spv.parameter_list} == keys | {"DiagnosticsState"}
    assert all(p.name.startswith(obj + ".") for p in spv.parameter_list)
    assert run.feed(m.SetParameterValuesResponse(status=0)) is None and run.outcome.awaiting_event


@pytest.mark.parametrize("task", [
    {"name": "ipPing", "dataModel": "Device"},
    {"name": "ipPing", "dataModel": "Device", "host": "h", "numberOfRepetitions": -1},
    {"name": "uploadDiagnostics", "dataModel": "Device", "uploadURL": "http://x"},
])
def test_bad_arguments(task):
    with pytest.raises(TaskArgumentError):
        TaskRun(task, ctx()).start()
