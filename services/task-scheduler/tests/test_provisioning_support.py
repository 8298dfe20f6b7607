"""Test support: a real simulated device (cpe_simulator.device.Device, no I/O) driven by a
ProvisionRun, and the device document kept the way the store would keep it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from provision_scripts import ExtensionError

from acs_devstack import shared
from cpe_simulator.datamodel import DataModel
from cpe_simulator.device import Device
from cwmp import messages as m
from cwmp.events import EventCode
from task_scheduler.device_record import inform_update
from task_scheduler.provisioning.engine import ExtensionCalls

IGD_MODEL = shared.shared_path(shared.IGD_DUMP)
TR181_MODEL = shared.shared_path(shared.TR181_DUMP)

_MODELS: dict[Path, DataModel] = {}


def model(path: Path) -> DataModel:
    """The dump at ``path``; the calling test skips, saying why, when ../shared is absent."""
    if reason := shared.missing_reason(path):
        pytest.skip(reason)
    if path not in _MODELS:
        _MODELS[path] = DataModel.load(path)
    return _MODELS[path]


def device(path: Path = IGD_MODEL, serial: str = "PROV0001") -> Device:
    return Device(model(path), serial=serial)


def apply(doc: dict, sets: dict[str, Any], unsets: list[str] = ()) -> None:
    """A MongoDB update ($unset then $set of dotted paths) applied to a nested dict."""
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


def inform(dev: Device, events: list[str], doc: dict | None = None) -> tuple[dict, list[str]]:
    """Deliver an Inform with ``events``: the stored document after it, and the event codes."""
    for e in events:
        dev.add_event(EventCode(e))
    msg = dev.build_inform()
    dev.inform_delivered(msg.events)
    update, unsets = inform_update(msg, source_ip="127.0.0.1", cwmp_ns="urn:dslforum-org:cwmp-1-2",
                                   cwmp_version="1.2", ts=datetime.now(UTC))
    if doc is None:
        doc = {"_id": "dev"}
        apply(doc, update.get("$setOnInsert", {}))
    apply(doc, update["$set"], unsets)
    return doc, [str(e.event_code) for e in msg.events]


def answer_extensions_now(run, calls) -> dict[str, dict[str, Any]]:
    """What the scheduler awaits for a run's ExtensionCalls, here called in turn (tests only)."""
    ext = run.scripts.library.extensions
    out: dict[str, dict[str, Any]] = {}
    for key, (script, fn, args) in calls:
        try:
            out[key] = {"value": ext.call(script, fn, args)}
        except ExtensionError as e:
            out[key] = {"error": str(e)}
    return out


def drive(run, dev: Device, limit: int = 50) -> list[str]:
    """Answer every RPC of ``run`` with the simulated device; the RPC names in order."""
    rpcs: list[str] = []
    msg = run.start()
    while msg is not None:
        if isinstance(msg, ExtensionCalls):
            msg = run.answer_extensions(answer_extensions_now(run, msg.calls))
            continue
        rpcs.append(msg.RPC)
        assert len(rpcs) <= limit, rpcs
        answer = dev.handle(msg)
        msg = run.fault(answer) if isinstance(answer, m.Fault) else run.feed(answer)
    return rpcs


def store(doc: dict, run) -> dict:
    """The document as the store has it after the run's outcome is written."""
    out = run.outcome
    apply(doc, out.sets, out.unsets)
    return doc
